"""The sidekick offers the sound: the guided plan review says why audio is on and how to turn it off; "audio
off" / "turn the audio on" are setting changes."""

import pytest

from agent.brains.parse import parse
from tests.tools.test_plan_audio import clips, real, voice_report


@pytest.mark.slow
def test_the_guided_plan_review_offers_turning_the_sound_off_with_the_reason(tmp_path):
    from agent.brains.guided import plan_text

    p = real("character", clips(12, with_sound=12), old_lora=voice_report(tmp_path))
    state = {"config": p.config.model_dump(mode="json"), "plan": p.model_dump(mode="json"), "recipe": "character"}
    text = plan_text(state)
    assert "Sound: Your old LoRA's audio layers were trained" in text and "Say 'audio off'" in text


def test_audio_on_and_off_are_setting_changes():
    for text, value in (("audio off", "off"), ("turn the audio on", "on"), ("set audio=required", "required")):
        (intent,) = parse(text)
        assert intent.tool == "set_option" and intent.args == {"changes": {"audio": value}}, text
