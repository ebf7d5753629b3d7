"""The audio branch: the tiny model's audio VAE and vocoder, a clip's sound -> audio tokens, hostile sound."""

import numpy as np
import pytest
import torch

from core.errors import LoraportError
from tests.trainer.audio_clips import make_av_clip
from tests.trainer.clips import make_clip, make_image
from trainer.audio import decode_audio, encode_audio, log_mel


@pytest.fixture(scope="module")
def components():
    from trainer.config import ModelConfig
    from trainer.models import load_components

    return load_components(ModelConfig())


def test_tiny_audio_vae_and_vocoder_round_trip_at_the_real_rates(components):
    vae, vocoder = components.audio_vae, components.vocoder
    assert (vae.config.sample_rate, vae.config.mel_hop_length) == (16000, 160)  # 100 mel frames a second
    mel = torch.randn(1, 2, 101, vae.config.mel_bins)  # ~1 s of log-mel
    with torch.no_grad():
        z = vae.encode(mel).latent_dist.mode()
        assert z.shape == (1, 2, 26, 2)  # 4x in time (25 latent frames a second) and in mel, like the real VAE
        # packed features per token = the transformer's audio_in_channels = the latent statistics' length
        assert z.shape[1] * z.shape[3] == components.transformer.config.audio_in_channels == vae.latents_mean.numel()
        wave = vocoder(vae.decode(z).sample)
    assert wave.shape == (1, 2, 101 * 160)  # one hop of 16 kHz stereo per mel frame
    assert torch.isfinite(wave).all()


def test_log_mel_puts_a_tone_in_the_bin_of_its_frequency():
    t = np.arange(16000) / 16000
    low, high = (np.stack([0.5 * np.sin(2 * np.pi * hz * t)] * 2) for hz in (300, 5000))
    m_low, m_high = (log_mel(w, 16000, 160, 8).mean(axis=1)[0] for w in (low, high))  # (8,) per mel bin
    assert m_low.argmax() < m_high.argmax()
    silence = log_mel(np.zeros((2, 16000)), 16000, 160, 8)
    assert silence.shape == (2, 101, 8) and np.allclose(silence, np.log(1e-5))  # log(max(mel, 1e-5))


@pytest.mark.parametrize("layout, rate", [("mono", 8000), ("stereo", 44100), ("5.1", 48000), ("stereo", 96000)])
def test_any_layout_and_rate_becomes_stereo_at_the_vaes_rate(tmp_path, layout, rate, components):
    clip = make_av_clip(tmp_path / "c.mp4", frames=17, fps=24, layout=layout, rate=rate)
    track = decode_audio(clip, 17 / 24, 16000)
    assert track.waveform.shape == (2, round(17 / 24 * 16000)) and track.source_rate == rate
    assert 0.2 < np.abs(track.waveform).max() <= 1.0 and not track.silent  # folded in without clipping
    tokens = encode_audio(components.audio_vae, track)
    assert tokens.shape == (18, 4) and torch.isfinite(tokens).all()  # 0.71 s -> 71 mel frames -> 18 latents


def test_sound_shorter_or_longer_than_the_frames_covers_exactly_the_trained_seconds(tmp_path):
    short = decode_audio(make_av_clip(tmp_path / "s.mp4", seconds=0.3), 17 / 24, 16000)
    long = decode_audio(make_av_clip(tmp_path / "l.mp4", seconds=4.0), 17 / 24, 16000)
    assert short.waveform.shape == long.waveform.shape == (2, 11333)
    assert short.covered_s == pytest.approx(0.3, abs=0.05) and long.covered_s == pytest.approx(17 / 24, abs=1e-3)
    assert np.abs(short.waveform[:, 6000:]).max() == 0  # padded with silence after the sound ends


def test_no_sound_silence_and_a_corrupt_track(tmp_path):
    assert decode_audio(make_clip(tmp_path / "n.mp4"), 0.7, 16000) is None
    assert decode_audio(make_av_clip(tmp_path / "q.mp4", amplitude=0.0), 0.7, 16000).silent
    with pytest.raises(LoraportError, match="x.mp4: its sound track could not be decoded"):
        decode_audio(make_av_clip(tmp_path / "x.mp4", corrupt_audio=True), 0.7, 16000)


def _config(folder, audio: str):
    from trainer.config import TrainConfig

    return TrainConfig.model_validate({"data": {"dataset_dir": str(folder), "audio": audio, "holdout_fraction": 0,
                                                "buckets": [{"width": 64, "height": 64, "frames": 17}]}})


