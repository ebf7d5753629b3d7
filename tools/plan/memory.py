"""Predicted GPU memory of a LoRA run, per phase, from the model's real dimensions; and the fastest set of memory
techniques that fits a GPU.

The transformer is built on the ``meta`` device from its diffusers config (no weights, about a second), so the
parameter counts are exact: block Linears (what quantisation shrinks and block offload streams), the rest (norms,
modulation tables, embeddings; kept in bf16), and the LoRA's own parameters for the chosen targets and rank.

Phases never share the GPU (the trainer runs them one after another and frees each):
- ``text``: Gemma (bf16, bitsandbytes int8 / nf4, or on the CPU) and the text connectors, once per caption;
- ``vae``: the video VAE encoding each clip once (tiled on small cards);
- ``train``: transformer weights (quantised; with block offload only the blocks in flight), the LoRA with its
  gradients and optimizer state, and activations (with gradient checkpointing: each block's input, plus one
  block's recompute during backward).
Activation coefficients are per latent token at LTX-2.3's width (4096) and depth (48) and scale with both; they
were computed on the meta device (docs/ltx.md, "Memory") and are to be confirmed by ``bench/gpu_memory.py``.
"""

import functools
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

GiB = 2**30
CUDA_OVERHEAD_GIB = 0.6  # CUDA context, cuBLAS workspace, allocator rounding: never available to tensors
# Activations at LTX-2.3 width and depth, GiB: checkpointed block inputs, one block's recompute, no checkpointing.
ACT_CKPT = (0.48, 0.00084)  # constant, per token
ACT_RECOMPUTE = (0.03, 0.000335)
ACT_FULL = (22.2, 0.0161)
REF_WIDTH_DEPTH = 4096 * 48
BYTES = {"none": 2.0, "int8": 1.0, "float8": 1.0, "nf4": 0.5625}  # nf4: 4 bits + one fp32 absmax per 64
SLOWDOWN = {"none": 1.0, "float8": 1.1, "int8": 1.2, "nf4": 1.45}  # weight-only dequantisation: estimates until bench/gpu_memory.py measures them
PCIE_GBPS = 20.0  # host->GPU copy rate block offload sustains (PCIe 4.0 x16 in practice)
GEMMA_PARAMS = 12.2e9  # Gemma 3 12B with its vision tower (LTX-2.x's text encoder)
GEMMA_EMBED = 1.0e9  # its token embedding, left in bf16 by bitsandbytes
VAE_PARAMS = 0.73e9
VAE_ACT_PER_PIXEL_FRAME = 1.05e-7  # GiB per pixel x frame, untiled encode (1.3 GiB at 512x512x49)
VAE_TILE = (512, 512, 17)  # tile width, height, frames of a tiled encode
TEXT_ACT_GIB = 0.4  # 49 hidden states of 1024 tokens x 3840 in bf16
HOST_HEADROOM_GIB = 16.0  # host RAM beyond the offloaded blocks: the process, data, the text phase's leftovers
PASSES_OFFLOADED = 3  # forward, recompute, backward each stream every block's weights
AUDIO_TOKENS_PER_SECOND = 25
# An audio token runs through the audio stream, 2048 wide against the video's 4096 at the same depth: its
# activations weigh about half a video token's. Counted whenever the audio branch is adapted (video_only false),
# which is when the clips' sound trains.
AUDIO_TOKEN_WEIGHT = 0.5


@dataclass(frozen=True)
class ModelDims:
    """Parameter counts of one model's transformer, from its config on the meta device."""

    block_linear: int  # Linear weights inside transformer blocks (quantised, offloaded)
    block_other: int  # biases, norms, tables inside blocks
    outside: int  # proj_in/out, time embeddings, modulation outside the blocks
    n_blocks: int
    width: int  # video attention width
    connectors: int  # text connector parameters (3.17 B on LTX-2.3)
    tiny: bool

    @property
    def total(self) -> int:
        return self.block_linear + self.block_other + self.outside


