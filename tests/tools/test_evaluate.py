"""Evaluation on real tiny-model runs: each verdict follows from measurements, with evidence and advice."""

import json
import math
import shutil

import pytest
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from tests.tools.evaluate_runs import OVERFIT_STEPS, tiny_clip, train_runs
from tools.evaluate import evaluate, export_best, suggest
from tools.evaluate.verdict import FIT_GAP, OVERFIT_RISE, TRAIN_FALL, WEAK_IMPROVEMENT, WEAK_STRENGTH, decide
from tools.train.retrain import retrain_with


# Every test here shares three real training runs and their evaluations (~100 s on one core).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Three real runs and their evaluations, shared by this module's tests (training is the slow part)."""
    from core.workspace import Workspace

    root = tmp_path_factory.mktemp("evaluate")
    workspace = Workspace(root / "home").ensure()  # module-scoped: its own workspace, passed in
    runs = train_runs(root)
    clip = str(tiny_clip(root / "clip"))  # prompt adherence measured on the good run only
    reports = {name: evaluate(run, checkpoints=name == "overfit", out_dir=root / f"eval-{name}",
                              clip_model=clip if name == "good" else None, workspace=workspace)
               for name, run in runs.items()}
    return runs, reports


def test_short_run_is_weak_and_advised_twenty_percent_more_steps(trained):
    runs, reports = trained
    r = reports["weak"]
    assert r.verdict.status == "weak"
    assert r.metrics["holdout_loss"].detail["improvement"] < WEAK_IMPROVEMENT
    assert r.value("strength") < WEAK_STRENGTH
    assert any(e.startswith("holdout_loss:") for e in r.verdict.evidence)
    first = r.verdict.suggestions[0]
    assert first.retrain_with == {"steps": "+20%"} and "holdout_loss" in first.confirm
    proposal = retrain_with(r, first.retrain_with)  # the run's own folder: 10 steps -> 12
    assert proposal.config.optim.steps == 12
    assert [(c.name, c.old, c.new) for c in proposal.changes] == [("steps", 10, 12)]


def test_consistent_concept_run_is_good(trained):
    _, reports = trained
    r = reports["good"]
    assert r.verdict.status == "good", r.verdict.evidence
    assert r.metrics["holdout_loss"].detail["improvement"] > 0.2
    assert r.value("strength") > 3 * WEAK_STRENGTH
    assert r.value("heldout_trend") < OVERFIT_RISE
    assert r.metrics["weight_health"].value == "ok"


def test_long_high_lr_run_on_two_clips_is_overfit_and_memorises(trained):
    _, reports = trained
    r, good = reports["overfit"], reports["good"]
    assert r.verdict.status == "over-fit", r.verdict.evidence
    trend = r.metrics["heldout_trend"]
    assert trend.value >= OVERFIT_RISE and trend.detail["train_drop"] >= TRAIN_FALL
    assert trend.detail["best_step"] < OVERFIT_STEPS
    # Memorisation: it removes far more of the loss on its two clips than on the held-out one; the good run does not.
    assert r.metrics["train_fit"].detail["fit_gap"] >= FIT_GAP > 0.05 > good.metrics["train_fit"].detail["fit_gap"]
    assert [e.split(":")[0] for e in r.verdict.evidence] == ["heldout_trend", "train_fit"]
    fewer = [s for s in r.verdict.suggestions if s.retrain_with and "steps" in s.retrain_with]
    assert fewer and int(fewer[0].retrain_with["steps"]) == trend.detail["best_step"]
    assert all(s.confirm for s in r.verdict.suggestions)


def test_every_kept_checkpoint_is_scored_and_the_best_exported(trained, tmp_path):
    _, reports = trained
    r = reports["overfit"]
    assert [c.step for c in r.checkpoints] == [160, 200, 240]
    assert all(math.isfinite(c.holdout_loss) and c.memorisation is not None for c in r.checkpoints)
    best = min(r.checkpoints, key=lambda c: c.holdout_loss)
    assert r.best_checkpoint == best.step and best.recommended and not best.final
    out = export_best(r, tmp_path / "best.safetensors")
    with safe_open(str(out), "pt") as f:
        assert f.metadata()["loraport.checkpoint_step"] == str(best.step)
        assert all(k.startswith("diffusion_model.") for k in f.keys())


