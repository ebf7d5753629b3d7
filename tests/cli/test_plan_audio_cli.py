"""`loraport plan --from-lora` of an LTX-2 audio+video LoRA: audio on with the reason; a silent dataset warned."""

import json

import pytest
from typer.testing import CliRunner

from cli.main import build_app
from tests.tools.lora_factory import ltx2_metadata, make_ltx2_lora
from tests.trainer.audio_clips import make_av_clip
from tests.trainer.clips import make_clip


def _plan(tmp_path, folder, *extra):
    old = make_ltx2_lora(tmp_path / "ltx-2-19b-voice.safetensors", rank=2, metadata=ltx2_metadata(), n_blocks=2)
    result = CliRunner().invoke(build_app(), ["plan", "--recipe", "character", "--dataset", str(folder),
                                              "--from-lora", str(old), "--set", "steps=30", *extra])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.slow
def test_plan_from_an_audio_video_lora_turns_audio_on_with_the_reason(tmp_path):
    for i in range(3):
        make_av_clip(tmp_path / "clips" / f"c{i}.mp4", size=(96, 64), hz=250 + 60 * i)
    doc = json.loads(_plan(tmp_path, tmp_path / "clips", "--json"))
    audio = doc["settings"]["audio"]
    assert audio["value"] == "on" and audio["source"] == "old_lora" and "voice or a sound" in audio["explanation"]
    assert doc["config"]["data"]["audio"] == "on" and doc["config"]["lora"]["video_only"] is False
    text = _plan(tmp_path, tmp_path / "clips")
    assert "audio" in text and "old_lora" in text
    off = json.loads(_plan(tmp_path, tmp_path / "clips", "--set", "audio=off", "--json"))
    assert off["config"]["data"]["audio"] == "off" and any("come back mute" in w for w in off["warnings"])


@pytest.mark.slow
def test_a_silent_dataset_for_an_audio_lora_is_warned_before_anything_runs(tmp_path):
    for i in range(3):
        make_clip(tmp_path / "mute" / f"c{i}.mp4", size=(96, 64))
    doc = json.loads(_plan(tmp_path, tmp_path / "mute", "--json"))
    assert doc["config"]["data"]["audio"] == "off"
    assert any("none of the clips has a sound track" in w for w in doc["warnings"])