class Techniques(BaseModel):
    quantize_base: Literal["none", "int8", "float8", "nf4"] = "none"
    offload: Literal["none", "blocks"] = "none"
    optimizer: Literal["adamw", "adamw8bit"] = "adamw"
    gradient_checkpointing: bool = True
    text_encoder: Literal["bf16", "int8", "nf4", "cpu"] = "bf16"
    vae_tiling: bool = False

    def names(self) -> list[str]:
        out = [f"base weights {self.quantize_base if self.quantize_base != 'none' else 'bf16'}"]
        if self.offload == "blocks":
            out.append("block offload (diffusers group offload)")
        out.append("8-bit AdamW" if self.optimizer == "adamw8bit" else "AdamW")
        out.append("gradient checkpointing" if self.gradient_checkpointing else "no gradient checkpointing")
        out.append(f"text encoder {self.text_encoder}")
        if self.vae_tiling:
            out.append("tiled VAE")
        return out


class PhaseMemory(BaseModel):
    peak_gib: float
    parts: dict[str, float] = Field(description="GiB by what holds it.")


class MemoryPlan(BaseModel):
    vram_gib: float | None = Field(description="The GPU's memory planned for, GiB (None: no GPU).")
    peak_gib: float = Field(description="Predicted peak of the largest phase, GiB, CUDA overhead included.")
    fits: bool
    phases: dict[str, PhaseMemory]
    techniques: list[str]
    settings: dict[str, str | bool] = Field(default_factory=dict, description="The techniques as setting values.")
    host_ram_gib: float = Field(0.0, description="Host RAM the offloaded weights take.")
    seconds_per_step_relative: float = Field(1.0, description="Step time relative to bf16 with no offload.")
    reasons: list[str] = Field(default_factory=list, description="Plain sentences: why these techniques.")
    smallest_fit: str | None = Field(None, description="When nothing fits: the largest bucket that would.")


@functools.lru_cache(maxsize=8)
def model_dims(model_id: str) -> ModelDims:
    """Build the model's transformer on ``meta`` from its config and count; tiny models are built for real."""
    import torch

    transformer, connectors, tiny = _meta_parts(model_id)
    blocks = transformer.transformer_blocks
    linear = sum(m.weight.numel() for m in blocks.modules() if isinstance(m, torch.nn.Linear))
    in_blocks = sum(p.numel() for p in blocks.parameters())
    total = sum(p.numel() for p in transformer.parameters())
    return ModelDims(block_linear=linear, block_other=in_blocks - linear, outside=total - in_blocks,
                     n_blocks=len(blocks), width=transformer.config.num_attention_heads *
                     transformer.config.attention_head_dim, connectors=connectors, tiny=tiny)


def _meta_parts(model_id: str):
    from accelerate import init_empty_weights
    from diffusers import LTX2VideoTransformer3DModel
    from diffusers.pipelines.ltx2 import LTX2TextConnectors

    from trainer.models import get_model_spec, load_components
    from trainer.models.ltx2_configs import CONNECTORS_23, TRANSFORMER_23

    spec = get_model_spec(model_id)
    if spec.tiny:
        from trainer.config import ModelConfig

        c = load_components(ModelConfig(id=model_id))
        return c.transformer, sum(p.numel() for p in c.connectors.parameters()), True
    # LTX-2 and 2.5 share 2.3's block layout within a few percent (2.5: no video FF bias; 2: no gates).
    with init_empty_weights():
        transformer = LTX2VideoTransformer3DModel.from_config(TRANSFORMER_23)
        connectors = LTX2TextConnectors.from_config(CONNECTORS_23)
    return transformer, sum(p.numel() for p in connectors.parameters()), False


@functools.lru_cache(maxsize=8)
def _linears(model_id: str) -> tuple[tuple[str, int, int], ...]:
    """(path, in, out) of every Linear of the model's transformer, on the meta model: one build per model, so a
    change of rank or targets costs a regex, not another build."""
    import torch

    transformer, _, _ = _meta_parts(model_id)
    return tuple((name, m.in_features, m.out_features) for name, m in transformer.named_modules()
                 if isinstance(m, torch.nn.Linear))


@functools.lru_cache(maxsize=32)
def lora_params(model_id: str, rank: int, targets: tuple[str, ...], video_only: bool) -> int:
    """Trainable LoRA parameters: rank x (in + out) over every Linear the trainer's target regex adapts, on the
    meta model. The one count: the memory plan and the estimate's disk figures both use it."""
    import re

    from trainer.config import LoraConfig
    from trainer.lora import target_regex

    pattern = re.compile(target_regex(LoraConfig(rank=rank, target_modules=list(targets), video_only=video_only)))
    return sum(rank * (i + o) for name, i, o in _linears(model_id) if pattern.fullmatch(name))


