"""Hardware tiers from the memory model: bf16 fits (standard), fits with techniques (low-VRAM), or a plain
explanation and the demo (no GPU, or nothing fits)."""

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


@pytest.mark.parametrize("gb", [48.0, 79.2, 141.0])
def test_large_gpus_train_in_bf16_without_memory_techniques(gb):
    assert pick_tier(gpu(gb), "ltx-2.3").tier == "standard"


@pytest.mark.parametrize("gb", [12.0, 16.0, 24.0])
def test_smaller_gpus_get_memory_techniques_and_the_reason(gb):
    t = pick_tier(gpu(gb, "NVIDIA GeForce RTX 4090"), "ltx-2.3")
    assert t.tier == "low_vram" and t.model_id == "ltx-2.3" and not t.fallback
    assert "bf16 base weights do not fit" in t.reason and t.changes


@pytest.mark.parametrize("hw", [gpu(2.0), CPU, Hardware(device="mps", name="Apple GPU (MPS)", vram_gb=64)])
def test_machines_that_cannot_train_explain_and_fall_back_to_the_tiny_model(hw):
    t = pick_tier(hw, "ltx-2.3")
    assert t.tier == "cannot_train" and t.fallback and t.model_id == "tiny-ltx-2.3"
    assert "--vram-gb" in t.reason and "tiny demo" in t.reason


def test_tiny_model_is_a_demo_on_any_machine():
    for hw in (CPU, gpu(80)):
        t = pick_tier(hw, "tiny-ltx-2.3")
        assert t.tier == "demo" and not t.fallback
