"""Evaluation with sound: held-out audio loss with and without the LoRA, audio strength, and a verdict that names
the sound when the sound is what is weak."""

import av
import pytest

from tests.trainer.test_train_audio import voice_dataset
from tests.trainer.train_utils import tiny_config
from tools.evaluate.audio import judge_audio
from tools.evaluate.models import EvalReport, Metric, Suggestion, Verdict


def _report(audio_improvement: float, audio_strength: float | None = 0.001, status: str = "good") -> EvalReport:
    r = EvalReport(lora_path="x.safetensors", model_id="tiny-ltx-2.3", out_dir="/tmp", verdict=Verdict(
        status=status, evidence=["holdout_loss: 1.0 -> 0.7"], suggestions=[Suggestion(action="a", why="b",
                                                                                      confirm="c")]))
    r.metrics["holdout_audio_loss"] = Metric(name="holdout_audio_loss", meaning="m", value=1.0 - audio_improvement,
                                             base=1.0, detail={"improvement": audio_improvement})
    if audio_strength is not None:
        r.metrics["audio_strength"] = Metric(name="audio_strength", meaning="m", value=audio_strength)
    return r


def test_a_good_picture_with_a_barely_learned_sound_is_weak_and_the_advice_names_the_sound():
    r = _report(0.02)
    v = judge_audio(r, r.verdict)
    assert v.status == "weak" and v.evidence[0].startswith("holdout_audio_loss: the sound is what is weak")
    assert "who speaks and what is said" in v.suggestions[0].action
    assert v.suggestions[1].retrain_with == {"steps": "+30%"} and len(v.suggestions) == 3


def test_a_learned_sound_or_a_harmful_verdict_is_left_alone():
    for r in (_report(0.3), _report(0.02, audio_strength=0.05), _report(0.02, status="over-fit")):
        assert judge_audio(r, r.verdict) == r.verdict
    r = _report(0.3)
    r.metrics["holdout_audio_loss"].skipped, r.metrics["holdout_audio_loss"].value = "video-only run", None
    assert judge_audio(r, r.verdict) == r.verdict


@pytest.mark.slow
def test_evaluating_an_audio_video_run_measures_the_sound(tmp_path):
    from tools.evaluate import evaluate
    from trainer.train import run_training

    cfg = tiny_config(voice_dataset(tmp_path / "ds"), steps=40, lora={"rank": 8, "alpha": 8}, data={"audio": "on"},
                      checkpoints={"every": 40})
    result = run_training(cfg, tmp_path / "run")
    report = evaluate(result.run_dir, checkpoints=False, n_new=1, out_dir=tmp_path / "eval")
    audio = report.metrics["holdout_audio_loss"]
    assert not audio.skipped and audio.value < audio.base and audio.detail["improvement"] > 0
    assert audio.value == pytest.approx(result.holdout_audio_loss, rel=1e-3)  # the exported file, as users load it
    strength = report.metrics["audio_strength"]
    assert not strength.skipped and strength.value > 0 and all(s.audio_strength is not None for s in report.samples)
    with av.open(report.samples[0].lora_mp4) as container:
        assert container.streams.audio
