"""Evaluation of an IC-LoRA judges reference-following: held-out pairs rendered from their references with and
without the LoRA, held-out loss given the reference, similarity to the reference (and which measure), and advice
that speaks of the reference."""

import numpy as np
import pytest

from tests.tools.evaluate_runs import tiny_clip
from tests.trainer.train_utils import concept_dataset, tiny_config
from tools.evaluate import reference as IC
from tools.evaluate.models import EvalReport, Metric, Suggestion, Verdict


@pytest.fixture(scope="module")
def ic_report(tmp_path_factory):
    from tools.evaluate import evaluate
    from trainer.train import run_training

    root = tmp_path_factory.mktemp("ic-eval")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LORAPORT_HOME", str(root / "home"))
        ds = concept_dataset(root / "ds", n=5, ref=True)
        cfg = tiny_config(ds, steps=4, strategy={"name": "ic-lora"}, recipe="face",
                          data={"holdout_fraction": 0.25, "trigger_word": "zxface"})
        run = run_training(cfg, root / "run").run_dir
        return evaluate(run, checkpoints=False, out_dir=root / "eval", n_new=1)


@pytest.mark.slow  # trains and evaluates a tiny IC-LoRA (8 in-context renders): ~40 s on a shared 2-core CPU
def test_an_ic_lora_is_evaluated_on_following_its_reference(ic_report):
    r = ic_report
    assert [p.kind for p in r.prompts] == ["holdout", "new", "train"]
    assert all(p.reference and p.reference.endswith("_ref.mp4") for p in r.prompts)
    assert r.prompts[1].reference == r.prompts[0].reference  # new prompts take a held-out reference first
    for s in r.samples:  # each pair rendered from its reference, with and without the LoRA, shown beside it
        assert s.reference and s.base_beside_mp4.endswith("-beside-ref.mp4") and s.lora_beside_mp4
        assert s.reference_lora is not None and s.reference_base is not None
    assert "given their reference" in r.metrics["holdout_loss"].meaning and r.value("holdout_loss") is not None
    follow = r.metrics["reference_following"]
    assert not follow.skipped and follow.detail["measure"] == "pixel" and follow.base is not None
    assert "reference_following" in (r.report_html and open(r.report_html).read())
    assert r.metrics["identity_similarity"].skipped.startswith("an IC-LoRA is measured against")


def _report(value: float, base: float, status: str = "good", rank: int = 32) -> tuple[EvalReport, Verdict]:
    r = EvalReport(lora_path="x.safetensors", model_id="tiny-ltx-2.3", out_dir=".", rank=rank, steps=3000,
                   verdict=Verdict(status="good", evidence=[]))
    r.metrics["reference_following"] = Metric(name="reference_following", meaning="", value=value, base=base,
                                              detail={"measure_words": "pixel correlation"})
    weak_advice = [Suggestion(action="more", why="", confirm="", retrain_with={"steps": "+20%"})]
    return r, Verdict(status=status, evidence=["holdout_loss: ..."], suggestions=weak_advice if status == "weak" else [])


def test_copying_the_reference_is_too_literal_lower_rank_fewer_steps():
    r, v = _report(0.97, 0.40)
    out = IC.judge_reference(r, v)
    assert out.status == "over-fit" and "pastes the reference" in out.evidence[0]
    assert [s.retrain_with for s in out.suggestions] == [{"rank": "16"}, {"steps": "-30%"}]


def test_a_lora_no_closer_to_the_reference_than_the_base_ignores_it_more_steps():
    r, v = _report(0.30, 0.35, status="weak")
    out = IC.judge_reference(r, v)
    assert out.status == "weak" and "ignores the reference" in out.evidence[-1]
    assert [s.retrain_with for s in out.suggestions] == [{"steps": "+20%"}]  # one more-steps suggestion, reworded
    assert "reading the reference" in out.suggestions[0].action
    good, v = _report(0.6, 0.4)
    assert IC.judge_reference(good, v) == v  # follows it, copies nothing: the verdict stands


def test_the_measure_is_clip_when_configured_and_pixel_otherwise(tmp_path):
    name, sim, note = IC.pick_measure(None, None)
    assert name == "pixel" and note is None
    clip = np.random.default_rng(0).integers(0, 256, (9, 32, 32, 3), dtype=np.uint8)
    assert sim(clip, clip) == pytest.approx(1.0, abs=1e-5)
    name, sim, _ = IC.pick_measure(str(tiny_clip(tmp_path / "clip")), None)
    other = np.random.default_rng(1).integers(0, 256, (9, 32, 32, 3), dtype=np.uint8)
    assert name == "clip" and sim(clip, clip) == pytest.approx(1.0, abs=1e-5) and sim(clip, other) < 1.0
    name, _, note = IC.pick_measure(None, str(tmp_path / "no-face-pack"))
    assert name == "pixel" and "face model" in note  # never downloads a face model: falls back and says why


def test_an_ic_lora_made_elsewhere_is_evaluated_as_one(tmp_path):
    """A file with only ltx-trainer's keys (no loraport metadata) is still judged on its references."""
    import torch
    from safetensors.torch import save_file

    from tools.evaluate.source import _config_from_metadata

    ic = tmp_path / "ltx_trainer_ic.safetensors"
    save_file({"x": torch.zeros(1)}, str(ic), metadata={"reference_downscale_factor": "1"})
    plain = tmp_path / "plain.safetensors"
    save_file({"x": torch.zeros(1)}, str(plain))
    (tmp_path / "ds").mkdir()
    assert _config_from_metadata(ic, tmp_path / "ds").strategy.name == "ic-lora"
    assert _config_from_metadata(plain, tmp_path / "ds").strategy.name == "text-to-video"
