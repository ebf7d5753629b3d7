"""IC-LoRA references at generation time: which reference, how it is read, and the settings the LoRA file carries.

An IC-LoRA (In-Context LoRA) is trained with the reference clip's latents in front of the target's, clean
(timestep 0) and outside the loss (``trainer.strategies.ICLora``). At generation the same reference goes through
diffusers' ``LTX2InContextPipeline`` as an ``LTX2ReferenceCondition``:

- the reference is resized keeping its aspect and centre-cropped to the target size divided by the LoRA's
  reference downscale factor, its first frames are kept (at most the clip's length, trimmed to the VAE's 8k+1
  rule), and it is encoded by the same VAE, latent mean (no sampling) and normalisation as training used;
- its strength is 1.0 (fully clean, timestep 0), as ltx-trainer's validation and ltx-pipelines' IC-LoRA
  pipeline use it; lower values make the reference tokens noisier;
- the downscale factor comes from the LoRA file's metadata. ltx-trainer writes ``reference_spatial_scale_factor``
  and ``reference_downscale_factor`` (the older name, same value) and ``reference_temporal_scale_factor``, only
  when they differ from 1; ltx-pipelines reads ``reference_downscale_factor`` and
  ``reference_temporal_scale_factor`` (default 1), ComfyUI-LTXVideo's IC-LoRA loader node
  ``reference_downscale_factor`` (default 1, with a warning). Reference coordinates are scaled by the factor so a half-size
  reference lands on the target's grid.

The reference pixels are decoded here (PyAV, the trainer's own resize-and-crop), already at the size the pipeline
asks for, so the pipeline's own resize is the identity and training and sampling see the same pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.errors import LoraportError
from trainer.ic_marks import ic_marker, lora_names

if TYPE_CHECKING:
    import torch

DEFAULT_STRENGTH = 1.0  # ltx-trainer validation and ltx-pipelines: reference tokens fully clean
SPATIAL_KEYS = ("reference_downscale_factor", "reference_spatial_scale_factor")
TEMPORAL_KEY = "reference_temporal_scale_factor"


@dataclass(frozen=True)
class Reference:
    """The reference clip or image one IC-LoRA generation is conditioned on."""

    path: Path
    strength: float = DEFAULT_STRENGTH
    downscale_factor: int = 1
    label: str | None = None  # how reports name it (a dataset-relative path); defaults to the file name
    split: str | None = None  # a dataset reference: "holdout" (its pair was never trained on) or "train"

    @property
    def name(self) -> str:
        return self.label or Path(self.path).name


@dataclass(frozen=True)
class ReferenceSettings:
    """What an IC-LoRA file says about its reference (from its safetensors metadata)."""

    ic_lora: bool
    downscale_factor: int = 1
    temporal_scale_factor: int = 1


def reference_settings(metadata: dict[str, str], names: list[str | None] = ()) -> ReferenceSettings:
    """Read the IC-LoRA keys from a LoRA's metadata: ltx-trainer's ``reference_*_scale_factor`` keys (the musubi
    fork's ``ss_`` spellings too), else ``ic_marker`` (a strategy, a training flag, the file's ``names``)."""
    def factor(key: str) -> int | None:
        raw = metadata.get(key)
        if raw in (None, ""):
            raw = metadata.get(f"ss_{key}")
        if raw in (None, ""):
            return None
        try:
            value = int(float(raw))
        except ValueError:
            raise LoraportError(f"the LoRA's metadata {key}={raw!r} is not a whole number: fix or remove it") from None
        if value < 1:
            raise LoraportError(f"the LoRA's metadata {key}={raw!r} must be 1 or more")
        return value

    spatial = next((v for v in (factor(k) for k in SPATIAL_KEYS) if v is not None), None)
    temporal = factor(TEMPORAL_KEY)
    ic = spatial is not None or temporal is not None or bool(ic_marker(metadata, names))
    return ReferenceSettings(ic_lora=ic, downscale_factor=spatial or 1, temporal_scale_factor=temporal or 1)


def read_reference_settings(lora_path: Path) -> ReferenceSettings:
    """``reference_settings`` of a LoRA file (its header only)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(lora_path), framework="pt") as f:
            metadata = f.metadata() or {}
    except (SafetensorError, OSError) as exc:
        raise LoraportError(f"{Path(lora_path).name}: cannot read its header ({exc}); is it a .safetensors LoRA?"
                            ) from exc
    return reference_settings(metadata, lora_names(lora_path, metadata))


def reference_metadata(downscale_factor: int = 1, temporal_scale_factor: int = 1) -> dict[str, str]:
    """The keys ltx-pipelines and ComfyUI read, under ltx-trainer's names and string values.

    ltx-trainer writes the spatial keys only for factors other than 1, and every reader takes a missing key as 1;
    ComfyUI-LTXVideo's "IC-LoRA Loader Model Only" node logs a warning when ``reference_downscale_factor`` is
    missing, so an IC-LoRA gets it always. The temporal key is written, as ltx-trainer does, only when not 1.
    """
    meta = {"reference_spatial_scale_factor": str(downscale_factor), "reference_downscale_factor": str(downscale_factor)}
    if temporal_scale_factor != 1:
        meta[TEMPORAL_KEY] = str(temporal_scale_factor)
    return meta


