"""Hardware tiers: 80 GB standard, 24-80 GB low-VRAM, below that (or no GPU) a plain explanation and the demo."""

import pytest

from tools.plan.hardware import Hardware, detect_hardware, pick_tier


def gpu(gb: float, name: str = "NVIDIA GPU") -> Hardware:
    return Hardware(device="cuda", name=name, vram_gb=gb, gpu_count=1, bf16=True)


CPU = Hardware(device="cpu", name="CPU: test")


def test_detect_hardware_reports_this_machine():
    import torch

    hw = detect_hardware()
    if torch.cuda.is_available():
        assert hw.device == "cuda" and hw.vram_gb and hw.vram_gb > 1
    else:
        assert hw.device in ("cpu", "mps") and hw.name
        assert hw.device == "mps" or hw.vram_gb is None


@pytest.mark.parametrize("gb", [79.2, 80.0, 141.0])
def test_80gb_class_gpu_gets_the_standard_tier(gb):
    assert pick_tier(gpu(gb), "ltx-2.3").tier == "standard"


def test_24gb_gpu_picks_low_vram_and_says_it_is_below_32gb():
    t = pick_tier(gpu(24.0, "NVIDIA GeForce RTX 4090"), "ltx-2.3")
    assert t.tier == "low_vram" and t.model_id == "ltx-2.3" and not t.fallback
    assert "32 GB" in t.reason and "int8" in t.reason


def test_48gb_gpu_picks_low_vram_without_the_warning():
    t = pick_tier(gpu(48.0), "ltx-2.3")
    assert t.tier == "low_vram" and "below Lightricks" not in t.reason


@pytest.mark.parametrize("hw", [gpu(12.0), CPU, Hardware(device="mps", name="Apple GPU (MPS)", vram_gb=64)])
def test_machines_that_cannot_train_explain_and_fall_back_to_the_tiny_model(hw):
    t = pick_tier(hw, "ltx-2.3")
    assert t.tier == "cannot_train" and t.fallback and t.model_id == "tiny-ltx-2.3"
    assert "24 GB" in t.reason and "12-16 GB" in t.reason and "tiny demo" in t.reason


def test_tiny_model_is_a_demo_on_any_machine():
    for hw in (CPU, gpu(80)):
        t = pick_tier(hw, "tiny-ltx-2.3")
        assert t.tier == "demo" and not t.fallback