@pytest.fixture
def mixed(tmp_path):
    """Every kind of sound a dataset can bring, good and bad."""
    d = tmp_path / "ds"
    make_av_clip(d / "voice.mp4", hz=300)
    make_av_clip(d / "mono.mp4", layout="mono", rate=8000)
    make_av_clip(d / "short.mp4", seconds=0.3)
    make_clip(d / "mute.mp4")
    make_av_clip(d / "quiet.mp4", amplitude=0.0)
    make_av_clip(d / "broken.mp4", corrupt_audio=True)
    make_image(d / "still.png")
    return d


@pytest.mark.slow
def test_audio_run_trains_sound_where_there_is_some_and_lists_the_rest(mixed, components, tmp_path):
    from trainer.data import prepare_dataset

    cfg = _config(mixed, "on")
    ds = prepare_dataset(cfg, components, cache_dir=tmp_path / "cache")
    items = {i.media: i for i in ds.train}
    assert len(items) == 7 and not ds.errors  # nothing lost: every file trains, with or without its sound
    assert {m for m, i in items.items() if i.audio_latents is not None} == {"voice.mp4", "mono.mp4", "short.mp4"}
    assert items["voice.mp4"].audio_latents.shape == (18, 4) and items["voice.mp4"].bucket_key == (3, 8, 8, 18)
    why = {e.media: e.message for e in ds.without_sound}
    assert set(why) == {"mute.mp4", "quiet.mp4", "broken.mp4", "still.png"}
    assert "no sound track" in why["mute.mp4"] and "silent" in why["quiet.mp4"]
    assert "could not be decoded" in why["broken.mp4"] and all(m.startswith("trained video-only") for m in why.values())
    assert [e.media for e in ds.audio_notes] == ["short.mp4"] and "padded with silence" in ds.audio_notes[0].message
    assert ds.stats["encoded_audio"] == 3
    again = prepare_dataset(cfg, components, cache_dir=tmp_path / "cache")
    assert again.stats["encoded_audio"] == again.stats["encoded_latents"] == 0 and again.stats["cached_audio"] == 3
    assert torch.equal(again.train[0].latents, ds.train[0].latents) and again.audio_notes == ds.audio_notes
    assert again.dataset_hash == ds.dataset_hash != prepare_dataset(_config(mixed, "off"), components,
                                                                    cache_dir=tmp_path / "cache").dataset_hash


@pytest.mark.slow
def test_a_recipe_that_needs_sound_refuses_clips_without_it_plainly(mixed, components, tmp_path):
    from trainer.data import prepare_dataset

    ds = prepare_dataset(_config(mixed, "required"), components, cache_dir=tmp_path / "cache")
    assert {i.media for i in ds.train} == {"voice.mp4", "mono.mp4", "short.mp4"}
    errors = {e.media: e.message for e in ds.errors}
    assert set(errors) == {"mute.mp4", "quiet.mp4", "broken.mp4", "still.png"}
    assert all("this recipe trains sound" in m for m in errors.values())


@pytest.mark.slow
def test_a_dataset_without_any_sound_cannot_train_a_sound_recipe(tmp_path, components):
    from trainer.data import prepare_dataset

    make_clip(tmp_path / "ds" / "a.mp4")
    with pytest.raises(LoraportError, match="no sound track, and this recipe trains sound"):
        prepare_dataset(_config(tmp_path / "ds", "required"), components, cache_dir=tmp_path / "cache")


@pytest.mark.slow
def test_video_only_runs_never_touch_the_sound(mixed, components, tmp_path):
    from trainer.data import prepare_dataset

    ds = prepare_dataset(_config(mixed, "off"), components, cache_dir=tmp_path / "cache")
    assert all(i.audio_latents is None for i in ds.train) and not ds.without_sound
    assert ds.stats["encoded_audio"] == 0 and ds.train[0].bucket_key == (3, 8, 8)


def test_audio_setting_words_and_its_cross_checks():
    from trainer.config import TrainConfig

    base = {"dataset_dir": "/x"}
    on = TrainConfig.model_validate({"data": {**base, "audio": True}})
    assert on.data.audio == "on" and not on.lora.video_only  # the LoRA then covers all six attention families
    assert TrainConfig.model_validate({"data": {**base, "audio": False}}).data.audio == "off"
    # `--set audio=on` over a config that says video_only = true: the sound needs the audio branch
    assert not TrainConfig.model_validate({"data": {**base, "audio": "on"}, "lora": {"video_only": True}}).lora.video_only
    with pytest.raises(ValueError, match="audio = off"):
        TrainConfig.model_validate({"data": {**base, "audio": "on"}, "strategy": {"name": "ic-lora"},
                                    "lora": {"video_only": False}})


