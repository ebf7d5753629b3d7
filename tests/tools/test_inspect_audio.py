"""The inspector tells a LoRA that learned a voice or sound (audio-branch B non-zero) from one whose audio layers
were never trained (B = 0, peft's init), and says so."""

from safetensors.torch import load_file, save_file

from tests.tools.lora_factory import ltx2_metadata, make_ltx2_lora
from tools.inspect import inspect_lora


def _zero_audio_b(path):
    state = load_file(path)
    for key in state:
        if "lora_B" in key and any(f".{f}." in key for f in ("audio_attn1", "audio_attn2", "audio_to_video_attn",
                                                              "video_to_audio_attn")):
            state[key] = state[key] * 0
    save_file(state, path, metadata=ltx2_metadata())
    return path


def test_trained_audio_branch_is_reported(tmp_path):
    report = inspect_lora(make_ltx2_lora(tmp_path / "voice.safetensors", metadata=ltx2_metadata(), n_blocks=2))
    assert report.modality == "audio+video" and report.audio_trained is True
    assert report.health.audio_B_layers == report.health.audio_trained_B_layers == 2 * 4 * 4
    assert "it learned a voice or sound" in report.summary()
    assert report.model_dump(mode="json")["audio_trained"] is True


def test_untrained_audio_layers_read_as_video_only(tmp_path):
    path = _zero_audio_b(make_ltx2_lora(tmp_path / "mute.safetensors", metadata=ltx2_metadata(), n_blocks=2))
    report = inspect_lora(path)
    assert report.modality == "audio+video" and report.audio_trained is False
    assert report.health.audio_trained_B_layers == 0 and "sound not trained" in report.summary()


def test_video_only_or_header_only_says_nothing_about_sound(tmp_path):
    video = make_ltx2_lora(tmp_path / "v.safetensors", audio=False, metadata=ltx2_metadata(), n_blocks=2)
    assert inspect_lora(video).audio_trained is None
    both = make_ltx2_lora(tmp_path / "b.safetensors", metadata=ltx2_metadata(), n_blocks=2)
    assert inspect_lora(both, header_only=True).audio_trained is None  # weights not read: cannot tell
