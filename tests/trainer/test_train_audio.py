"""A tiny audio+video run: the sound is learned (held-out audio loss falls), the export carries a trained audio
branch, and the validation sample plays with a sound track."""

import json

import av
import pytest
from safetensors.torch import load_file

from tests.trainer.audio_clips import make_av_clip
from tests.trainer.clips import make_clip
from tests.trainer.train_utils import tiny_config
from trainer.lora import AUDIO_FAMILIES
from trainer.train import run_training


def voice_dataset(root, n: int = 5, mute: int = 0):
    """n clips of one 'voice' (a 330 Hz tone over the moving-square picture), plus `mute` clips without sound."""
    for i in range(n):
        make_av_clip(root / f"clip{i}.mp4", color=(200, 60 + 15 * i, 40), hz=330, amplitude=0.4 + 0.05 * i)
        (root / f"clip{i}.txt").write_text("a white square moving over a red background, a low hum")
    for i in range(mute):
        make_clip(root / f"mute{i}.mp4", pattern="moving")
    return root


@pytest.mark.slow
def test_audio_video_run_learns_the_sound_and_exports_a_trained_audio_branch(tmp_path):
    cfg = tiny_config(voice_dataset(tmp_path / "ds", mute=1), steps=60, lora={"rank": 8, "alpha": 8},
                      data={"audio": "on"}, checkpoints={"every": 30},
                      validation={"every": 60, "prompts": ["a low hum"], "width": 64, "height": 64, "frames": 17,
                                  "inference_steps": 2})
    events = []
    result = run_training(cfg, tmp_path / "run", emit=events.append)
    print("audio holdout", result.holdout_audio_loss, "base", result.holdout_audio_loss_base)
    assert result.holdout_audio_loss < 0.9 * result.holdout_audio_loss_base
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["data"]["with_sound"] == 5 and [e["media"] for e in report["data"]["without_sound"]] == ["mute0.mp4"]
    assert [s for s, _ in report["holdout_audio_curve"]] == [30, 60]
    assert any("train the picture only" in (e.get("message") or "") for e in events)
    state = load_file(result.lora_path)
    for family in AUDIO_FAMILIES:
        b = [v for k, v in state.items() if f".{family}." in k and "lora_B" in k]
        assert b and all(float(t.float().norm()) > 0 for t in b), family
    from tools.inspect import inspect_lora  # noqa: PLC0415  (the surface users run on the export)

    inspected = inspect_lora(result.lora_path, target="tiny-ltx-2.3")
    assert inspected.metadata["loraport.audio"] == "on"
    assert inspected.modality == "audio+video" and inspected.audio_trained is True
    assert "sound trained" in inspected.summary()
    sample = next(e["path"] for e in events if e["type"] == "sample")
    with av.open(sample) as container:
        assert container.streams.audio and container.streams.audio[0].codec_context.name == "aac"
