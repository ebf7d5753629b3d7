"""The resolved training config: the one object the trainer reads, validated in one place at the boundary.

recipe TOML -> tools.plan.service -> ``TrainConfig`` -> ``runs/<job-id>/config.json`` -> trainer. Defaults follow
Lightricks' ltx-trainer recipe of record for LTX-2.x (docs/ltx.md, "The training recipe of record").
"""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DEFAULT_TARGETS = ["to_k", "to_q", "to_v", "to_out.0"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelConfig(Strict):
    id: str = Field("tiny-ltx-2.3", description="Registry id: tiny-ltx-2.3, ltx-2.3, ltx-2.5, tiny-ltx-2.5 or ltx-2.")
    path: Path | None = Field(None, description="Local weights: a diffusers folder or a single-file checkpoint.")
    text_encoder_path: Path | None = Field(None, description="Gemma 3 folder, needed with a single-file checkpoint.")
    dtype: Literal["auto", "bf16", "fp32"] = Field("auto", description="Base weights: auto = bf16 on CUDA, fp32 on CPU.")
    quantize_base: Literal["none", "int8", "float8", "nf4"] = Field(
        "none", description="Frozen transformer weights: none (model dtype), int8 / float8 (torchao weight-only, "
        "about half of bf16), nf4 (bitsandbytes 4-bit, CUDA only, about a quarter).")
    offload: Literal["none", "blocks"] = Field(
        "none", description="blocks: keep transformer blocks in CPU memory and stream each to the GPU when it runs "
        "(diffusers' group offload at block level): least GPU memory, slower steps, more host RAM.")
    text_encoder: Literal["auto", "bf16", "int8", "nf4", "cpu"] = Field(
        "auto", description="How the text encoder runs while captions are encoded (it is freed before training): "
        "auto picks by GPU memory; int8 / nf4 quantise it (bitsandbytes, CUDA); cpu keeps it off the GPU.")
    vae_tiling: bool = Field(False, description="Encode and decode video in tiles: less GPU memory, a little "
                                                "slower.")


class LoraConfig(Strict):
    rank: int = Field(32, ge=1, le=512, description="LoRA rank: capacity of the adapter.")
    alpha: float = Field(32, gt=0, description="LoRA alpha; scale = alpha / rank. Alpha = rank is the safe default.")
    dropout: float = Field(0.0, ge=0, lt=1)
    target_modules: list[str] = Field(default_factory=lambda: list(DEFAULT_TARGETS),
                                      description="Linear names inside the attention blocks to adapt.")
    video_only: bool = Field(True, description="Adapt only video-stream attention (attn1, attn2), not the audio branch.")


class OptimConfig(Strict):
    steps: int = Field(2000, ge=1, le=1_000_000)
    learning_rate: float = Field(1e-4, gt=0, le=1.0)
    optimizer: Literal["adamw", "adamw8bit"] = "adamw"
    weight_decay: float = Field(0.01, ge=0)
    schedule: Literal["constant", "linear", "cosine"] = "linear"
    warmup_steps: int = Field(0, ge=0)
    batch_size: int = Field(1, ge=1, le=64)
    grad_accum: int = Field(1, ge=1, le=256)
    max_grad_norm: float = Field(1.0, gt=0)
    gradient_checkpointing: bool = True
    mixed_precision: Literal["auto", "bf16", "no"] = Field("auto", description="auto = bf16 autocast on CUDA only.")


class Bucket(Strict):
    width: int = Field(ge=32, multiple_of=32)
    height: int = Field(ge=32, multiple_of=32)
    frames: int = Field(ge=1, description="8k+1 frames (1 for images).")

    @model_validator(mode="after")
    def _frame_rule(self) -> "Bucket":
        if self.frames % 8 != 1:
            raise ValueError(f"frames={self.frames} breaks the 8k+1 rule: use {self.frames // 8 * 8 + 1}")
        return self


class DataConfig(Strict):
    dataset_dir: Path = Field(description="Folder of media with captions (captions.jsonl or sidecar .txt).")
    trigger_word: str | None = Field(None, description="Prepended to every caption at preprocessing.")
    buckets: list[Bucket] = Field(default_factory=lambda: [Bucket(width=768, height=512, frames=49)])
    first_frame_conditioning_p: float = Field(0.5, ge=0, le=1)
    holdout_fraction: float = Field(0.1, ge=0, lt=1)
    audio: Literal["off", "on", "required"] = Field(
        "off", description="Train the clips' sound with the picture: off (video only), on (clips without sound "
        "train video-only and are listed), required (clips without sound are refused). On or required adapts the "
        "audio branch too (lora.video_only becomes false).")

    @field_validator("audio", mode="before")
    @classmethod
    def _audio_words(cls, value):
        """`audio = true/false` (TOML, --set) mean on/off."""
        return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value


class TimestepConfig(Strict):
    """ltx-trainer's stretched shifted logit-normal: s = sigmoid(N(mu, 1)), mu on the line through the two
    (tokens, mu) points below (not clamped), stretched to [0, 1], plus a share of uniform samples."""

    mu_at_min_tokens: float = 0.95
    mu_at_max_tokens: float = 2.05
    min_tokens: int = 1024
    max_tokens: int = 4096
    uniform_fraction: float = Field(0.1, ge=0, le=1)
    eps: float = Field(1e-3, gt=0, lt=0.5, description="Smallest noise level: stretched draws below it are "
                                                         "reflected above it; uniform draws start at it.")


class StrategyConfig(Strict):
    name: Literal["text-to-video", "ic-lora"] = "text-to-video"
    reference_suffix: str = Field("_ref", description="IC-LoRA: clip.mp4's reference is clip_ref.mp4 (or a captions column).")
    reference_downscale_factor: int = Field(
        1, ge=1, le=8, description="IC-LoRA: references are encoded at 1/n of the target's width and height (fewer "
        "tokens); written to the LoRA's metadata so ltx-pipelines and ComfyUI scale the reference alike.")


class CheckpointConfig(Strict):
    every: int = Field(250, ge=1)
    keep: int = Field(3, ge=1)
    precision: Literal["bf16", "fp32"] = Field(
        "bf16", description="dtype of the exported LoRA file: bf16 (as ltx-trainer saves, half the size) or fp32. "
        "Resumable checkpoints keep fp32 so a resumed run continues exactly.")


# ltx-pipelines' default negative prompt (ltx-trainer validates with the same text).
DEFAULT_NEGATIVE_PROMPT = (
    "has_subtitles, has_blurbox, transition from black, transition to black, speech_ending_short, "
    "blurry, out of focus, overexposed, underexposed, low contrast, washed out colors, excessive noise, "
    "grainy texture, poor lighting, flickering, motion blur, distorted proportions, unnatural skin tones, "
    "deformed facial features, asymmetrical face, missing facial features, extra limbs, disfigured hands, "
    "wrong hand count, artifacts around text, inconsistent perspective, camera shake, incorrect depth of "
    "field, background too sharp, background clutter, distracting reflections, harsh shadows, inconsistent "
    "lighting direction, color banding, cartoonish rendering, 3D CGI look, unrealistic materials, uncanny "
    "valley effect, incorrect ethnicity, wrong gender, exaggerated expressions, wrong gaze direction, "
    "mismatched lip sync, silent or muted audio, distorted voice, robotic voice, echo, background noise, "
    "off-sync audio, incorrect dialogue, added dialogue, repetitive speech, jittery movement, awkward "
    "pauses, incorrect timing, unnatural transitions, inconsistent framing, tilted camera, flat lighting, "
    "inconsistent tone, cinematic oversaturation, stylized filters, or AI artifacts."
)


class GuidanceConfig(Strict):
    """How samples are guided, defaulting to ltx-pipelines' LTX-2.3 parameters (docs/ltx.md, "Sampling"): CFG
    with STG on one block, modality-isolation guidance, guidance rescale, and the official negative prompt."""

    guidance_scale: float = Field(3.0, ge=1, description="Video CFG scale.")
    stg_scale: float = Field(1.0, ge=0, description="Video spatio-temporal guidance (STG) scale; 0 turns it off.")
    stg_blocks: list[int] | None = Field(None, description="Transformer blocks STG perturbs; None = the model's own "
                                                           "(28 for LTX-2.3 and 2.5, 29 for LTX-2).")
    guidance_rescale: float = Field(0.7, ge=0, le=1, description="Pulls the guided prediction's spread back "
                                                                 "towards the conditional one; 0 turns it off.")
    modality_scale: float = Field(3.0, ge=1, description="Video audio-video modality-isolation guidance scale.")
    audio_guidance_scale: float = Field(7.0, ge=1, description="Audio CFG scale.")
    audio_stg_scale: float = Field(1.0, ge=0, description="Audio STG scale.")
    audio_guidance_rescale: float = Field(0.7, ge=0, le=1, description="Audio guidance rescale.")
    audio_modality_scale: float = Field(3.0, ge=1, description="Audio modality-isolation guidance scale.")
    negative_prompt: str = Field(DEFAULT_NEGATIVE_PROMPT, description="What CFG steers away from.")


class ValidationConfig(Strict):
    every: int = Field(250, ge=0, description="0 turns validation sampling off.")
    prompts: list[str] = Field(default_factory=list)
    seeds: list[int] = Field(default_factory=lambda: [42])
    width: int = Field(512, multiple_of=32)
    height: int = Field(512, multiple_of=32)
    frames: int = 49
    inference_steps: int = Field(30, ge=1)
    guidance: GuidanceConfig = Field(default_factory=GuidanceConfig)


class TrainConfig(Strict):
    recipe: str | None = Field(None, description="Recipe the config was planned from.")
    seed: int = 42
    model: ModelConfig = Field(default_factory=ModelConfig)
    lora: LoraConfig = Field(default_factory=LoraConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    data: DataConfig
    timesteps: TimestepConfig = Field(default_factory=TimestepConfig)
    strategy: StrategyConfig = Field(default_factory=StrategyConfig)
    checkpoints: CheckpointConfig = Field(default_factory=CheckpointConfig)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)

    @model_validator(mode="after")
    def _cross_checks(self) -> "TrainConfig":
        if self.data.audio != "off" and self.strategy.name == "ic-lora":
            raise ValueError("IC-LoRA trains the picture only: set audio = off")
        if self.strategy.name == "ic-lora" and not self.lora.video_only:
            raise ValueError("IC-LoRA trains the video stream only: set lora.video_only = true")
        f = self.strategy.reference_downscale_factor
        if f > 1 and any((b.width // f) % 32 or (b.height // f) % 32 or b.width % f or b.height % f
                         for b in self.data.buckets):
            raise ValueError(f"reference_downscale_factor {f} needs every bucket's width and height divisible by "
                             f"{f} into multiples of 32 (e.g. {64 * f}x{64 * f}): change the buckets or the factor")
        if self.data.audio != "off":
            self.lora.video_only = False  # the sound trains through the audio branch: all six attention families
        if self.optim.warmup_steps >= self.optim.steps:
            raise ValueError(f"warmup_steps ({self.optim.warmup_steps}) must be below steps ({self.optim.steps})")
        return self
