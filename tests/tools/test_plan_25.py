"""Planning for LTX-2.5: the target is a choice, the plan says what differs, weights come from 2.5's setting."""

import pytest

from core.settings import get_settings
from tests.tools.test_plan import CPU, H100, clips, old_report
from tools.plan.service import plan
from tools.plan.versions import weights_for


def test_plan_for_tiny_ltx25_trains_it_and_says_what_differs_from_23():
    p = plan("style", clips(12), hardware=CPU, model_id="tiny-ltx-2.5", calibrate=False)
    assert p.model_id == p.config.model.id == "tiny-ltx-2.5" and p.tier == "demo"
    notes = " ".join(p.model_notes)
    assert "Gemma 4" in notes and "feed-forward bias" in notes and "latents" in notes
    assert plan("style", clips(12), hardware=CPU, calibrate=False).model_notes == []  # 2.3 stays the default


def test_real_ltx25_falls_back_to_its_own_tiny_twin_without_a_gpu():
    p = plan("style", clips(12), hardware=CPU, model_id="ltx-2.5", calibrate=False)
    assert (p.requested_model, p.model_id, p.tier) == ("ltx-2.5", "tiny-ltx-2.5", "cannot_train")


@pytest.mark.slow
def test_model_override_moves_the_plan_to_25_and_an_old_23_lora_is_offered_the_test_first():
    old = old_report(rank=32) | {"base_model": {"family": "ltx-2.3", "confidence": 0.95}}
    p = plan("character", clips(20), hardware=H100, old_lora=old, overrides={"model": "ltx-2.5"}, calibrate=False)
    assert p.config.model.id == "ltx-2.5" and p.settings["model"].source == "user"
    assert any("Test it first" in n and "--as-is" in n for n in p.model_notes)
    ic = old | {"ic_lora": {"reference_downscale_factor": 1.0}}
    p_ic = plan("character", clips(20), hardware=H100, old_lora=ic, overrides={"model": "ltx-2.5"}, calibrate=False)
    assert any("IC-LoRA" in n and "retrain" in n for n in p_ic.model_notes)


def test_each_real_version_reads_its_own_weights_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("LORAPORT_MODEL_PATH", str(tmp_path / "ltx23"))
    monkeypatch.setenv("LORAPORT_LTX25_MODEL_PATH", str(tmp_path / "ltx25"))
    st = get_settings()
    assert weights_for("ltx-2.5", st)[0] == tmp_path / "ltx25"
    assert weights_for("ltx-2.3", st)[0] == tmp_path / "ltx23"
    assert weights_for("tiny-ltx-2.5", st) == (None, None)
    p = plan("style", clips(12), hardware=H100, model_id="ltx-2.5", calibrate=False)
    assert p.config.model.path == tmp_path / "ltx25"
