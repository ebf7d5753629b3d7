"""Latents shared between models only where the VAE encoder is provably the same: tiny-ltx-2.3 -> tiny-ltx-2.5
share them (2.5 reuses 2.3's encoder, and the twins are built alike), text embeddings are always re-encoded, and
an encoder that differs by one weight shares nothing."""

import pytest
import torch

from tests.trainer.clips import make_clip
from trainer import data
from trainer.config import ModelConfig, TrainConfig
from trainer.data import prepare_dataset
from trainer.latent_space import latent_space_key
from trainer.models import load_components


def _config(folder, model_id):
    return TrainConfig.model_validate({
        "model": {"id": model_id}, "data": {"dataset_dir": str(folder), "holdout_fraction": 0.0,
                                            "buckets": [{"width": 64, "height": 64, "frames": 17}]}})


@pytest.fixture
def counting(monkeypatch):
    calls = {"video": 0, "text": 0}
    enc_video, enc_text = data.encode_video, data.encode_prompts

    def video(*a, **k):
        calls["video"] += 1
        return enc_video(*a, **k)

    def text(*a, **k):
        calls["text"] += 1
        return enc_text(*a, **k)

    monkeypatch.setattr(data, "encode_video", video)
    monkeypatch.setattr(data, "encode_prompts", text)
    return calls


@pytest.mark.slow
def test_ltx25_run_reuses_ltx23_latents_and_re_encodes_every_caption(tmp_path, counting):
    for i in range(2):
        make_clip(tmp_path / "ds" / f"c{i}.mp4", color=(200, 40 * i, 40))
        (tmp_path / "ds" / f"c{i}.txt").write_text(f"a red square, take {i}")
    c23, c25 = load_components(ModelConfig(id="tiny-ltx-2.3")), load_components(ModelConfig(id="tiny-ltx-2.5"))
    assert latent_space_key(c23.vae) == latent_space_key(c25.vae)
    first = prepare_dataset(_config(tmp_path / "ds", "tiny-ltx-2.3"), c23, tmp_path / "cache" / "tiny-ltx-2.3")
    assert counting == {"video": 2, "text": 2}
    second = prepare_dataset(_config(tmp_path / "ds", "tiny-ltx-2.5"), c25, tmp_path / "cache" / "tiny-ltx-2.5")
    assert counting == {"video": 2, "text": 4}  # Gemma 4 encodes every caption again; no clip is encoded again
    assert second.stats["shared_latents"] == 2 and list((tmp_path / "cache" / "tiny-ltx-2.5").glob("latents-*"))
    for a, b in zip(first.train, second.train):
        assert torch.equal(a.latents, b.latents) and not torch.equal(a.video_embeds, b.video_embeds)


@pytest.mark.slow
def test_an_encoder_that_differs_by_one_weight_shares_no_latents(tmp_path, counting):
    make_clip(tmp_path / "ds" / "a.mp4")
    c23, other = load_components(ModelConfig(id="tiny-ltx-2.3")), load_components(ModelConfig(id="tiny-ltx-2.5"))
    with torch.no_grad():
        next(other.vae.encoder.parameters()).view(-1)[0] += 1e-3
    assert latent_space_key(c23.vae) != latent_space_key(other.vae)
    prepare_dataset(_config(tmp_path / "ds", "tiny-ltx-2.3"), c23, tmp_path / "cache" / "a")
    ds = prepare_dataset(_config(tmp_path / "ds", "tiny-ltx-2.5"), other, tmp_path / "cache" / "b")
    assert counting["video"] == 2 and ds.stats["shared_latents"] == 0


def test_a_decoder_only_difference_keeps_the_latent_space():
    a, b = load_components(ModelConfig(id="tiny-ltx-2.3")), load_components(ModelConfig(id="tiny-ltx-2.3"))
    with torch.no_grad():
        next(b.vae.decoder.parameters()).view(-1)[0] += 1.0  # 2.5's optional diffusion decoder changes only decoding
    assert latent_space_key(a.vae) == latent_space_key(b.vae)
