"""Try before retraining: a LoRA as it is on another base, beside that base alone, with a verdict and evidence."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from cli.main import main
from tests.trainer.train_utils import concept_dataset, tiny_config
from tools.evaluate.asis import KEEP_SHARE, WORKS_IMPROVEMENT, decide_as_is, evaluate_as_is, own_model
from tools.evaluate.models import EvalReport, Metric, Verdict


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """A LoRA trained on tiny-ltx-2.3 and one on tiny-ltx-2.5, on the same concept clips."""
    from trainer.train import run_training

    root = tmp_path_factory.mktemp("asis")
    data = concept_dataset(root / "clips", n=6)
    out = {"data": data}
    for model in ("tiny-ltx-2.3", "tiny-ltx-2.5"):
        cfg = tiny_config(data, steps=60, model={"id": model}, lora={"rank": 8, "alpha": 8})
        out[model] = run_training(cfg, root / f"run-{model}").lora_path
    return out


@pytest.mark.slow  # trains two tiny LoRAs once, renders with and without them
def test_23_lora_as_is_on_25_renders_beside_the_base_and_gives_a_verdict_with_evidence(runs, tmp_path):
    r = evaluate_as_is(runs["tiny-ltx-2.3"], runs["data"], model="tiny-ltx-2.5", out_dir=tmp_path / "ev")
    assert (r.trained_on, r.target, r.old_model) == ("ltx-2.3", "tiny-ltx-2.5", "tiny-ltx-2.3")
    assert r.verdict in ("works", "retrain") and r.headline in ("it still works: no retrain needed", "retrain")
    assert r.evaluation.model_id == "tiny-ltx-2.5"
    samples = r.evaluation.samples
    assert samples and all(Path(s.base_mp4).is_file() and Path(s.lora_mp4).is_file() for s in samples)
    assert {s.seed for s in samples} == {42}  # with and without at the same seed, prompt by prompt
    assert any(e.startswith("holdout_loss on tiny-ltx-2.5") for e in r.evidence)
    assert any(e.startswith("strength on tiny-ltx-2.5") for e in r.evidence)
    assert r.old_improvement is not None and any("on its own model tiny-ltx-2.3" in e for e in r.evidence)
    cmp = r.evaluation.comparison  # old-on-old renders, same prompts and seeds
    assert cmp.done and cmp.old_model == "tiny-ltx-2.3" and len(cmp.pairs) == len(samples)
    assert all(Path(p["old_mp4"]).is_file() for p in cmp.pairs)
    # the verdict follows the measurements: works exactly when all three bars are cleared
    clears = (r.improvement >= WORKS_IMPROVEMENT and r.strength >= 0.01
              and (r.old_improvement <= 0 or r.improvement >= KEEP_SHARE * r.old_improvement))
    assert (r.verdict == "works") == clears


@pytest.mark.slow  # trains two tiny LoRAs once, renders with and without them
def test_a_lora_that_learned_its_own_model_still_works_there_and_a_zeroed_one_does_not(runs, tmp_path):
    native = evaluate_as_is(runs["tiny-ltx-2.5"], runs["data"], model="tiny-ltx-2.5", out_dir=tmp_path / "a")
    assert native.old_model is None and native.improvement > WORKS_IMPROVEMENT
    assert native.verdict == "works" and native.headline == "it still works: no retrain needed"
    zeroed = tmp_path / "zero.safetensors"
    tensors = {k: (torch.zeros_like(v) if ".lora_B." in k else v) for k, v in load_file(runs["tiny-ltx-2.5"]).items()}
    from safetensors import safe_open

    with safe_open(str(runs["tiny-ltx-2.5"]), "pt") as f:
        save_file(tensors, zeroed, metadata=f.metadata())
    dead = evaluate_as_is(zeroed, runs["data"], model="tiny-ltx-2.5", out_dir=tmp_path / "b")
    assert dead.verdict == "retrain" and any("broken" in e or "below" in e for e in dead.evidence)


@pytest.mark.slow  # trains two tiny LoRAs once, renders with and without them
def test_cli_evaluate_as_is_prints_the_verdict_and_the_renders(runs, capsys, tmp_path):
    with pytest.raises(SystemExit) as done:
        main(["evaluate", str(runs["tiny-ltx-2.3"]), "--dataset", str(runs["data"]), "--model", "tiny-ltx-2.5",
              "--as-is", "--out", str(tmp_path / "cli"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert done.value.code == 0 and out["verdict"] in ("works", "retrain") and out["evidence"]
    assert out["evaluation"]["samples"][0]["base_mp4"] and out["evaluation"]["samples"][0]["lora_mp4"]


def _report(improvement: float | None, strength: float | None) -> EvalReport:
    detail = {"improvement": improvement} if improvement is not None else {}
    metrics = {"weight_health": Metric(name="weight_health", meaning="", value="ok"),
               "holdout_loss": Metric(name="holdout_loss", meaning="", value=1.0, detail=detail,
                                      skipped=None if improvement is not None else "no clip"),
               "train_fit": Metric(name="train_fit", meaning="", skipped="no clip"),
               "strength": Metric(name="strength", meaning="", value=strength)}
    return EvalReport(lora_path="x", model_id="ltx-2.5", out_dir="o", metrics=metrics,
                      verdict=Verdict(status="good", evidence=[]))


def _found(ic: bool = False, status: str = "test-first"):
    from tools.inspect.report import BaseModelInfo

    class Found:  # the InspectReport fields decide_as_is reads
        base_model = BaseModelInfo(family="ltx-2.3", confidence=1.0)
        health = type("H", (), {"status": "ok"})()
        verdict = type("V", (), {"status": status})()
        ic_lora = {"reference_downscale_factor": 1.0} if ic else None
    return Found()


def test_as_is_rule_each_bar_and_the_ic_lora_exception():
    assert decide_as_is(_found(), _report(0.30, 0.05), None, None)[0] == "works"
    assert decide_as_is(_found(), _report(0.05, 0.05), None, None)[0] == "retrain"  # loss barely moves
    assert decide_as_is(_found(), _report(0.30, 0.001), None, None)[0] == "retrain"  # renders barely change
    assert decide_as_is(_found(), _report(0.20, 0.05), 0.60, "ltx-2.3")[0] == "retrain"  # kept a third of it
    assert decide_as_is(_found(), _report(0.40, 0.05), 0.60, "ltx-2.3")[0] == "works"
    verdict, evidence = decide_as_is(_found(ic=True), _report(0.30, 0.05), None, None)
    assert verdict == "retrain" and any("IC-LoRA" in e for e in evidence)
    assert decide_as_is(_found(), _report(None, 0.05), None, None)[0] == "undecided"


def test_own_model_is_the_tiny_twin_on_a_tiny_target_and_none_when_native():
    assert own_model("ltx-2.3", None, "tiny-ltx-2.5") == "tiny-ltx-2.3"
    assert own_model("ltx-2.3", None, "ltx-2.5") == "ltx-2.3"
    assert own_model("ltx-2.5", "tiny", "tiny-ltx-2.5") is None
    assert own_model("wan", None, "ltx-2.5") is None


@pytest.mark.slow  # trains two tiny LoRAs once, renders with and without them
def test_as_is_reads_the_lora_files_header_once(runs, tmp_path, monkeypatch):
    import shutil

    from tools.inspect import inspector, safetensors_header

    # a file from elsewhere: its run config comes from its metadata, and the old model is measured too, so the
    # inspection, both run configs and the weight health each need the header: one read serves them all
    lora = Path(shutil.copy(runs["tiny-ltx-2.3"], tmp_path / "old.safetensors"))
    reads, real = [], safetensors_header.read_header

    def counting(path):
        reads.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(safetensors_header, "read_header", counting)
    monkeypatch.setattr(inspector, "read_header", counting)
    r = evaluate_as_is(lora, runs["data"], model="tiny-ltx-2.5", out_dir=tmp_path / "ev")
    assert r.old_model == "tiny-ltx-2.3" and r.old_improvement is not None
    assert r.evaluation.metrics["weight_health"].value == "ok"
    assert reads == ["old.safetensors"]
