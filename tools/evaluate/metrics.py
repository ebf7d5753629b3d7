"""The measurements behind a verdict: held-out loss, strength, memorisation, diversity, adherence, identity.

Generations are compared in a small common space: each clip (F, H, W, 3) uint8 is resized to FEATURE_SHAPE
(frames x height x width, RGB) and centred and normalised to unit length, so the dot product of two features
is their Pearson correlation: 1 = the same picture up to brightness and contrast, 0 = unrelated. Training
clips are compared after a VAE round trip (their cached latents, decoded), because that is the closest any
generation of the model can come to them: on the real model it looks like the clip, on the tiny random VAE it
is the same noise the generations are made of.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

# torch is imported by the functions that compute on tensors, so the agent can import the evaluation tools
# (to offer them) without loading it.
FEATURE_SHAPE = (8, 16, 16)  # (frames, height, width): small enough to be cheap, big enough to tell clips apart


def features(frames: np.ndarray) -> torch.Tensor:
    """(F, H, W, 3) uint8 -> (3 * 8 * 16 * 16,) centred unit vector (zero vector for a flat clip)."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(frames)).float().div(255.0)  # (F, H, W, 3)
    x = x.permute(3, 0, 1, 2).unsqueeze(0)  # (1, 3, F, H, W)
    x = F.interpolate(x, size=FEATURE_SHAPE, mode="trilinear", align_corners=False)[0].reshape(-1)
    x = x - x.mean()
    norm = x.norm()
    return x / norm if norm > 1e-8 else torch.zeros_like(x)


def similarity(a: torch.Tensor, b: torch.Tensor) -> float:
    import torch

    return float(torch.dot(a, b))


def strength(lora_frames: np.ndarray, base_frames: np.ndarray) -> float:
    """Mean absolute pixel difference between a LoRA generation and the base's at the same seed, in [0, 1]."""
    a = lora_frames.astype(np.float32)
    b = base_frames.astype(np.float32)
    return float(np.abs(a - b).mean() / 255.0)


def nearest_similarity(generated: torch.Tensor, references: Sequence[torch.Tensor]) -> float:
    """Correlation of a generation with the training clip it is most like."""
    return max(similarity(generated, r) for r in references) if references else float("nan")


def diversity(feats: Sequence[torch.Tensor]) -> float | None:
    """Mean pairwise (1 - correlation) over generations: 0 = all the same clip; None below two."""
    if len(feats) < 2:
        return None
    import torch

    stack = torch.stack(list(feats))  # (N, D)
    sims = stack @ stack.T
    n = len(feats)
    off = (sims.sum() - sims.diagonal().sum()) / (n * (n - 1))
    return float(1.0 - off)


def relative_improvement(base: float, lora: float) -> float:
    """(base - lora) / base: the share of the base model's loss the LoRA removes (negative = worse)."""
    return (base - lora) / base if base > 0 else 0.0


def finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def mean_finite(values: Sequence[float | None]) -> float | None:
    """The mean of the finite values (None, NaN and Inf left out); None when there is none."""
    vals = [v for v in values if finite(v)]
    return sum(vals) / len(vals) if vals else None


def decode_latents(components, latents: torch.Tensor) -> np.ndarray:
    """Cached normalised latents (C, F', H', W') -> (F, H, W, 3) uint8, decoded as LTX2Pipeline decodes."""
    import torch
    from diffusers.pipelines.ltx2.pipeline_ltx2 import LTX2Pipeline

    vae = components.vae
    z = latents.unsqueeze(0).to(vae.device, vae.dtype)  # (1, C, F', H', W')
    z = LTX2Pipeline._denormalize_latents(z, vae.latents_mean, vae.latents_std, vae.config.scaling_factor)
    timestep = torch.zeros(1, device=vae.device, dtype=z.dtype) if vae.config.timestep_conditioning else None
    with torch.no_grad():
        video = vae.decode(z, timestep, return_dict=False)[0][0]  # (3, F, H, W) in [-1, 1]
    video = ((video.float().clamp(-1, 1) + 1) / 2).permute(1, 2, 3, 0)  # (F, H, W, 3) in [0, 1]
    return (video.cpu().numpy() * 255.0).round().astype(np.uint8)


def clip_adherence(model_path: str, prompts: Sequence[str], clips: Sequence[np.ndarray]) -> list[float]:
    """Mean image-text cosine similarity of each clip's frames to its prompt, with a local CLIP or SigLIP model.

    ``model_path`` is a local folder for transformers' ``AutoModel`` / ``AutoProcessor`` (never downloaded:
    ``local_files_only``). Four frames a clip, spread evenly.
    """
    import torch
    import torch.nn.functional as F
    from PIL import Image
    from transformers import AutoModel, AutoProcessor

    model = AutoModel.from_pretrained(model_path, local_files_only=True).eval()
    processor = AutoProcessor.from_pretrained(model_path, local_files_only=True)
    out = []
    with torch.no_grad():
        for prompt, clip in zip(prompts, clips, strict=True):
            idx = np.linspace(0, len(clip) - 1, num=min(4, len(clip))).round().astype(int)
            images = [Image.fromarray(clip[i]) for i in idx]
            inputs = processor(text=[prompt], images=images, return_tensors="pt", padding="max_length",
                               truncation=True)
            # The joint forward gives projected embeddings for CLIP and SigLIP alike: (n_images, D), (1, D)
            res = model(**inputs)
            img, txt = F.normalize(res.image_embeds, dim=-1), F.normalize(res.text_embeds, dim=-1)
            out.append(float((img @ txt.T).mean()))
    return out
