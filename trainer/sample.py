"""Sampling: a short clip from a prompt, with or without a LoRA, through diffusers' own ``LTX2Pipeline``.

The pipeline is built from the very components being trained or evaluated, so a preview looks like what users get
when they load the same LoRA in diffusers (every trainer's tracker has the complaint "samples during training look
different from ComfyUI").
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.errors import LoraportError
from trainer.config import GuidanceConfig, TrainConfig
from trainer.media import contact_sheet, write_mp4
from trainer.models import phases, prompt_cache
from trainer.progress import append_jsonl
from trainer.reference import (Reference, load_reference_frames, side_by_side, to_uint8,
                               validation_references)

SAMPLE_ADAPTER = "loraport_sample"

# Plain CFG without the perturbed (STG) and modality-isolated passes or rescale: one CFG pair a step, for tests
# and benchmarks that want the cheapest sampling. Samples users look at use GuidanceConfig()'s defaults.
PLAIN_GUIDANCE = GuidanceConfig(stg_scale=0.0, modality_scale=1.0, guidance_rescale=0.0, audio_stg_scale=0.0,
                                audio_modality_scale=1.0, audio_guidance_rescale=0.0, negative_prompt="")
# The block ltx-pipelines perturbs for STG, by model version.
STG_BLOCKS = {"2": [29], "2.3": [28], "2.5": [28]}


@dataclass
class SampleResult:
    mp4_path: Path
    sheet_path: Path
    frames: np.ndarray  # (F, H, W, 3) uint8
    seed: int
    prompt: str
    reference: str | None = None  # IC-LoRA: the reference the clip was conditioned on (its dataset name)
    beside_mp4: Path | None = None  # IC-LoRA: the reference (left) beside the generation (right), one clip
    beside_sheet: Path | None = None
    reference_split: str | None = None  # "holdout" when the reference's pair was never trained on
    reference_frames: np.ndarray | None = None  # (F', h, w, 3) uint8: the reference as the pipeline read it
    audio: np.ndarray | None = None  # (channels, N) float in [-1, 1]: the sound track generated with the frames
    sample_rate: int | None = None  # of `audio` (the vocoder's output rate)

    def record(self, **extra) -> dict:
        """What a report keeps of a sample: prompt, seed, files and the reference it was conditioned on."""
        def opt(path):
            return None if path is None else str(path)

        return {**extra, "prompt": self.prompt, "seed": self.seed, "mp4": str(self.mp4_path),
                "sheet": str(self.sheet_path), "reference": self.reference, "reference_split": self.reference_split,
                "beside_mp4": opt(self.beside_mp4), "beside_sheet": opt(self.beside_sheet)}


def build_pipeline(components, in_context: bool = False):
    """An ``LTX2Pipeline`` over the given components (no copies: it shares their weights); with ``in_context``
    diffusers' ``LTX2InContextPipeline``, which takes IC-LoRA reference conditions."""
    from diffusers import LTX2InContextPipeline, LTX2Pipeline

    cls = LTX2InContextPipeline if in_context else LTX2Pipeline
    pipe = cls(scheduler=components.scheduler, vae=components.vae, audio_vae=components.audio_vae,
                        text_encoder=components.text_encoder, tokenizer=components.tokenizer,
                        connectors=components.connectors, transformer=components.transformer,
                        vocoder=components.vocoder)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _check_size(spec, width: int, height: int, frames: int) -> None:
    m = spec.size_multiple
    if width % m or height % m or width < m or height < m:
        raise LoraportError(f"Sample size {width}x{height} must be multiples of {m}: try "
                            f"{max(m, width // m * m)}x{max(m, height // m * m)}.")
    if not spec.frames_ok(frames):
        step, rest = spec.frame_rule
        raise LoraportError(f"{frames} frames breaks the {step}k+{rest} rule: use {max(1, (frames - rest) // step * step + rest)}.")


