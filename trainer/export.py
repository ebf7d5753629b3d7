"""The final LoRA file, in the ComfyUI / Lightricks convention that LTX users load everywhere.

Keys are `diffusion_model.` + the peft module path + `.lora_A.weight` / `.lora_B.weight`; there are no `.alpha`
keys (diffusers' LTX-2 loader rejects keys without "lora", and every loader has its own alpha rule), so the
scale alpha / rank is folded into B and the file means scale 1 (alpha = rank) everywhere. The file is bf16 by
default, as ltx-trainer saves it (half the size of fp32): the LoRA trains in fp32, B is scaled in fp32, and only
the written copy is rounded. Metadata says what
the file is: `loraport.*` for our own record and `modelspec.*` for tools that read that standard. An IC-LoRA also
carries ltx-trainer's `reference_downscale_factor` / `reference_spatial_scale_factor` keys (trainer.reference).
"""

import json
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import torch
from safetensors.torch import save as safetensors_bytes

from core.atomic import atomic_write_bytes
from trainer.config import TrainConfig
from trainer.lora import ADAPTER, lora_state_dict

PREFIX = "diffusion_model."
ARCHITECTURES = {"ltx-2.3": "ltx-video-2.3/lora", "tiny-ltx-2.3": "ltx-video-2.3/lora", "ltx-2": "ltx-video-2/lora",
                 "ltx-2.5": "ltx-video-2.5/lora", "tiny-ltx-2.5": "ltx-video-2.5/lora"}
BASE_VERSIONS = {"ltx-2.3": "2.3", "tiny-ltx-2.3": "2.3", "ltx-2": "2", "ltx-2.5": "2.5", "tiny-ltx-2.5": "2.5"}


EXPORT_DTYPES = {"bf16": torch.bfloat16, "fp32": torch.float32}


def export_dtype(cfg: TrainConfig) -> torch.dtype:
    return EXPORT_DTYPES[cfg.checkpoints.precision]


def comfy_state_dict(transformer: torch.nn.Module, dtype: torch.dtype = torch.bfloat16) -> dict[str, torch.Tensor]:
    """peft weights under `diffusion_model.`, with alpha / rank folded into every lora_B (in fp32), then cast."""
    pcfg = transformer.peft_config[ADAPTER]
    out = {}
    for key, tensor in lora_state_dict(transformer).items():
        module = key.rsplit(".lora_", 1)[0]
        rank = tensor.shape[0] if ".lora_A." in key else tensor.shape[1]
        alpha = pcfg.alpha_pattern.get(module, pcfg.lora_alpha)
        scale = alpha / rank
        tensor = tensor.detach().float()
        if ".lora_B." in key and scale != 1.0:
            tensor = tensor * scale
        out[PREFIX + key] = tensor.to("cpu", dtype).contiguous()
    return out


def lora_metadata(cfg: TrainConfig, *, steps: int, dataset_hash: str | None = None, dataset_size: int | None = None,
                  extra: dict | None = None) -> dict[str, str]:
    """`loraport.*` and `modelspec.*` metadata (safetensors metadata values are strings)."""
    trigger = cfg.data.trigger_word or ""
    main = next((b for b in cfg.data.buckets if b.frames > 1), cfg.data.buckets[0])
    meta = {
        "loraport.base_model": cfg.model.id,
        "loraport.base_model_version": BASE_VERSIONS.get(cfg.model.id, cfg.model.id),
        "loraport.recipe": cfg.recipe or "",
        "loraport.strategy": cfg.strategy.name,
        "loraport.trigger_word": trigger,
        "loraport.rank": str(cfg.lora.rank),
        # alpha was folded into lora_B, so the file's own alpha is its rank (scale 1).
        "loraport.alpha": str(cfg.lora.rank),
        "loraport.trained_alpha": str(cfg.lora.alpha),
        "loraport.target_modules": json.dumps(cfg.lora.target_modules),
        "loraport.video_only": str(cfg.lora.video_only).lower(),
        "loraport.audio": cfg.data.audio,  # off | on | required: whether the clips' sound trained
        "loraport.steps": str(steps),
        "loraport.learning_rate": repr(cfg.optim.learning_rate),
        "loraport.dataset_hash": dataset_hash or "",
        "loraport.dataset_size": "" if dataset_size is None else str(dataset_size),
        "loraport.buckets": json.dumps([b.model_dump() for b in cfg.data.buckets]),
        "loraport.resolution": f"{main.width}x{main.height}",
        "loraport.frames": str(main.frames),
        "loraport.created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "loraport.version": _loraport_version(),
        "modelspec.architecture": ARCHITECTURES.get(cfg.model.id, f"{cfg.model.id}/lora"),
        "modelspec.trigger_phrase": trigger,
        "modelspec.title": f"loraport {cfg.recipe or 'lora'} ({cfg.model.id})",
        "format": "pt",
    }
    if cfg.strategy.name == "ic-lora":  # what ltx-pipelines and ComfyUI read to scale the reference
        from trainer.reference import reference_metadata

        meta.update(reference_metadata(cfg.strategy.reference_downscale_factor))
    meta.update({k: str(v) for k, v in (extra or {}).items()})
    return meta


def export_lora(transformer: torch.nn.Module, path: Path, metadata: dict[str, str],
                dtype: torch.dtype = torch.bfloat16) -> Path:
    """Write the ComfyUI-convention file atomically, its tensors in `dtype` (bf16 unless asked); returns its path."""
    meta = {**{k: str(v) for k, v in metadata.items()}, "loraport.dtype": str(dtype).removeprefix("torch.")}
    data = safetensors_bytes(comfy_state_dict(transformer, dtype), metadata=meta)
    return atomic_write_bytes(Path(path), data)


def export_diffusers(transformer: torch.nn.Module, out_dir: Path) -> Path:
    """Optional diffusers-format copy (`transformer.*` keys plus `lora_adapter_metadata`), via diffusers' writer."""
    from diffusers import LTX2Pipeline

    pcfg = transformer.peft_config[ADAPTER]
    LTX2Pipeline.save_lora_weights(out_dir, transformer_lora_layers=lora_state_dict(transformer),
                                   transformer_lora_adapter_metadata=pcfg.to_dict(), safe_serialization=True)
    return Path(out_dir) / "pytorch_lora_weights.safetensors"


def _loraport_version() -> str:
    try:
        return version("loraport")
    except PackageNotFoundError:
        return "0+unknown"

