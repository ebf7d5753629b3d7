"""The plan's memory step: the fastest memory techniques that fit the GPU, for the plan's own buckets and rank.

Runs after the user's overrides, so it sees the final buckets, rank and targets; a technique the user set stays
as set (the others are chosen around it). When the recipe's buckets do not fit but its low-VRAM buckets do, and
the user did not choose buckets, those are used. What is chosen is written as settings with source ``hardware``
and a plain reason, and the figures go to the plan's ``memory``.
"""

from tools.plan.hardware import Hardware, TierChoice
from tools.plan.memory import MemoryPlan, Techniques, choose, predict
from tools.recipes import parse_bucket

TECHNIQUE_SETTINGS = ("quantize_base", "offload", "optimizer", "gradient_checkpointing", "text_encoder", "vae_tiling")


def _largest(buckets: list[str]) -> tuple[int, int, int]:
    b = max((parse_bucket(x) for x in buckets), key=lambda b: b.width * b.height * b.frames)
    return b.width, b.height, b.frames


def _lora(v) -> tuple[int, tuple[str, ...], bool]:
    from trainer.config import DEFAULT_TARGETS

    targets = v.value("targets") if "targets" in v.s else DEFAULT_TARGETS
    return int(v.value("rank")), tuple(targets), bool(v.value("video_only")) if "video_only" in v.s else True


def _choose(v, model_id: str, hw: Hardware, fixed: dict) -> MemoryPlan:
    lora = _lora(v)
    return choose(model_id, _largest(v.value("buckets")), *lora, hw.vram_gb, fixed=fixed, float8_ok=hw.float8,
                  ram_gib=hw.ram_gb)


def fit_memory(v, recipe, tier: TierChoice, hw: Hardware) -> MemoryPlan:
    """Choose and record the memory techniques (``v`` is the plan's settings being resolved)."""
    if tier.tier in ("demo", "cannot_train"):
        return _tiny_memory(v, tier, hw)
    fixed = {k: v.value(k) for k in TECHNIQUE_SETTINGS if k in v.s and v.s[k].source == "user"}
    mem = _choose(v, tier.model_id, hw, fixed)
    if not mem.fits and v.s["buckets"].source != "user":
        smaller = list(recipe.tiers.low_vram.buckets)
        was = v.value("buckets")
        v.set("buckets", smaller, "hardware", f"The recipe's buckets ({', '.join(was)}) do not fit this GPU even "
              f"with every memory technique; its low-VRAM buckets do. {recipe.tiers.low_vram.why}")
        again = _choose(v, tier.model_id, hw, fixed)
        if again.fits:
            mem = again
        else:
            v.set("buckets", was, v.s["buckets"].source, v.s["buckets"].explanation)
    why = " ".join(mem.reasons)
    for name in TECHNIQUE_SETTINGS:
        if name not in fixed:
            v.set(name, mem.settings[name], "hardware", why)
    return mem


def _tiny_memory(v, tier: TierChoice, hw: Hardware) -> MemoryPlan:
    mem = predict(tier.model_id, _largest(v.value("buckets")), *_lora(v), Techniques(), hw.vram_gb)
    mem.fits = True
    mem.reasons = [f"{tier.model_id} is tiny: it needs a few MB and trains on the CPU or any GPU."]
    return mem

