"""Evaluation pieces that need no training: prompts, similarity, decisions on given metrics, bad input, HTML."""

import numpy as np
import pytest

from core.errors import LoraportError, NotFoundError
from tools.evaluate import metrics as M
from tools.evaluate.models import EvalReport, Metric, SamplePair, Verdict
from tools.evaluate.prompts import pick_prompts
from tools.evaluate.report import render_html
from tools.evaluate.source import resolve
from tools.evaluate.verdict import decide
from tools.train.retrain import apply_overrides, retrain_with
from tests.tools.evaluate_runs import tiny_clip
from tests.trainer.train_utils import tiny_config


def _report(**metrics) -> EvalReport:
    return EvalReport(lora_path="/x/lora.safetensors", model_id="tiny-ltx-2.3", out_dir="/x", rank=32, steps=1000,
                      metrics={k: Metric(name=k, meaning="m", **v) for k, v in metrics.items()},
                      verdict=Verdict(status="good", evidence=[]))


def test_prompts_are_training_new_and_holdout_without_duplicates():
    prompts = pick_prompts(["sks a dog", "sks a dog", "sks a cat", "sks a cow", "sks a hen"], ["sks a dog", "sks a fox"],
                           recipe="style", trigger="sks")
    assert [p.kind for p in prompts] == ["train"] * 3 + ["new"] * 2 + ["holdout"]
    assert [p.text for p in prompts if p.kind == "holdout"] == ["sks a fox"]
    assert all(p.text.startswith("sks ") and "{trigger}" not in p.text for p in prompts)


def test_features_see_the_same_clip_as_similar_and_noise_as_unrelated():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (9, 32, 32, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (9, 32, 32, 3), dtype=np.uint8)
    brighter = np.clip(a.astype(int) // 2 + 100, 0, 255).astype(np.uint8)
    assert M.similarity(M.features(a), M.features(brighter)) > 0.99
    assert abs(M.similarity(M.features(a), M.features(b))) < 0.2
    assert M.diversity([M.features(a), M.features(a)]) == pytest.approx(0.0, abs=1e-6)
    assert M.strength(a, a) == 0.0


def test_exploding_or_nan_loss_is_broken_even_with_healthy_weights():
    health = {"value": "ok"}
    exploding = _report(weight_health=health, holdout_loss={"value": 5.0, "base": 1.0, "detail": {"improvement": -4}})
    assert decide(exploding).status == "broken"
    diverged = _report(weight_health=health, training_loss={"value": 9.0, "detail": {"finite": False}})
    assert decide(diverged).status == "broken"


def test_copying_training_clips_into_new_prompts_is_overfit_without_a_curve():
    r = _report(weight_health={"value": "ok"}, holdout_loss={"value": 0.5, "base": 1.0, "detail": {"improvement": 0.5}},
                memorisation={"value": 0.97, "base": 0.4}, strength={"value": 0.2})
    v = decide(r)
    assert v.status == "over-fit" and v.evidence[0].startswith("memorisation:")
    assert {"rank": "16"} in [s.retrain_with for s in v.suggestions]  # rank 32 -> 16


def test_fitting_training_clips_far_better_than_held_out_is_overfit():
    r = _report(weight_health={"value": "ok"}, holdout_loss={"value": 0.6, "base": 1.0, "detail": {"improvement": 0.4}},
                train_fit={"value": 0.3, "base": 1.0, "detail": {"improvement": 0.7, "fit_gap": 0.3}})
    v = decide(r)
    assert v.status == "over-fit" and v.evidence[0].startswith("train_fit:")
    assert v.suggestions[0].retrain_with == {"steps": "-30%"}  # no curve: no best step to go back to


def test_big_change_without_held_out_gain_is_not_called_weak():
    r = _report(weight_health={"value": "ok"}, holdout_loss={"value": 0.99, "base": 1.0, "detail": {"improvement": 0.01}},
                strength={"value": 0.2})
    assert decide(r).status == "good"  # weak needs both: small gain AND low strength


def test_unknown_job_and_foreign_file_without_dataset_are_refused(workspace, tmp_path):
    with pytest.raises(NotFoundError, match="no job"):
        resolve("train-doesnotexist")
    lora = tmp_path / "other.safetensors"
    lora.write_bytes(b"x")
    with pytest.raises(LoraportError, match="--dataset"):
        resolve(lora)


def test_bad_retrain_changes_are_refused_with_the_fix(tmp_path):
    cfg = tiny_config(tmp_path, steps=100)
    assert apply_overrides(cfg, {"steps": "+20%"})["optim"]["steps"] == 120
    with pytest.raises(LoraportError, match="unknown setting"):
        apply_overrides(cfg, {"colour": "blue"})
    with pytest.raises(LoraportError, match="no run to retrain"):
        retrain_with(_report(), {"steps": "+20%"})
    with pytest.raises(LoraportError, match="no changes"):
        retrain_with(_report(), {})


def test_html_report_escapes_captions(tmp_path):
    from trainer.media import contact_sheet

    sheet = contact_sheet(np.zeros((9, 32, 32, 3), np.uint8), tmp_path / "s.png")
    r = _report(weight_health={"value": "ok"})
    r.samples = [SamplePair(prompt="<script>alert(1)</script>", kind="train", seed=1, base_mp4=str(tmp_path / "b.mp4"),
                            base_sheet=str(sheet), lora_mp4=str(tmp_path / "l.mp4"), lora_sheet=str(sheet), strength=0.1)]
    page = render_html(r, tmp_path)
    assert "<script>alert" not in page and "&lt;script&gt;" in page


def test_prompt_adherence_uses_a_local_clip_model(tmp_path):
    model = str(tiny_clip(tmp_path / "clip"))
    clip = np.random.default_rng(0).integers(0, 256, (9, 32, 32, 3), dtype=np.uint8)
    red, cat = M.clip_adherence(model, ["a red square", "a cat"], [clip, clip])
    assert -1.0 <= red <= 1.0 and red != cat  # a cosine, and it depends on the prompt
    assert M.clip_adherence(model, ["a red square"], [clip]) == [red]  # deterministic
    with pytest.raises(OSError):
        M.clip_adherence(str(tmp_path / "missing"), ["a cat"], [clip])  # local only: never fetched


def test_old_on_old_comparison_says_what_is_missing(tmp_path):
    from tools.evaluate.compare import compare_old

    r = _report()
    assert "no old LoRA" in compare_old(None, r, components_dir=tmp_path).skipped
    old = tmp_path / "old.safetensors"
    old.write_bytes(b"x")
    skipped = compare_old(old, r, components_dir=tmp_path)
    assert not skipped.done and "LTX-2 weights" in skipped.skipped