@pytest.mark.parametrize("damage", ["nan", "zero"])
def test_lora_with_nan_or_all_zero_weights_is_broken_and_advised_a_lower_learning_rate(trained, tmp_path, damage):
    runs, _ = trained
    state = load_file(str(runs["good"] / "lora.safetensors"))
    with safe_open(str(runs["good"] / "lora.safetensors"), "pt") as f:
        meta = f.metadata()
    b_keys = [k for k in state if ".lora_B." in k]
    if damage == "nan":
        state[b_keys[0]][0, 0] = float("nan")
    else:  # every up matrix zero: the LoRA "does nothing" (docs/ltx.md, "Failures users meet")
        for key in b_keys:
            state[key].zero_()
    bad = tmp_path / f"{damage}.safetensors"
    save_file(state, str(bad), metadata=meta)
    dataset = json.loads((runs["good"] / "config.json").read_text())["data"]["dataset_dir"]
    r = evaluate(bad, dataset, out_dir=tmp_path / "eval")
    assert r.verdict.status == "broken"
    assert any(e.startswith("weight_health:") for e in r.verdict.evidence)
    assert r.metrics["strength"].skipped  # no renders of broken weights
    assert suggest(r)[0].retrain_with == {"learning_rate": "-50%"}


def test_verdicts_follow_the_metrics_not_the_step_labels(trained, tmp_path):
    runs, reports = trained
    # The short run's folder relabelled as the long run: same weights, same curves, 240 "steps".
    fake = tmp_path / "relabelled"
    shutil.copytree(runs["weak"], fake)
    rep = json.loads((fake / "report.json").read_text())
    rep["steps"] = rep["total_steps"] = OVERFIT_STEPS
    (fake / "report.json").write_text(json.dumps(rep))
    cfg = json.loads((fake / "config.json").read_text())
    cfg["optim"]["steps"] = OVERFIT_STEPS
    (fake / "config.json").write_text(json.dumps(cfg))
    relabelled = evaluate(fake, checkpoints=False, out_dir=tmp_path / "eval", n_new=1)
    assert relabelled.steps == OVERFIT_STEPS and relabelled.verdict.status == "weak"
    # And the other way round: the over-fit run's report says 3 steps, the good one's 240.
    for name, label in (("overfit", 10), ("good", OVERFIT_STEPS), ("weak", OVERFIT_STEPS)):
        swapped = reports[name].model_copy(update={"steps": label})
        assert decide(swapped).status == reports[name].verdict.status


def test_weak_long_run_is_advised_a_higher_rank_first(trained):
    _, reports = trained
    r = reports["weak"].model_copy(update={"steps": 5000})
    advice = decide(r).suggestions
    assert advice[0].retrain_with == {"rank": "16"} and advice[1].retrain_with == {"steps": "+20%"}


def test_report_files_hold_the_verdict_samples_and_meanings(trained):
    _, reports = trained
    r = reports["good"]
    data = json.loads(open(r.report_json).read())
    assert data["verdict"]["status"] == "good"
    assert all(m["meaning"] for m in data["metrics"].values())
    adherence = data["metrics"]["prompt_adherence"]
    assert adherence["skipped"] is None and -1 <= adherence["value"] <= 1 and adherence["base"] is not None
    assert "CLIP" in reports["weak"].metrics["prompt_adherence"].skipped  # not configured there: says so
    assert "Face" in data["metrics"]["identity_similarity"]["skipped"]
    kinds = [p["kind"] for p in data["prompts"]]
    assert kinds[0] == "train" and kinds.count("new") == 2
    assert all(p["text"].startswith("sks ") for p in data["prompts"] if p["kind"] == "new")
    page = open(r.report_html).read()
    assert "Verdict: <b>good</b>" in page and page.count("data:image/png;base64,") >= 1 + 2 * len(r.samples)
    assert "<video" in page
    assert r.summary.startswith("lora.safetensors looks good.") and "Tiny demo model" in r.summary