class _SampleLora:
    """Load a LoRA file as its own adapter for one generation, then remove only that adapter, leaving any
    adapter the transformer already carried (a LoRA in training) as it was."""

    def __init__(self, pipe, path: Path | None, scale: float):
        self.pipe, self.path, self.scale, self.previous = pipe, path, scale, []

    def __enter__(self):
        if self.path is None:
            return self
        path = Path(self.path)
        if not path.is_file():
            raise LoraportError(f"LoRA file {path} not found: check the path.")
        transformer = self.pipe.transformer
        if getattr(transformer, "_hf_peft_config_loaded", False):
            self.previous = list(transformer.active_adapters())
        try:
            self.pipe.load_lora_weights(str(path), adapter_name=SAMPLE_ADAPTER)
        except (ValueError, KeyError, RuntimeError, OSError) as exc:
            raise LoraportError(f"{path.name} does not load into {type(transformer).__name__}: {exc}. "
                                f"Run `loraport inspect {path.name}` to see what it was trained for.") from exc
        if SAMPLE_ADAPTER not in self.pipe.get_list_adapters().get("transformer", []):
            # diffusers only warns when no key matches (a LoRA for another model): say it plainly instead
            if any(SAMPLE_ADAPTER in names for names in self.pipe.get_list_adapters().values()):
                self.pipe.delete_adapters(SAMPLE_ADAPTER)  # it may have reached the connectors only
            raise LoraportError(f"{path.name} does not load into {type(transformer).__name__}: none of its keys "
                                f"match an LTX-2 transformer. Run `loraport inspect {path.name}` to see what it "
                                f"was trained for.")
        self.pipe.set_adapters([SAMPLE_ADAPTER], [self.scale])
        return self

    def __exit__(self, *exc):
        if self.path is None:
            return
        self.pipe.delete_adapters(SAMPLE_ADAPTER)
        if self.previous:
            self.pipe.transformer.set_adapters(self.previous)


def pipeline_guidance(guidance: GuidanceConfig, spec, transformer) -> dict:
    """LTX2Pipeline's guidance keyword arguments for `guidance`; STG blocks default to the model's own.

    The tiny demo models have two blocks and no official STG block: their last block stands in, so the same
    guided passes run. diffusers reads an audio value of 0 as "the video value" (`audio_stg_scale or
    stg_scale`), so an audio STG or rescale can be off only when the video one is off too.
    """
    g = guidance
    blocks = g.stg_blocks
    layers = transformer.config.num_layers
    if blocks is None:
        blocks = [layers - 1] if spec.tiny else STG_BLOCKS.get(spec.version, [28])
    if g.stg_scale or g.audio_stg_scale:
        if not blocks or any(not 0 <= b < layers for b in blocks):
            raise LoraportError(f"STG blocks {blocks} are not blocks of this {layers}-block transformer: use "
                                f"block numbers 0-{layers - 1}, or stg_scale=0 to turn STG off.")
    return dict(guidance_scale=g.guidance_scale, stg_scale=g.stg_scale, modality_scale=g.modality_scale,
                guidance_rescale=g.guidance_rescale, audio_guidance_scale=g.audio_guidance_scale,
                audio_stg_scale=g.audio_stg_scale, audio_modality_scale=g.audio_modality_scale,
                audio_guidance_rescale=g.audio_guidance_rescale, negative_prompt=g.negative_prompt,
                spatio_temporal_guidance_blocks=blocks if (g.stg_scale or g.audio_stg_scale) else None)


def _to_uint8(video: np.ndarray) -> np.ndarray:
    return (np.clip(video, 0.0, 1.0) * 255.0).round().astype(np.uint8)


