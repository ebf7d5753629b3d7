"""What this machine can train: the GPU (or none), its memory, and the tier that fits.

The tier for a real model comes from the memory model (``tools.plan.memory``): the predicted peak of each phase
for the model's real dimensions at a reference bucket (768x512x49, rank 32), with the fastest set of techniques
(quantised base weights, block offload, 8-bit AdamW, checkpointing, text encoder mode) that fits the GPU:
- ``standard``: bf16 base weights fit without any memory technique beyond gradient checkpointing;
- ``low_vram``: it fits with techniques; the plan lists them and why;
- ``cannot_train``: no CUDA GPU, or nothing fits even with every technique. Said plainly, with the smallest
  setting that would fit and the tiny demo model the plan can run here instead.
The tiny demo models train anywhere: tier ``demo``.
"""

import os
from typing import Literal

from pydantic import BaseModel, Field

from trainer.models import is_tiny

REFERENCE_BUCKET = (768, 512, 49)  # the recipes' usual real bucket: the tier is judged there, rank 32

TierName = Literal["standard", "low_vram", "demo", "cannot_train"]


class Hardware(BaseModel):
    device: Literal["cuda", "mps", "cpu"]
    name: str
    vram_gb: float | None = Field(None, description="Memory of the first GPU in GiB; None without a GPU.")
    gpu_count: int = 0
    bf16: bool = False
    cpu_threads: int = 1
    ram_gb: float | None = None
    float8: bool = Field(False, description="The GPU computes in float8 (compute capability 8.9 or newer).")


class TierChoice(BaseModel):
    tier: TierName
    model_id: str = Field(description="The model the plan will train (may fall back to the tiny demo).")
    requested_model: str
    reason: str = Field(description="Plain English: why this tier.")
    changes: list[str] = Field(default_factory=list, description="What the tier changes from the recipe.")
    fallback: bool = Field(False, description="True when the requested model cannot train here.")


def detect_hardware() -> Hardware:
    """Detect this machine's GPU (CUDA or Apple MPS) and its memory, or report a CPU-only machine."""
    import torch

    threads, ram = os.cpu_count() or 1, _ram_gb()
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        return Hardware(device="cuda", name=props.name, vram_gb=round(props.total_memory / 2**30, 1),
                        gpu_count=torch.cuda.device_count(), bf16=torch.cuda.is_bf16_supported(),
                        cpu_threads=threads, ram_gb=ram, float8=(props.major, props.minor) >= (8, 9))
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        # MPS shares system memory; report it as the GPU's, which is what a user would quote
        return Hardware(device="mps", name="Apple GPU (MPS)", vram_gb=ram, gpu_count=1, cpu_threads=threads,
                        ram_gb=ram)
    return Hardware(device="cpu", name=_cpu_name(), cpu_threads=threads, ram_gb=ram)


def planned_hardware(vram_gb: float, here: Hardware | None = None) -> Hardware:
    """A GPU of ``vram_gb`` GiB to plan for (``--vram-gb``): another machine than this one, so host RAM and
    float8 support are unknown (float8 is not assumed)."""
    return Hardware(device="cuda", name=f"a {vram_gb:g} GB GPU (planned)", vram_gb=vram_gb, gpu_count=1, bf16=True,
                    cpu_threads=here.cpu_threads if here else 1)


def pick_tier(hw: Hardware, model_id: str) -> TierChoice:
    """Choose standard, low-VRAM, demo or cannot-train for this model on this machine, with the reason."""
    if is_tiny(model_id):
        return TierChoice(tier="demo", model_id=model_id, requested_model=model_id,
                          reason=f"{model_id} is the tiny demo model: it trains on any machine ({hw.name}) in "
                                 "seconds, with tiny buckets. Its output is noise; it shows the whole flow.")
    from tools.plan.versions import tiny_twin

    if hw.device != "cuda" or not hw.vram_gb:
        return TierChoice(tier="cannot_train", model_id=tiny_twin(model_id), requested_model=model_id,
                          fallback=True, reason=cannot_train_reason(hw, model_id))
    mem = reference_memory(hw, model_id)
    where = f"{hw.name} ({hw.vram_gb:g} GB)"
    if not mem.fits and mem.smallest_fit is None:
        return TierChoice(tier="cannot_train", model_id=tiny_twin(model_id), requested_model=model_id,
                          fallback=True, reason=cannot_train_reason(hw, model_id, mem.peak_gib))
    plain = mem.settings["quantize_base"] == "none" and mem.settings["offload"] == "none"
    at = "x".join(map(str, REFERENCE_BUCKET))
    if plain and mem.fits:
        return TierChoice(tier="standard", model_id=model_id, requested_model=model_id,
                          reason=f"{where}: bf16 base weights fit (predicted peak {mem.peak_gib:.1f} GiB at {at}, "
                                 "rank 32), so no memory technique slows training down.")
    fit = (f"predicted peak {mem.peak_gib:.1f} GiB at {at}, rank 32" if mem.fits else
           f"{at} does not fit; {mem.smallest_fit} does")
    return TierChoice(tier="low_vram", model_id=model_id, requested_model=model_id,
                      reason=f"{where}: bf16 base weights do not fit, so the plan uses {', '.join(mem.techniques)} "
                             f"({fit}).", changes=mem.techniques)


def reference_memory(hw: Hardware, model_id: str):
    from tools.plan.memory import choose
    from trainer.config import DEFAULT_TARGETS

    return choose(model_id, REFERENCE_BUCKET, 32, tuple(DEFAULT_TARGETS), True, hw.vram_gb,
                  float8_ok=hw.float8, ram_gib=hw.ram_gb)


def cannot_train_reason(hw: Hardware, model_id: str, peak_gib: float | None = None) -> str:
    if hw.device == "cpu":
        what = f"This machine has no GPU ({hw.name})."
    elif hw.device == "mps":
        what = "Apple GPUs (MPS) lack the bf16 kernels and the memory speed a 22B video model needs for training."
    elif peak_gib is not None:
        what = (f"{hw.name} has {hw.vram_gb or 0:g} GB; even with 4-bit base weights, block offload, 8-bit AdamW "
                f"and the text encoder on the CPU, {model_id} is predicted to need {peak_gib:.1f} GiB.")
    else:
        what = f"{hw.name} has {hw.vram_gb or 0:g} GB of memory."
    return (f"{what} {model_id} has 19 B transformer parameters (38 GB in bf16) and trains on an NVIDIA GPU: "
            "with 4-bit weights and block offload from about 6 GB at 512x512x49, faster with more memory "
            "(`loraport plan --vram-gb N` shows what a given card would use). Here, the plan falls back to the "
            "tiny demo model, which runs the whole flow on this machine in seconds (its output is noise).")


def _ram_gb() -> float | None:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        return round(pages * size / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return f"CPU: {line.split(':', 1)[1].strip()}"
    except OSError:
        pass
    import platform

    return f"CPU: {platform.processor() or platform.machine()}"
