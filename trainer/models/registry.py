"""Model registry: a model id -> its rules (``ModelSpec``) and how to build its parts (``load_components``).

One entry per base model. ``tiny-ltx-2.3`` is the embedded default (random weights, CPU, seconds); ``ltx-2.3`` and
``ltx-2`` load real weights from local paths only (see ``trainer.models.ltx2``). Wan or HunyuanVideo would add a
spec here and a loader module beside ``ltx2.py``.

The spec table imports no torch: planning and the chat read specs without it. Building parts does.
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING

from core.errors import LoraportError
from trainer.config import Bucket, ModelConfig
from trainer.models.spec import Components, ModelSpec

if TYPE_CHECKING:
    import torch


def _buckets(*triples: tuple[int, int, int]) -> tuple[Bucket, ...]:
    return tuple(Bucket(width=w, height=h, frames=f) for w, h, f in triples)


# LTX-2.3: the audio<->video cross-attention modulation (scale/shift and gate) reads the other modality's sigma,
# as ltx-core's transformer did at the 2.3 release (trainer.strategies.predict has the history; LTX-2: own timesteps)
_LTX23_FORWARD = {"use_cross_timestep": True}
_REAL_BUCKETS = _buckets((768, 512, 49), (512, 768, 49), (512, 512, 49), (768, 512, 1))

SPECS: dict[str, ModelSpec] = {
    "tiny-ltx-2.3": ModelSpec(
        id="tiny-ltx-2.3", family="ltx", version="2.3", tiny=True,
        description="LTX-2.3-shaped tiny model with random weights: runs on a CPU in seconds, outputs noise.",
        latent_channels=8, vae_spatial_ratio=8, vae_temporal_ratio=8,
        default_buckets=_buckets((64, 64, 17), (96, 64, 17), (64, 96, 17), (64, 64, 1)),
        transformer_forward_kwargs=dict(_LTX23_FORWARD), max_sequence_length=32,
    ),
    "ltx-2.3": ModelSpec(
        id="ltx-2.3", family="ltx", version="2.3",
        description="Lightricks LTX-2.3 (22B audio+video, Gemma 3 12B text encoder), from local weights.",
        latent_channels=128, vae_spatial_ratio=32, vae_temporal_ratio=8, default_buckets=_REAL_BUCKETS,
        transformer_forward_kwargs=dict(_LTX23_FORWARD),
    ),
    "ltx-2": ModelSpec(
        id="ltx-2", family="ltx", version="2",
        description="Lightricks LTX-2 (19B audio+video), for comparison runs, from local weights.",
        latent_channels=128, vae_spatial_ratio=32, vae_temporal_ratio=8, default_buckets=_REAL_BUCKETS,
        transformer_forward_kwargs={"use_cross_timestep": False},
    ),
    # LTX-2.5: 2.3's transformer without the video feed-forward bias (and, from 2.5.1, a keyframe position
    # embedding), 2.3's VAE encoder, an LTX-tuned Gemma 4 text encoder. Same latent layout and forward inputs.
    "ltx-2.5": ModelSpec(
        id="ltx-2.5", family="ltx", version="2.5",
        description="Lightricks LTX-2.5 (22B audio+video, LTX-tuned Gemma 4 12B text encoder), from local weights.",
        latent_channels=128, vae_spatial_ratio=32, vae_temporal_ratio=8, default_buckets=_REAL_BUCKETS,
        transformer_forward_kwargs=dict(_LTX23_FORWARD),
    ),
    "tiny-ltx-2.5": ModelSpec(
        id="tiny-ltx-2.5", family="ltx", version="2.5", tiny=True,
        description="LTX-2.5-shaped tiny model with random weights (no video FF bias, keyframe embedding, "
                    "Gemma-4-shaped text encoder): runs on a CPU in seconds, outputs noise.",
        latent_channels=8, vae_spatial_ratio=8, vae_temporal_ratio=8,
        default_buckets=_buckets((64, 64, 17), (96, 64, 17), (64, 96, 17), (64, 64, 1)),
        transformer_forward_kwargs=dict(_LTX23_FORWARD), max_sequence_length=32,
    ),
}


def list_model_ids() -> list[str]:
    return list(SPECS)


def get_model_spec(model_id: str) -> ModelSpec:
    try:
        return SPECS[model_id]
    except KeyError:
        raise LoraportError(unknown_model(model_id)) from None


def unknown_model(model_id: str) -> str:
    """Why ``model_id`` names no model, and what to write instead: a path given as the id says where paths go,
    a near miss ("LTX-2.3", "ltx 2.3") names the id it resembles. Nothing is picked for the user."""
    text = str(model_id).strip()
    looks_like_path = "/" in text or "\\" in text or text.lower().endswith((".safetensors", ".ckpt", ".gguf", ".pt"))
    if looks_like_path:
        return (f"--model takes a model id ({', '.join(SPECS)}), not a path: {text!r} looks like the weights. Set "
                f"LORAPORT_MODEL_PATH={text} (LORAPORT_LTX25_MODEL_PATH for LTX-2.5, LORAPORT_LTX2_MODEL_PATH for "
                "LTX-2) and pass --model ltx-2.3 (or ltx-2.5, ltx-2): loraport checks that the weights are that "
                "version.")
    squashed = re.sub(r"[\s_]+", "-", text.lower()).replace("ltx2", "ltx-2")
    close = ([m for m in SPECS if m == squashed]  # "LTX-2.3", "ltx 2.3"
             or sorted((m for m in SPECS if squashed.startswith(m + "-")), key=len, reverse=True)  # "ltx-2.3-22b-dev"
             or difflib.get_close_matches(squashed, list(SPECS), n=1, cutoff=0.9))  # one letter off
    hint = f" Did you mean {close[0]}?" if close else ""
    return f"Unknown model {model_id!r}: choose one of {', '.join(SPECS)}.{hint}"


def is_tiny(model_id: str | None) -> bool:
    """Whether ``model_id`` is a tiny demo model (random weights, CPU, noise): its spec says; unknown ids are not."""
    spec = SPECS.get(model_id or "")
    return spec is not None and spec.tiny


def resolve_dtype(name: str | torch.dtype | None, device: str | torch.device) -> torch.dtype:
    """``auto`` = bf16 on CUDA, fp32 elsewhere (CPU bf16 is slow and tiny models gain nothing)."""
    import torch

    if isinstance(name, torch.dtype):
        return name
    if name in (None, "auto"):
        return torch.bfloat16 if torch.device(device).type == "cuda" else torch.float32
    return {"bf16": torch.bfloat16, "fp32": torch.float32}[name]


def load_components(model_cfg: ModelConfig, device: str | torch.device = "cpu",
                    dtype: torch.dtype | None = None, *, phased: bool = False) -> Components:
    """Build or load every part of ``model_cfg.id`` on ``device``; nothing is downloaded.

    ``dtype`` overrides ``model_cfg.dtype``. The tiny model comes from an in-process cache (fresh copies each
    call, so a caller may wrap or mutate its transformer freely). ``phased``: parts wait on the CPU and move to
    ``device`` only while a phase uses them (``trainer.models.phases``): a training run never holds them all.
    """
    import torch

    from trainer.models import quantize

    spec = get_model_spec(model_cfg.id)
    dtype = resolve_dtype(dtype if dtype is not None else model_cfg.dtype, device)
    kind = model_cfg.quantize_base
    quantize.check(kind, device)
    compute = torch.bfloat16 if torch.device(device).type == "cuda" else dtype
    if spec.tiny and spec.version == "2.5":
        from trainer.models.tiny25 import build_tiny25_parts

        parts = build_tiny25_parts()
    elif spec.tiny:
        from trainer.models.tiny import build_tiny_parts

        parts = build_tiny_parts()
    else:
        from trainer.models.ltx2 import load_ltx2_parts, text_encoder_bytes
        from trainer.models.ltx25 import load_ltx25_parts
        from trainer.models.preflight import check_weights

        check_weights(model_cfg, spec)  # names, configs and headers: a wrong path fails before any weight is read
        text_mode = quantize.text_encoder_mode(model_cfg.text_encoder, device, text_encoder_bytes(model_cfg))
        load = load_ltx25_parts if spec.version == "2.5" else load_ltx2_parts  # 2.5: ltx2's, plus its checks
        parts = load(model_cfg, spec, dtype, transformer_kwargs=quantize.from_pretrained_kwargs(
            kind, compute), transformer_quant=lambda m: quantize.quantize_in_place(m, kind, compute),
            text_kwargs=quantize.text_encoder_kwargs(text_mode, device))
        model_cfg = model_cfg.model_copy(update={"text_encoder": text_mode})
    if spec.tiny and kind != "none":  # built in memory: quantise it there, as a single file's transformer is
        parts["transformer"] = quantize.quantize_in_place(parts["transformer"].to(dtype), kind, compute)
    if model_cfg.vae_tiling:  # encode and decode in tiles: bounded activation memory for large clips
        parts["vae"].enable_tiling()
    place = torch.device("cpu") if phased else torch.device(device)
    for module in parts.values():
        if isinstance(module, torch.nn.Module):
            _place(module, place, dtype)
    pinned = ("text_encoder", "connectors") if model_cfg.text_encoder == "cpu" else ()
    return Components(spec=spec, **parts, home=torch.device(device), pinned_to_cpu=pinned)


def _place(module: torch.nn.Module, device: torch.device, dtype: torch.dtype) -> None:
    """Move only when needed: diffusers warns on every ``.to(dtype)``, even a no-op one."""
    from trainer.models import quantize

    param = next(module.parameters(), None)
    if param is None:
        return
    if quantize.is_quantized(module):  # quantised weights keep their dtype; bitsandbytes placed them at load
        if param.device != device and param.device.type != "cuda":
            module.to(device=device)
        return
    if param.device != device:
        module.to(device=device)
    if param.dtype != dtype:
        module.to(dtype=dtype)