def tokens(width: int, height: int, frames: int, ratio: int = 32) -> int:
    """Latent tokens of one clip: (H/32)(W/32)((F-1)/8+1) on LTX-2.x."""
    return (height // ratio) * (width // ratio) * ((frames - 1) // 8 + 1)


def audio_tokens(frames: int, fps: float = 24.0) -> int:
    """Audio tokens of one clip when its sound trains: 25 latent frames a second (16 kHz, hop 160, 4x in time),
    one token each, for the seconds the frames cover."""
    return round(frames / fps * AUDIO_TOKENS_PER_SECOND)


def _linear(coef: tuple[float, float], n_tokens: int, scale: float) -> float:
    return (coef[0] + coef[1] * n_tokens) * scale


def predict(model_id: str, bucket: tuple[int, int, int], rank: int, targets: tuple[str, ...], video_only: bool,
            t: Techniques, vram_gib: float | None = None) -> MemoryPlan:
    """Peak GiB of each phase for one bucket (width, height, frames) and technique set."""
    dims = model_dims(model_id)
    w, h, f = bucket
    n_tok = tokens(w, h, f, 8 if dims.tiny else 32)
    n_tok += 0 if video_only else round(AUDIO_TOKEN_WEIGHT * audio_tokens(f))  # the sound trains too
    scale = dims.width * dims.n_blocks / REF_WIDTH_DEPTH
    block = (dims.block_linear * BYTES[t.quantize_base] + dims.block_other * 2) / dims.n_blocks / GiB
    resident_blocks = 2 if t.offload == "blocks" else dims.n_blocks  # the running group and the prefetched one
    lora = lora_params(model_id, rank, targets, video_only)
    lora_bytes = lora * (4 + 4 + (2 if t.optimizer == "adamw8bit" else 8))  # fp32 weight + grad + moments
    acts = (_linear(ACT_CKPT, n_tok, scale) + _linear(ACT_RECOMPUTE, n_tok, dims.width / 4096)
            if t.gradient_checkpointing else _linear(ACT_FULL, n_tok, scale))
    train = {"transformer weights": block * resident_blocks + dims.outside * 2 / GiB,
             "LoRA + grads + optimizer": lora_bytes / GiB, "activations": acts}
    text = _text_phase(dims, t)
    vae = _vae_phase(dims, (w, h, f), t)
    phases = {name: PhaseMemory(peak_gib=round(sum(p.values()) + CUDA_OVERHEAD_GIB, 2),
                                parts={k: round(v, 2) for k, v in p.items()})
              for name, p in (("text", text), ("vae", vae), ("train", train))}
    peak = max(p.peak_gib for p in phases.values())
    offloaded = block * (dims.n_blocks - resident_blocks) if t.offload == "blocks" else 0.0
    return MemoryPlan(vram_gib=vram_gib, peak_gib=peak, fits=vram_gib is not None and peak <= vram_gib,
                      phases=phases, techniques=t.names(), settings=_settings(t), host_ram_gib=round(offloaded, 1),
                      seconds_per_step_relative=round(_relative_time(dims, t, n_tok, offloaded), 2))


def _text_phase(dims: ModelDims, t: Techniques) -> dict[str, float]:
    if dims.tiny or t.text_encoder == "cpu":
        return {"text encoder (on the CPU)": 0.0}
    per = {"bf16": 2.0, "int8": 1.0, "nf4": 0.5625}[t.text_encoder]
    gemma = ((GEMMA_PARAMS - GEMMA_EMBED) * per + GEMMA_EMBED * 2) / GiB
    return {f"Gemma ({t.text_encoder})": gemma, "text connectors": dims.connectors * 2 / GiB,
            "activations": TEXT_ACT_GIB}


def _vae_phase(dims: ModelDims, bucket: tuple[int, int, int], t: Techniques) -> dict[str, float]:
    if dims.tiny:
        return {"video VAE": 0.0}
    w, h, f = bucket
    if t.vae_tiling:
        w, h, f = min(w, VAE_TILE[0]), min(h, VAE_TILE[1]), min(f, VAE_TILE[2])
    return {"video VAE": VAE_PARAMS * 2 / GiB, "activations": VAE_ACT_PER_PIXEL_FRAME * w * h * f}


def _relative_time(dims: ModelDims, t: Techniques, n_tok: int, offloaded_gib: float) -> float:
    """Step time relative to bf16 without offload: dequantisation, recompute, and host->GPU copies when they
    outlast the compute they overlap (compute ~ 6 x params x tokens FLOP at ~400 TFLOP/s sustained)."""
    compute_s = 6 * dims.total * n_tok / 400e12 * (1.33 if t.gradient_checkpointing else 1.0)
    compute_s *= SLOWDOWN[t.quantize_base]
    copy_s = PASSES_OFFLOADED * offloaded_gib * GiB / (PCIE_GBPS * 1e9)
    base_s = 6 * dims.total * n_tok / 400e12
    return max(compute_s, copy_s) / base_s if base_s else 1.0


def _settings(t: Techniques) -> dict[str, str | bool]:
    return {"quantize_base": t.quantize_base, "offload": t.offload, "optimizer": t.optimizer,
            "gradient_checkpointing": t.gradient_checkpointing, "text_encoder": t.text_encoder,
            "vae_tiling": t.vae_tiling}


_TRAIN_OPTIONS = [  # (quantize_base, offload, optimizer, gradient_checkpointing), tried for each GPU
    (q, o, opt, ckpt) for q in ("none", "float8", "int8", "nf4") for o in ("none", "blocks")
    for opt in ("adamw", "adamw8bit") for ckpt in (False, True)]
_SMALLER_BUCKETS = [(768, 512, 121), (768, 512, 97), (768, 512, 49), (512, 512, 49), (512, 512, 33),
                    (512, 512, 17), (512, 320, 17), (384, 256, 17), (256, 256, 9)]


def choose(model_id: str, bucket: tuple[int, int, int], rank: int, targets: tuple[str, ...], video_only: bool,
           vram_gib: float | None, *, fixed: dict | None = None, float8_ok: bool = False,
           ram_gib: float | None = None) -> MemoryPlan:
    """The fastest technique set whose every phase fits ``vram_gib``; settings in ``fixed`` (the user's) are kept.

    ``float8_ok``: the GPU has float8 support (compute capability 8.9+). ``ram_gib``: host RAM, which block
    offload needs for the offloaded weights plus headroom. When none fits: the least-memory set, ``fits=False``,
    and the largest smaller bucket that would fit.
    """
    fixed = dict(fixed or {})
    text = _pick_text(model_id, bucket, rank, targets, video_only, vram_gib, fixed)
    tiling = fixed.get("vae_tiling")
    plans = []
    for q, o, opt, ckpt in _TRAIN_OPTIONS:
        if q == "float8" and not float8_ok:
            continue
        chosen = dict(quantize_base=q, offload=o, optimizer=opt, gradient_checkpointing=ckpt)
        if any(k in fixed and fixed[k] != v for k, v in chosen.items()):
            continue
        for tile in ((False, True) if tiling is None else (tiling,)):
            t = Techniques(**chosen, text_encoder=text, vae_tiling=tile)
            p = predict(model_id, bucket, rank, targets, video_only, t, vram_gib)
            if p.fits and ram_gib is not None and p.host_ram_gib + HOST_HEADROOM_GIB > ram_gib:
                p.fits = False  # the offloaded blocks would not fit in this machine's RAM
            plans.append(p)
    if not plans:
        plans.append(predict(model_id, bucket, rank, targets, video_only, Techniques(**{
            k: v for k, v in fixed.items() if k in Techniques.model_fields}), vram_gib))
    fitting = [p for p in plans if p.fits]
    if fitting:
        best = min(fitting, key=_preference)
        best.reasons = _reasons(best, vram_gib)
        return best
    best = min(plans, key=lambda p: (p.peak_gib, p.seconds_per_step_relative))
    best.smallest_fit = _smallest_fit(model_id, bucket, rank, targets, video_only, vram_gib, best)
    best.reasons = _reasons(best, vram_gib)
    return best


def _preference(p: MemoryPlan) -> tuple:
    """Fastest first; among equals the plainer set (AdamW, untiled VAE), then the lower peak."""
    s = p.settings
    return (p.seconds_per_step_relative, s["optimizer"] == "adamw8bit", bool(s["vae_tiling"]), p.peak_gib)


def _pick_text(model_id, bucket, rank, targets, video_only, vram_gib, fixed) -> str:
    if "text_encoder" in fixed and fixed["text_encoder"] != "auto":
        return fixed["text_encoder"]
    for mode in ("bf16", "int8", "nf4"):
        t = Techniques(text_encoder=mode)
        if vram_gib is not None and predict(model_id, bucket, rank, targets, video_only, t,
                                            vram_gib).phases["text"].peak_gib <= vram_gib:
            return mode
    return "cpu"


def _smallest_fit(model_id, bucket, rank, targets, video_only, vram_gib, best: MemoryPlan) -> str | None:
    if vram_gib is None:
        return None
    t = Techniques(**best.settings)
    for b in _SMALLER_BUCKETS:
        if b[0] * b[1] * b[2] >= bucket[0] * bucket[1] * bucket[2]:
            continue
        if predict(model_id, b, rank, targets, video_only, t, vram_gib).fits:
            return f"{b[0]}x{b[1]}x{b[2]}"
    return None


def _reasons(p: MemoryPlan, vram_gib: float | None) -> list[str]:
    if vram_gib is None:
        return ["No GPU: the real model cannot train here; these figures are for planning another machine "
                "(plan with --vram-gb N)."]
    phase, worst = max(p.phases.items(), key=lambda kv: kv[1].peak_gib)
    head = (f"Predicted peak {p.peak_gib:.1f} GiB ({phase} phase) of the {vram_gib:g} GiB GPU"
            + (": it fits." if p.fits else ": it does not fit even with every technique."))
    out = [head]
    s = p.settings
    if s["quantize_base"] != "none":
        on_gpu = "on the GPU at a time" if s["offload"] == "blocks" else ""  # with offload: the blocks in flight
        out.append(f"Base weights in {s['quantize_base']}: the frozen transformer takes "
                   f"{p.phases['train'].parts['transformer weights']:.1f} GiB {on_gpu} instead of bf16's size; a "
                   "little slower per step, the LoRA still trains in fp32.".replace("  ", " "))
    if s["offload"] == "blocks":
        out.append(f"Block offload: transformer blocks wait in host RAM ({p.host_ram_gib:.0f} GiB) and stream to "
                   f"the GPU as they run; steps take about {p.seconds_per_step_relative:.1f}x as long.")
    if s["optimizer"] == "adamw8bit":
        out.append("8-bit AdamW keeps the optimizer's two running averages in a quarter of the memory.")
    if not s["gradient_checkpointing"]:
        out.append("Gradient checkpointing off: the activations fit, and steps are about a quarter faster.")
    if s["text_encoder"] != "bf16":
        out.append(f"Text encoder {s['text_encoder']}: Gemma in bf16 does not fit beside the connectors while "
                   "captions are encoded (it is freed before training).")
    if s["vae_tiling"]:
        out.append("Tiled VAE: clips are encoded in tiles so the encode fits.")
    if not p.fits and p.smallest_fit:
        out.append(f"The largest bucket that fits this GPU: {p.smallest_fit} (--set resolution=... --set frames=...).")
    elif not p.fits:
        out.append("No bucket of the usual sizes fits: use a GPU with more memory.")
    return out


def techniques_of(config) -> Techniques:
    """The technique set a TrainConfig asks for (``text_encoder = auto`` counts as bf16)."""
    m, o = config.model, config.optim
    return Techniques(quantize_base=m.quantize_base, offload=m.offload, optimizer=o.optimizer,
                      gradient_checkpointing=o.gradient_checkpointing,
                      text_encoder="bf16" if m.text_encoder == "auto" else m.text_encoder, vae_tiling=m.vae_tiling)


def predict_config(config, vram_gib: float | None = None) -> MemoryPlan:
    """Predicted memory of a resolved TrainConfig at its largest bucket."""
    b = max(config.data.buckets, key=lambda b: b.width * b.height * b.frames)
    args = (config.model.id, (b.width, b.height, b.frames), config.lora.rank, tuple(config.lora.target_modules),
            config.lora.video_only)
    t = techniques_of(config)
    plan = predict(*args, t, vram_gib)
    if config.model.text_encoder == "auto":  # the trainer picks the mode that fits: never above training's peak
        for mode in ("int8", "nf4", "cpu"):
            if plan.phases["text"].peak_gib <= plan.phases["train"].peak_gib:
                break
            plan = predict(*args, t.model_copy(update={"text_encoder": mode}), vram_gib)
    return plan
