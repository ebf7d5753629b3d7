"""The audio branch: the tiny model's audio VAE and vocoder, a clip's sound -> audio tokens, hostile sound."""

import pytest
import torch


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
