"""The plan and sound: an old LoRA that learned a voice turns audio on, with the reason; a dataset without sound
for it is warned about before anything runs; audio=on|off from the user; a sound recipe needs sound."""

import pytest

from tests.tools.lora_factory import ltx2_metadata, make_ltx2_lora
from tests.tools.test_plan import CPU, H100, real
from tools.inspect import inspect_lora
from tools.plan.inputs import DatasetFacts, MediaFacts
from tools.plan.service import plan


def clips(n: int, with_sound: int) -> DatasetFacts:
    files = [MediaFacts(name=f"c{i}.mp4", kind="video", width=1280, height=720, frames=121, duration_s=5.0,
                        has_audio=i < with_sound) for i in range(n)]
    return DatasetFacts(path="/data/set", n_videos=n, files=files)


def voice_report(tmp_path, trained=True) -> dict:
    """The inspection of an LTX-2 audio+video LoRA, as the agent keeps it (JSON)."""
    path = make_ltx2_lora(tmp_path / "ltx-2-19b-voice.safetensors", metadata=ltx2_metadata(), n_blocks=2)
    report = inspect_lora(path).model_dump(mode="json")
    report["audio_trained"] = trained
    return report


def test_plan_from_an_audio_video_lora_turns_audio_on_with_the_reason(tmp_path):
    report = voice_report(tmp_path)
    assert report["modality"] == "audio+video" and report["audio_trained"] is True
    p = real("character", clips(12, with_sound=12), old_lora=report)
    audio = p.settings["audio"]
    assert (audio.value, audio.source) == ("on", "old_lora") and "learned a voice or a sound" in audio.explanation
    assert p.config.data.audio == "on" and p.config.lora.video_only is False
    assert p.settings["video_only"].value is False and "six attention families" in p.settings["video_only"].explanation
    assert not any("mute" in w for w in p.warnings)


@pytest.mark.slow
def test_a_dataset_without_sound_for_an_audio_lora_is_warned_about_before_anything_runs(tmp_path):
    p = real("character", clips(8, with_sound=0), old_lora=voice_report(tmp_path))
    assert p.config.data.audio == "off"
    assert any("come back mute" in w and "none of the clips has a sound track" in w for w in p.warnings)


def test_untrained_audio_layers_leave_audio_off(tmp_path):
    p = real("character", clips(8, with_sound=8), old_lora=voice_report(tmp_path, trained=False))
    assert p.config.data.audio == "off" and p.settings["audio"].source == "recipe"


def test_user_turns_audio_on_and_off():
    on = plan("character", clips(6, with_sound=4), hardware=CPU, overrides={"audio": "on"}, calibrate=False)
    assert on.config.data.audio == "on" and not on.config.lora.video_only and on.settings["audio"].source == "user"
    assert any("2 of 6 clips have no sound track" in w for w in on.warnings)
    off = real("character", clips(6, with_sound=6), old_lora={"audio_trained": True, "base_model": {}},
               overrides={"audio": "off"})
    assert off.config.data.audio == "off" and off.config.lora.video_only
    assert any("come back mute" in w for w in off.warnings)


def test_audio_on_without_any_sound_says_so_and_required_is_not_ready():
    p = plan("character", clips(4, with_sound=0), hardware=H100, overrides={"audio": "required"}, calibrate=False)
    assert not p.ready and any("none of the 4 clips has a sound track" in w for w in p.warnings)


@pytest.mark.slow
def test_the_memory_model_counts_audio_tokens_when_the_sound_trains():
    from tools.plan.memory import Techniques, audio_tokens, predict

    assert audio_tokens(121) == 126 and audio_tokens(49) == 51  # 25 a second at 24 fps
    targets = ("to_q", "to_k", "to_v", "to_out.0")
    video = predict("ltx-2.3", (768, 512, 121), 32, targets, True, Techniques(), 80)
    both = predict("ltx-2.3", (768, 512, 121), 32, targets, False, Techniques(), 80)
    assert both.phases["train"].parts["activations"] > video.phases["train"].parts["activations"]
    assert both.phases["train"].parts["LoRA + grads + optimizer"] > video.phases["train"].parts["LoRA + grads + optimizer"]



@pytest.mark.slow
def test_train_set_audio_on_and_off(tmp_path, workspace):
    from tests.trainer.audio_clips import make_av_clip
    from tools.train.config import build_config

    for i in range(3):
        make_av_clip(tmp_path / "clips" / f"c{i}.mp4")
    for recipe in ("none", "character"):  # `loraport train --recipe R --set audio=on|off`
        on = build_config(recipe, tmp_path / "clips", workspace=workspace, steps=10, sets={"audio": "on"})
        off = build_config(recipe, tmp_path / "clips", workspace=workspace, steps=10, sets={"audio": "off"})
        assert (on.data.audio, on.lora.video_only, off.data.audio, off.lora.video_only) == ("on", False, "off", True)


def test_a_dataset_whose_sound_is_unknown_is_not_called_silent(tmp_path):
    unknown = DatasetFacts(path="/d", n_videos=12, files=[MediaFacts(name=f"c{i}.mp4", kind="video", width=1280,
                                                                     height=720, frames=121) for i in range(12)])
    p = real("voice", unknown)
    assert p.ready and not any("sound track" in w for w in p.warnings)
    assert real("character", unknown, old_lora=voice_report(tmp_path)).config.data.audio == "on"