def check_settings(settings: ReferenceSettings, lora_name: str) -> None:
    """Refuse what diffusers' in-context pipeline cannot render faithfully."""
    if settings.temporal_scale_factor != 1:
        raise LoraportError(f"{lora_name} was trained with reference_temporal_scale_factor "
                            f"{settings.temporal_scale_factor} (a time-subsampled reference), which diffusers' "
                            "LTX2InContextPipeline does not support: render it with ltx-pipelines' IC-LoRA pipeline.")


def reference_size(width: int, height: int, downscale_factor: int, multiple: int) -> tuple[int, int]:
    """The reference's pixel size for a target of width x height: both divided by the factor, which must divide
    them into multiples of the VAE's spatial size (ltx-trainer's validation refuses the same)."""
    f = downscale_factor
    if f < 1 or width % f or height % f or (width // f) % multiple or (height // f) % multiple:
        raise LoraportError(f"a {width}x{height} generation cannot take a reference downscaled by {f}: "
                            f"{width}/{f} and {height}/{f} must be whole multiples of {multiple}. Pick a size that is.")
    return width // f, height // f


def load_reference_frames(ref: Reference, width: int, height: int, max_frames: int, multiple: int,
                          frame_step: int = 8) -> torch.Tensor:
    """The reference as the pipeline takes it: (F, 3, h, w) float in [0, 1] at the downscaled size, at most
    ``max_frames`` frames, trimmed to the 8k+1 rule (an image gives one frame)."""
    from trainer.media import decode_upto

    w, h = reference_size(width, height, ref.downscale_factor, multiple)
    video = decode_upto(Path(ref.path), w, h, max_frames)  # (F, 3, h, w) in [-1, 1]
    keep = (video.shape[0] - 1) // frame_step * frame_step + 1
    return (video[:keep] + 1.0) / 2.0


def to_uint8(frames01: torch.Tensor) -> np.ndarray:
    """(F, 3, H, W) in [0, 1] -> (F, H, W, 3) uint8."""
    import torch  # here: the settings and usage text above serve the CLI and the chat without torch

    return (frames01.clamp(0, 1).permute(0, 2, 3, 1) * 255.0).round().to(torch.uint8).numpy()


def side_by_side(reference: np.ndarray, generated: np.ndarray) -> np.ndarray:
    """The reference (left) beside the generation (right), one clip: (F, H, W_ref' + W, 3) uint8.

    A smaller reference is scaled up to the generation's height; a shorter one is stretched over its frames by
    evenly spaced picks (ltx-trainer's side-by-side validation output does the same).
    """
    import torch
    import torch.nn.functional as F

    n, h = generated.shape[0], generated.shape[1]
    picks = np.linspace(0, reference.shape[0] - 1, n).round().astype(int)
    ref = torch.from_numpy(np.ascontiguousarray(reference[picks])).permute(0, 3, 1, 2).float()  # (F, 3, h', w')
    if ref.shape[2] != h:
        ref = F.interpolate(ref, size=(h, round(ref.shape[3] * h / ref.shape[2])), mode="nearest")
    ref = ref.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return np.concatenate([ref, generated], axis=2)


def validation_references(cfg, data) -> list[Reference]:
    """IC-LoRA validation: the dataset's references, held-out pairs first (the LoRA never trained on them), one
    per validation prompt in turn; none for other strategies. ``data`` is a ``trainer.data.PreparedDataset``."""
    if cfg.strategy.name != "ic-lora":
        return []
    root = Path(cfg.data.dataset_dir).expanduser().resolve()
    seen: dict[str, Reference] = {}
    for item in [*data.holdout, *data.train]:
        if item.reference and item.reference not in seen:
            path = Path(item.reference) if Path(item.reference).is_absolute() else root / item.reference
            seen[item.reference] = Reference(path=path, label=item.reference, split=item.split,
                                             downscale_factor=cfg.strategy.reference_downscale_factor)
    return list(seen.values())


def comfyui_usage(lora_name: str, downscale_factor: int = 1) -> str:
    """How to use an IC-LoRA in ComfyUI with a reference (ComfyUI-LTXVideo's IC-LoRA nodes)."""
    return (f"{lora_name} is an IC-LoRA: it renders from a reference image or clip. In ComfyUI (ComfyUI-LTXVideo "
            f"nodes) load it with 'LTX IC-LoRA Loader Model Only' (LTXICLoRALoaderModelOnly), which reads its "
            f"reference_downscale_factor ({downscale_factor}) from the file, and feed your reference to 'LTX Add "
            f"Video IC-LoRA Guide' (LTXAddVideoICLoRAGuide) with that latent_downscale_factor, strength 1.0 and "
            f"crop 'center' (references were resized and centre-cropped in training); then sample as usual, with "
            f"the trigger word in the prompt.")


def ic_lora_usage(config: dict | None, lora_path: str | Path | None) -> str | None:
    """How to use a training run's LoRA with a reference in ComfyUI when the run trained an IC-LoRA, else None.
    The finished event, the CLI and the sidekick all tell it from here."""
    strategy = (config or {}).get("strategy") or {}
    if strategy.get("name") != "ic-lora" or not lora_path:
        return None
    return comfyui_usage(Path(lora_path).name, int(strategy.get("reference_downscale_factor") or 1))


def finished_message(config: dict | None, lora_path: str | Path | None) -> str:
    """The training job's 'finished' message: 'done', and for an IC-LoRA how to use it with a reference."""
    usage = ic_lora_usage(config, lora_path)
    return f"done. {usage}" if usage else "done"
