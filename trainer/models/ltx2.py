"""Real LTX-2.3 / LTX-2 weights from local paths, through diffusers' and transformers' own loaders.

Never downloads (``local_files_only=True`` everywhere). Two layouts:

- ``path`` = a diffusers-format folder (``model_index.json`` with ``transformer/ vae/ audio_vae/ vocoder/
  connectors/ text_encoder/ tokenizer/ scheduler/``, e.g. a local copy of diffusers/LTX-2.3-Diffusers).
  ``text_encoder_path`` may point at another Gemma 3 folder to use instead of its ``text_encoder/``.
- ``path`` = a single-file checkpoint (``.safetensors``, e.g. a fine-tuned or re-saved transformer): the
  transformer comes from it via ``from_single_file``; diffusers 0.42.1 cannot convert the text connectors or the
  vocoder of Lightricks' single file, so ``text_encoder_path`` must then be a diffusers-format folder of the same
  model, which supplies the configs and every other part.
"""

from pathlib import Path

import torch

from core.errors import LoraportError
from trainer.config import ModelConfig
from trainer.models.spec import ModelSpec

_SUBFOLDERS = ("transformer", "vae", "audio_vae", "vocoder", "connectors", "text_encoder", "tokenizer", "scheduler")


def _is_diffusers_folder(path: Path) -> bool:
    return path.is_dir() and (path / "model_index.json").is_file()


def _check(model_cfg: ModelConfig, spec: ModelSpec) -> tuple[Path, Path | None]:
    if model_cfg.path is None:
        raise LoraportError(
            f"{spec.id} needs local weights: set the model path (--model-path) to a diffusers-format folder "
            f"or a single-file .safetensors checkpoint. Use tiny-ltx-2.3 to try the flow without weights.")
    path = Path(model_cfg.path).expanduser()
    te = Path(model_cfg.text_encoder_path).expanduser() if model_cfg.text_encoder_path else None
    for label, p in (("model path", path), ("text encoder path", te)):
        if p is not None and not p.exists():
            raise LoraportError(f"The {label} {p} does not exist: check the path (nothing is downloaded).")
    if path.is_dir() and not _is_diffusers_folder(path):
        raise LoraportError(f"{path} is a folder without model_index.json: point the model path at a "
                            f"diffusers-format {spec.id} folder or at a single-file .safetensors checkpoint.")
    if path.is_file() and (te is None or not _is_diffusers_folder(te)):
        raise LoraportError(
            f"{path.name} is a single-file checkpoint: diffusers 0.42.1 loads only its transformer, so also set "
            f"--text-encoder-path to a diffusers-format {spec.id} folder (it supplies Gemma, the text connectors, "
            f"the VAEs, the vocoder and the configs).")
    return path, te


def _transformer_kwargs(model_cfg: ModelConfig) -> dict:
    """int8 base weights (bitsandbytes) for 24-32 GB cards; the LoRA itself stays fp32 over them."""
    if model_cfg.quantize_base != "int8":
        return {}
    import diffusers

    return {"quantization_config": diffusers.BitsAndBytesConfig(load_in_8bit=True), "device_map": "cuda"}


def _from_folder(folder: Path, name: str, dtype: torch.dtype, extra: dict | None = None):
    import diffusers
    import transformers

    kwargs = dict(subfolder=name, local_files_only=True, **(extra or {}))
    if name == "tokenizer":
        return transformers.AutoTokenizer.from_pretrained(folder, **kwargs)
    if name == "scheduler":
        return diffusers.FlowMatchEulerDiscreteScheduler.from_pretrained(folder, **kwargs)
    if name == "text_encoder":
        return transformers.Gemma3ForConditionalGeneration.from_pretrained(folder, dtype=dtype, **kwargs)
    if name == "connectors":
        from diffusers.pipelines.ltx2 import LTX2TextConnectors as cls
    elif name == "vocoder":
        from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder as cls
    else:
        cls = {"transformer": diffusers.LTX2VideoTransformer3DModel, "vae": diffusers.AutoencoderKLLTX2Video,
               "audio_vae": diffusers.AutoencoderKLLTX2Audio}[name]
    return cls.from_pretrained(folder, torch_dtype=dtype, **kwargs)


def _gemma(folder: Path, dtype: torch.dtype) -> dict:
    """A bare Gemma 3 folder (config.json + weights + tokenizer files), as Lightricks' instructions download it."""
    import transformers

    return {"text_encoder": transformers.Gemma3ForConditionalGeneration.from_pretrained(
                folder, dtype=dtype, local_files_only=True),
            "tokenizer": transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)}


def load_ltx2_parts(model_cfg: ModelConfig, spec: ModelSpec, dtype: torch.dtype) -> dict:
    """Load every part of a real LTX-2.x model; see the module docstring for the accepted layouts."""
    path, te = _check(model_cfg, spec)
    base = path if path.is_dir() else te
    try:
        parts = {}
        for name in _SUBFOLDERS:
            if name in ("text_encoder", "tokenizer") and te is not None and not _is_diffusers_folder(te):
                continue
            if name == "transformer" and path.is_file():
                import diffusers

                parts[name] = diffusers.LTX2VideoTransformer3DModel.from_single_file(
                    str(path), config=str(base), subfolder="transformer", torch_dtype=dtype, local_files_only=True,
                    **_transformer_kwargs(model_cfg))
                continue
            extra = _transformer_kwargs(model_cfg) if name == "transformer" else None
            parts[name] = _from_folder(base, name, dtype, extra)
        if te is not None and not _is_diffusers_folder(te):
            parts.update(_gemma(te, dtype))
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise LoraportError(f"Could not load {spec.id} from {path}: {exc}. Check that the folder is a complete "
                            f"diffusers-format {spec.id} copy (nothing is downloaded).") from exc
    _check_version(parts["transformer"], spec)
    for module in parts.values():
        if isinstance(module, torch.nn.Module):
            module.eval().requires_grad_(False)
    return parts


def _check_version(transformer, spec: ModelSpec) -> None:
    """LTX-2 weights under the ltx-2.3 id (or the reverse) would train silently on the wrong model."""
    is_23 = bool(transformer.config.get("gated_attn")) and bool(transformer.config.get("cross_attn_mod"))
    if is_23 != (spec.version == "2.3"):
        found = "2.3" if is_23 else "2"
        raise LoraportError(f"The weights are LTX-{found}, but the model id is {spec.id}: "
                            f"use --model ltx-{found} or point the path at LTX-{spec.version} weights.")
