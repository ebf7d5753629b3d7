"""What a base model is (``ModelSpec``: its rules) and what a loaded one holds (``Components``: its parts).

Its own module so the registry (which lists specs) and the loaders (which build parts for a spec) both import it
without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trainer.config import Bucket

if TYPE_CHECKING:
    import torch


_SETTINGS = {"2.3": ("LORAPORT_MODEL_PATH", "LORAPORT_TEXT_ENCODER_PATH"),
             "2": ("LORAPORT_LTX2_MODEL_PATH", "LORAPORT_TEXT_ENCODER_PATH"),
             "2.5": ("LORAPORT_LTX25_MODEL_PATH", "LORAPORT_LTX25_TEXT_ENCODER_PATH")}


@dataclass(frozen=True)
class ModelSpec:
    """What a base model demands of the data and of the forward pass."""

    id: str
    family: str  # "ltx"
    version: str  # "2.3" | "2"
    description: str
    latent_channels: int
    vae_spatial_ratio: int  # pixels per latent cell (real LTX: 32; the tiny VAE: 8)
    vae_temporal_ratio: int  # frames per latent frame after the first (8)
    default_buckets: tuple[Bucket, ...]
    # Extra keyword arguments every transformer forward takes for this version (2.3: cross-modality timestep).
    transformer_forward_kwargs: dict[str, Any] = field(default_factory=dict)
    frame_rule: tuple[int, int] = (8, 1)  # frames F = 8k + 1 (images: F = 1)
    size_multiple: int = 32  # width and height multiples of 32
    max_sequence_length: int = 1024  # Gemma tokens per prompt (left-padded)
    tiny: bool = False  # random weights: outputs are noise, and the UI says so

    def frames_ok(self, frames: int) -> bool:
        step, rest = self.frame_rule
        return frames >= 1 and frames % step == rest

    def weights_setting(self, text: bool = False) -> str:
        """The environment setting that holds this model's weights (``text``: its text encoder's; LTX-2 and 2.3
        share Gemma 3's)."""
        return _SETTINGS.get(self.version, _SETTINGS["2.3"])[1 if text else 0]

    def latent_shape(self, width: int, height: int, frames: int) -> tuple[int, int, int, int]:
        """(C, F', H', W') of one clip in this model's latent space: 17x64x64 -> (8, 3, 8, 8) on the tiny VAE."""
        return (self.latent_channels, (frames - 1) // self.vae_temporal_ratio + 1,
                height // self.vae_spatial_ratio, width // self.vae_spatial_ratio)


@dataclass
class Components:
    """The parts of one loaded base model; the same objects serve training, sampling and evaluation."""

    transformer: Any  # LTX2VideoTransformer3DModel
    vae: Any  # AutoencoderKLLTX2Video
    text_encoder: Any  # Gemma3ForConditionalGeneration
    tokenizer: Any  # Gemma tokenizer, left padding
    connectors: Any  # LTX2TextConnectors
    scheduler: Any  # FlowMatchEulerDiscreteScheduler
    spec: ModelSpec
    audio_vae: Any = None  # AutoencoderKLLTX2Audio (LTX2Pipeline always denoises an audio track too)
    vocoder: Any = None  # LTX2Vocoder (LTX-2) or LTX2VocoderWithBWE (LTX-2.3)
    # Phases (trainer.models.phases): the accelerator parts move to, the phase entered, the parts now on it.
    home: Any = None  # torch.device; None = everything stays where it was loaded
    phase: str | None = None
    resident: set = field(default_factory=set)
    pinned_to_cpu: tuple[str, ...] = ()  # parts that run on the CPU on purpose (text_encoder = cpu)
    offloaded: tuple[str, ...] = ()  # parts whose blocks group offload places (never moved whole)
    prompt_cache: dict = field(default_factory=dict)  # text -> Gemma embeddings (trainer.models.prompt_cache)

    @property
    def device(self) -> torch.device:
        return next(self.transformer.parameters()).device
