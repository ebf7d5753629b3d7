"""What this machine can train: the GPU (or none), its memory, and the tier that fits.

Tiers for the real LTX-2.3 model (19 B transformer parameters, 38 GB in bf16; LTX_FACTS.md):
- ``standard``: about 80 GB (Lightricks' standard config).
- ``low_vram``: 24 up to 80 GB: rank 16, 8-bit AdamW, int8 base weights, smaller buckets, gradient
  checkpointing. Lightricks' low-VRAM config targets 32 GB; on 24-32 GB int8 weights (about 19 GB) leave
  little room, so the plan warns.
- ``cannot_train``: below 24 GB, Apple MPS or no GPU. Said plainly, with what would work: a bigger card, the
  community 12-16 GB block-swap path (musubi-tuner LTX fork, outside loraport), or the tiny demo model here.
The tiny demo model (``tiny-ltx-2.3``) trains anywhere: tier ``demo``.
"""

import os
from typing import Literal

from pydantic import BaseModel, Field

STANDARD_MIN_GB = 70.0  # an "80 GB" card reports about 79 GiB; 70 leaves room for 72-80 GB cards
LOW_VRAM_MIN_GB = 24.0  # int8 base weights are ~19 GB; less needs block swapping, which loraport lacks
LIGHTRICKS_LOW_VRAM_GB = 32.0
TINY_MODELS = ("tiny-ltx-2.3", "tiny-ltx-2.5")

TierName = Literal["standard", "low_vram", "demo", "cannot_train"]


class Hardware(BaseModel):
    device: Literal["cuda", "mps", "cpu"]
    name: str
    vram_gb: float | None = Field(None, description="Memory of the first GPU in GiB; None without a GPU.")
    gpu_count: int = 0
    bf16: bool = False
    cpu_threads: int = 1
    ram_gb: float | None = None


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
                        cpu_threads=threads, ram_gb=ram)
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        # MPS shares system memory; report it as the GPU's, which is what a user would quote
        return Hardware(device="mps", name="Apple GPU (MPS)", vram_gb=ram, gpu_count=1, cpu_threads=threads,
                        ram_gb=ram)
    return Hardware(device="cpu", name=_cpu_name(), cpu_threads=threads, ram_gb=ram)


def pick_tier(hw: Hardware, model_id: str) -> TierChoice:
    """Choose standard, low-VRAM, demo or cannot-train for this model on this machine, with the reason."""
    if model_id in TINY_MODELS:
        return TierChoice(tier="demo", model_id=model_id, requested_model=model_id,
                          reason=f"{model_id} is the tiny demo model: it trains on any machine ({hw.name}) in "
                                 "seconds, with tiny buckets. Its output is noise; it shows the whole flow.")
    if hw.device == "cuda" and hw.vram_gb is not None and hw.vram_gb >= STANDARD_MIN_GB:
        return TierChoice(tier="standard", model_id=model_id, requested_model=model_id,
                          reason=f"{hw.name} has {hw.vram_gb:.0f} GB, enough for Lightricks' standard config "
                                 "(80 GB class): bf16 base weights, full-size buckets.")
    if hw.device == "cuda" and hw.vram_gb is not None and hw.vram_gb >= LOW_VRAM_MIN_GB:
        note = "" if hw.vram_gb >= LIGHTRICKS_LOW_VRAM_GB else (
            f" This is below Lightricks' 32 GB minimum for that config: it may still run out of memory on the "
            "biggest clips; if it does, drop to fewer frames.")
        return TierChoice(
            tier="low_vram", model_id=model_id, requested_model=model_id,
            reason=f"{hw.name} has {hw.vram_gb:.0f} GB: the bf16 base alone is 38 GB, so this uses the low-VRAM "
                   f"variant (int8 base weights, 8-bit AdamW, rank at most 16, smaller buckets).{note}",
            changes=["rank <= 16", "optimizer adamw8bit", "int8 base weights", "smaller buckets",
                     "gradient checkpointing on"])
    from tools.plan.versions import tiny_twin

    return TierChoice(tier="cannot_train", model_id=tiny_twin(model_id), requested_model=model_id, fallback=True,
                      reason=cannot_train_reason(hw, model_id))


def cannot_train_reason(hw: Hardware, model_id: str) -> str:
    if hw.device == "cpu":
        what = f"This machine has no GPU ({hw.name})."
    elif hw.device == "mps":
        what = "Apple GPUs (MPS) lack the bf16 kernels and the memory speed a 22B video model needs for training."
    else:
        what = f"{hw.name} has {hw.vram_gb or 0:.0f} GB of memory."
    return (f"{what} {model_id} has 19 B transformer parameters: 38 GB in bf16, about 19 GB even in 8 bits, so "
            "loraport needs an NVIDIA GPU with at least 24 GB (32 GB recommended, 80 GB for the standard "
            "config). What would work: rent an 80 GB GPU (A100/H100) for the standard recipe or a 32-48 GB one "
            "for the low-VRAM variant; the community musubi-tuner LTX fork trains in 12-16 GB with block "
            "swapping and fp8 (outside loraport). Here, the plan falls back to the tiny demo model, which runs "
            "the whole flow on this machine in seconds (its output is noise).")


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
