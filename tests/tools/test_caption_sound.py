"""Captions that describe sound when the sound trains: the captioners are told, the template is silent-blind and
says so, the preview shows it."""

import pytest

from tests.tools.test_caption import _FakeMessages, fake_anthropic  # noqa: F401  (fixture)
from tests.trainer.audio_clips import make_av_clip
from tools.caption import caption_preview
from tools.caption.base import SOUND_INSTRUCTIONS
from tools.dataset import import_dataset


def _voice_clips(folder):
    for i in range(3):
        make_av_clip(folder / f"talk{i}.mp4", size=(64, 48), hz=200 + 50 * i)
    return import_dataset(folder)


def test_template_captions_are_marked_silent_blind(tmp_path):
    ds = _voice_clips(tmp_path / "src")
    plain = caption_preview(ds.id, backend="template", trigger_word="ohwx", recipe="character")
    assert not plain.sound and all(i.sound == "silent-blind" for i in plain.items)
    assert "SILENT-BLIND" in plain.note and "by hand" not in plain.note
    voice = caption_preview(ds.id, backend="template", trigger_word="ohwx", recipe="voice")
    assert voice.sound and all(i.sound == "silent-blind" and "with sound" in i.caption for i in voice.items)
    assert "SILENT-BLIND" in voice.note and "what is said (in quotes)" in voice.note


@pytest.mark.slow
def test_vision_captioners_are_asked_for_the_sound_only_when_it_trains(tmp_path, fake_anthropic):  # noqa: F811
    ds = _voice_clips(tmp_path / "src")
    fake_anthropic.reply_text = 'a man talks at a desk. He says "hello" over a soft hum.'
    voice = caption_preview(ds.id, backend="claude", n=1, recipe="voice")
    system = fake_anthropic.requests[-1]["body"]["system"]
    assert SOUND_INSTRUCTIONS in system and voice.sound and voice.items[0].sound == "from-frames"
    assert "no model heard it" in voice.note
    plain = caption_preview(ds.id, backend="claude", n=1, recipe="character")
    assert SOUND_INSTRUCTIONS not in fake_anthropic.requests[-1]["body"]["system"]
    assert plain.items[0].sound is None and "sound" not in plain.note.lower()