@torch.no_grad()
def generate(components, prompt: str, *, lora_path: Path | None = None, lora_scale: float = 1.0, seed: int = 42,
             width: int | None = None, height: int | None = None, frames: int | None = None,
             steps: int | None = None, out_dir: Path, name: str = "sample", fps: float = 24.0,
             guidance: GuidanceConfig | None = None, reference: Reference | None = None
             ) -> SampleResult:
    """Generate one clip and write ``<out_dir>/<name>.mp4`` and ``<name>.png`` (a contact sheet).

    Size defaults to the model's first video bucket; steps to 30 (4 on the tiny model). The same seed gives the
    same frames. ``lora_path`` may hold ComfyUI (``diffusion_model.``) or diffusers (``transformer.``) keys.

    With a ``reference`` (IC-LoRA) the clip is rendered by ``LTX2InContextPipeline`` conditioned on it (see
    ``trainer.reference``), and ``<name>-beside-ref.mp4`` / ``.png`` show the reference beside the generation.

    ``guidance`` defaults to ltx-pipelines' parameters (CFG 3 with STG, modality guidance, rescale 0.7 and the
    official negative prompt; audio CFG 7), what users get from Lightricks' pipelines and ComfyUI workflows.
    """
    spec = components.spec
    bucket = next((b for b in spec.default_buckets if b.frames > 1), spec.default_buckets[0])
    width, height, frames = width or bucket.width, height or bucket.height, frames or bucket.frames
    steps = steps or (4 if spec.tiny else 30)
    _check_size(spec, width, height, frames)
    pipe = build_pipeline(components, in_context=reference is not None)
    ref_kwargs, ref_frames = _reference_kwargs(spec, reference, width, height, frames)
    generator = torch.Generator(device="cpu").manual_seed(seed)  # CPU noise: the same on every device
    with _SampleLora(pipe, lora_path, lora_scale):
        call = dict(prompt=prompt, width=width, height=height, num_frames=frames, **ref_kwargs, frame_rate=fps,
                    num_inference_steps=steps, generator=generator, output_type="np",
                    max_sequence_length=spec.max_sequence_length,
                    **pipeline_guidance(guidance or GuidanceConfig(), spec, components.transformer),
                    **spec.transformer_forward_kwargs)
        # Prompts a training run encoded in its text phase come from that cache: Gemma stays off the GPU.
        out = pipe(**prompt_cache.swap_in(components, call, pipe._execution_device))
    video = _to_uint8(np.asarray(out.frames[0]))  # (F, H, W, 3)
    sound, rate = _sound(out, components)
    out_dir = Path(out_dir)
    mp4 = write_mp4(video, out_dir / f"{name}.mp4", fps=fps, audio=sound, sample_rate=rate)
    sheet = contact_sheet(video, out_dir / f"{name}.png")
    result = SampleResult(mp4_path=mp4, sheet_path=sheet, frames=video, seed=seed, prompt=prompt, audio=sound,
                          sample_rate=rate)
    if reference is not None:
        beside = side_by_side(ref_frames, video)
        result.reference, result.reference_split, result.reference_frames = reference.name, reference.split, ref_frames
        result.beside_mp4 = write_mp4(beside, out_dir / f"{name}-beside-ref.mp4", fps=fps, audio=sound,
                                      sample_rate=rate)
        result.beside_sheet = contact_sheet(beside, out_dir / f"{name}-beside-ref.png")
    return result


def _sound(out, components) -> tuple[np.ndarray | None, int | None]:
    """The pipeline denoises an audio track with the video (audio latents -> audio VAE -> the model's vocoder):
    (channels, N) float32 at the vocoder's output rate, or (None, None) for a pipeline without sound."""
    audio = getattr(out, "audio", None)
    if audio is None or components.vocoder is None:
        return None, None
    wave = audio[0].float().cpu().numpy() if isinstance(audio, torch.Tensor) else np.asarray(audio[0], np.float32)
    return wave, int(components.vocoder.config.output_sampling_rate)


def _reference_kwargs(spec, reference: Reference | None, width: int, height: int, frames: int):
    """The in-context pipeline's reference arguments and the reference's own frames (uint8, for the side-by-side
    view); nothing without a reference."""
    if reference is None:
        return {}, None
    from diffusers.pipelines.ltx2.pipeline_ltx2_ic_lora import LTX2ReferenceCondition

    pixels = load_reference_frames(reference, width, height, frames, spec.size_multiple, spec.frame_rule[0])
    cond = LTX2ReferenceCondition(frames=pixels, strength=reference.strength)
    return dict(reference_conditions=[cond], reference_downscale_factor=reference.downscale_factor), to_uint8(pixels)


def render_validation(components, cfg: TrainConfig, out_dir: Path, step: int, emit: Callable[[dict], None],
                      data=None) -> None:
    """Validation clips at fixed seeds through LTX2Pipeline, with the adapter as it is now (dropout off); an
    IC-LoRA's through LTX2InContextPipeline with the dataset's references (held-out first), one per prompt in turn,
    each shown beside its reference. Every sample is recorded in samples.jsonl (report.json's "samples")."""
    refs = validation_references(cfg, data) if data is not None else []

    v, transformer = cfg.validation, components.transformer
    phases.enter(components, "sample")
    transformer.eval()
    try:
        for i, prompt in enumerate(v.prompts):
            text = prompt_cache.with_trigger(prompt, cfg.data.trigger_word)  # the text the prompt cache holds
            for seed in v.seeds:
                ref = refs[i % len(refs)] if refs else None
                res = generate(components, text, seed=seed, width=v.width, height=v.height, frames=v.frames,
                               steps=v.inference_steps, out_dir=out_dir, name=f"step-{step:06d}-p{i}-s{seed}",
                               reference=ref, guidance=v.guidance)
                append_jsonl(out_dir.parent / "samples.jsonl", res.record(step=step))
                emit({"type": "sample", "step": step, "path": str(res.beside_mp4 or res.mp4_path),
                      "message": text if ref is None else f"{text} (reference: {ref.name})"})
    finally:
        transformer.train()
        phases.enter(components, "train")