def _audio_item(components, tmp_path, name="v.mp4", **kw):
    from trainer.data import prepare_dataset

    make_av_clip(tmp_path / "one" / name, **kw)
    return prepare_dataset(_config(tmp_path / "one", "on"), components, cache_dir=tmp_path / "c").train[0]


def test_joint_loss_noises_audio_like_the_video_and_trains_all_six_attention_families(components, tmp_path):
    import copy

    from trainer.batches import collate
    from trainer.config import LoraConfig
    from trainer.lora import add_lora
    from trainer.strategies import TextToVideo, predict

    item = _audio_item(components, tmp_path)
    transformer = copy.deepcopy(components.transformer)
    add_lora(transformer, LoraConfig(rank=4, alpha=4, video_only=False))
    with torch.no_grad():  # B != 0 so that every LoRA matrix gets a gradient
        for name, p in transformer.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.01)
    strategy = TextToVideo(transformer)
    inputs = strategy.prepare_inputs(collate([item]), torch.Generator().manual_seed(0), sigma=torch.tensor([0.3]))
    assert inputs.with_audio and inputs.audio_tokens.shape == (1, 18, 4)
    assert torch.all(inputs.audio_timesteps == inputs.sigma)  # the same noise level on every audio token
    x0 = item.audio_latents[None]
    noise = inputs.audio_targets + x0  # target = e - x0
    assert torch.allclose(inputs.audio_tokens, 0.7 * x0 + 0.3 * noise, atol=1e-5)
    pred = predict(transformer, inputs, components.spec.transformer_forward_kwargs)
    video, audio = strategy.modality_losses(pred, inputs)
    assert audio is not None and torch.allclose(strategy.compute_loss(pred, inputs), video + audio)
    strategy.compute_loss(pred, inputs).sum().backward()
    families = {n.split(".")[2] for n, p in transformer.named_parameters()
                if "lora_A" in n and p.grad is not None and p.grad.abs().sum() > 0}
    assert families == {"attn1", "attn2", "audio_attn1", "audio_attn2", "audio_to_video_attn", "video_to_audio_attn"}


def test_clips_without_sound_keep_the_video_only_forward(components, tmp_path):
    from trainer.batches import collate
    from trainer.strategies import TextToVideo, predict

    item = _audio_item(components, tmp_path)
    item.audio_latents = None
    strategy = TextToVideo(components.transformer)
    inputs = strategy.prepare_inputs(collate([item]), torch.Generator().manual_seed(0), sigma=torch.tensor([0.5]))
    assert not inputs.with_audio and inputs.audio_tokens.shape[1] == 1
    pred = predict(components.transformer, inputs, components.spec.transformer_forward_kwargs)
    assert isinstance(pred, torch.Tensor) and strategy.modality_losses(pred, inputs)[1] is None


def test_held_out_losses_split_by_modality(components, tmp_path):
    from trainer.losses import holdout_loss, holdout_losses

    item = _audio_item(components, tmp_path)
    split = holdout_losses(components, [item], n_timesteps=2)
    assert split.audio is not None and split.audio_items == 1
    assert split.total == pytest.approx(split.video + split.audio, rel=1e-5)
    assert holdout_loss(components, [item], n_timesteps=2) == pytest.approx(split.total)


def test_sound_is_encoded_in_float32_even_from_a_bf16_model(tmp_path):
    from trainer.audio import SoundPreparer
    from trainer.config import ModelConfig
    from trainer.models import load_components

    components = load_components(ModelConfig())
    components.audio_vae.to(torch.bfloat16)
    prep = SoundPreparer(_config(tmp_path, "on"), components, None, "key")
    assert next(prep.vae.parameters()).dtype == torch.float32  # a copy: the model's own VAE is left as it was
    assert next(components.audio_vae.parameters()).dtype == torch.bfloat16


@pytest.mark.slow
def test_the_real_ltx23_audio_vae_gives_128_feature_tokens_25_a_second():
    """The real LTX-2.3 audio VAE config (random weights): 64 mel bins -> 8 channels x 16 bins = 128 features a
    token, the real transformer's audio_in_channels; 2.04 s of sound -> 205 mel frames -> 52 tokens."""
    from diffusers import AutoencoderKLLTX2Audio

    from trainer.audio import AudioTrack
    from trainer.models.ltx2_configs import AUDIO_VAE_23

    torch.manual_seed(0)
    vae = AutoencoderKLLTX2Audio(**AUDIO_VAE_23).eval()
    n = round(49 / 24 * 16000)
    wave = np.random.default_rng(0).uniform(-0.3, 0.3, (2, n)).astype(np.float32)
    tokens = encode_audio(vae, AudioTrack(wave, 16000, 48000, 2, n / 16000, n / 16000))
    assert tokens.shape == (52, 128) and torch.isfinite(tokens).all()
