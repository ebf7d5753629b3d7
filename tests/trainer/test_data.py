"""Dataset preparation on the tiny model: buckets, latents, text embeddings, the per-model cache, bad files."""

import json

import pytest
import torch

from core.errors import LoraportError
from tests.trainer.clips import make_clip, make_image
from trainer import data
from trainer.config import Bucket, ModelConfig, TrainConfig
from trainer.data import choose_bucket, encode_prompts, prepare_dataset
from trainer.models import load_components

BUCKETS = [dict(width=64, height=64, frames=17), dict(width=96, height=64, frames=17),
           dict(width=64, height=64, frames=9)]


@pytest.fixture(scope="module")
def components():
    return load_components(ModelConfig())


def _config(folder, **data_kw):
    return TrainConfig(data=dict(dataset_dir=folder, buckets=BUCKETS, holdout_fraction=0, **data_kw))


@pytest.fixture
def counting(monkeypatch):
    """Count real VAE and text-encoder work, whatever the cache reports."""
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


def test_choose_bucket_picks_nearest_aspect_the_clip_is_long_enough_for():
    buckets = [Bucket(**b) for b in BUCKETS] + [Bucket(width=64, height=96, frames=1)]
    assert choose_bucket(1920, 1080, 100, buckets) == Bucket(width=96, height=64, frames=17)
    assert choose_bucket(500, 500, 100, buckets) == Bucket(width=64, height=64, frames=17)  # longer wins the tie
    assert choose_bucket(500, 500, 12, buckets) == Bucket(width=64, height=64, frames=9)
    assert choose_bucket(600, 900, 1, buckets) == Bucket(width=64, height=96, frames=1)  # images: F = 1 buckets
    with pytest.raises(LoraportError, match="too short: 5 frames.*needs 9"):
        choose_bucket(64, 64, 5, buckets)


def test_images_use_the_nearest_video_bucket_at_one_frame_when_there_is_no_image_bucket():
    assert choose_bucket(96, 64, 1, [Bucket(**b) for b in BUCKETS]) == Bucket(width=96, height=64, frames=1)


def test_encode_prompts_matches_the_connectors_shapes_and_depends_on_the_text(components):
    e = encode_prompts(components, ["a red ball", "sks a red ball"])
    length = components.spec.max_sequence_length
    assert e.video.shape == (2, length, 16) and e.audio.shape == (2, length, 8) and e.mask.shape == (2, length)
    assert not torch.allclose(e.video[0], e.video[1])
    again = encode_prompts(components, ["a red ball"])
    assert torch.allclose(again.video[0], e.video[0], atol=1e-6)


@pytest.mark.slow
def test_a_17x64x64_clip_becomes_normalised_8x3x8x8_latents(components, tmp_path):
    make_clip(tmp_path / "ds" / "clip.mp4", frames=17, size=(64, 64), pattern="moving")
    comps = load_components(ModelConfig())
    with torch.no_grad():  # a VAE with real statistics: latents must come out as (z - mean) / std
        comps.vae.latents_mean.fill_(0.25)
        comps.vae.latents_std.fill_(2.0)
    ds = prepare_dataset(_config(tmp_path / "ds"), comps, tmp_path / "cache")
    (item,) = ds.train
    assert item.latents.shape == (8, 3, 8, 8) and item.latents.dtype == torch.float32
    from trainer.media import decode

    video = decode(tmp_path / "ds" / "clip.mp4", item.bucket).permute(1, 0, 2, 3).unsqueeze(0)
    with torch.no_grad():
        raw = comps.vae.encode(video).latent_dist.mode()[0]
    assert torch.allclose(item.latents, (raw - 0.25) / 2.0, atol=1e-5)
    assert item.video_embeds.shape == (32, 16) and item.audio_embeds.shape == (32, 8) and item.mask.shape == (32,)
    assert item.fps == pytest.approx(24) and item.bucket_key == (3, 8, 8)


def test_second_prepare_encodes_nothing_and_gives_the_same_tensors(components, tmp_path, counting):
    make_clip(tmp_path / "ds" / "a.mp4", pattern="moving")
    make_image(tmp_path / "ds" / "b.png")
    (tmp_path / "ds" / "a.txt").write_text("a white square")
    cfg = _config(tmp_path / "ds", trigger_word="sks")
    first = prepare_dataset(cfg, components, tmp_path / "cache")
    assert counting == {"video": 2, "text": 2}
    second = prepare_dataset(cfg, components, tmp_path / "cache")
    assert counting == {"video": 2, "text": 2} and second.stats["encoded_latents"] == 0
    for a, b in zip(first.train, second.train):
        assert torch.equal(a.latents, b.latents) and torch.equal(a.video_embeds, b.video_embeds)
    assert first.dataset_hash == second.dataset_hash


def test_another_model_reuses_latents_only_of_the_same_vae_encoder_bytes(components, tmp_path, counting):
    make_clip(tmp_path / "ds" / "a.mp4")
    cache = tmp_path / "cache"
    prepare_dataset(_config(tmp_path / "ds"), components, cache)
    other = _config(tmp_path / "ds").model_copy(update={"model": ModelConfig(id="ltx-2.3", path=tmp_path)})
    ds = prepare_dataset(other, components, cache)  # same VAE object: its latents are the same bytes
    assert counting == {"video": 1, "text": 2} and ds.stats["cached_latents"] == 1


def test_caption_edit_re_encodes_text_only(components, tmp_path, counting):
    make_clip(tmp_path / "ds" / "a.mp4")
    (tmp_path / "ds" / "a.txt").write_text("a red square")
    prepare_dataset(_config(tmp_path / "ds"), components, tmp_path / "cache")
    (tmp_path / "ds" / "a.txt").write_text("a blue square")
    ds = prepare_dataset(_config(tmp_path / "ds"), components, tmp_path / "cache")
    assert counting == {"video": 1, "text": 2} and ds.train[0].caption == "a blue square"


def test_trigger_word_is_prepended_to_every_caption(components, tmp_path):
    make_clip(tmp_path / "ds" / "a.mp4")
    (tmp_path / "ds" / "a.txt").write_text("a red square")
    make_image(tmp_path / "ds" / "b.png")
    ds = prepare_dataset(_config(tmp_path / "ds", trigger_word="ohwx"), components, tmp_path / "cache")
    assert sorted(i.caption for i in ds.train) == ["ohwx", "ohwx a red square"]


def test_bad_files_are_reported_one_by_one_and_the_rest_is_prepared(components, tmp_path):
    ds_dir = tmp_path / "ds"
    make_clip(ds_dir / "good.mp4")
    make_clip(ds_dir / "short.mp4", frames=5)
    (ds_dir / "junk.mov").write_bytes(b"garbage" * 50)
    (ds_dir / "notes.pdf").write_bytes(b"%PDF")
    (ds_dir / "good.txt").write_text("sidecars are not errors")
    progress = []
    ds = prepare_dataset(_config(ds_dir), components, tmp_path / "cache",
                         on_progress=lambda done, total, name: progress.append((done, total, name)))
    assert [i.media for i in ds.train] == ["good.mp4"]
    errors = {e.media: e.message for e in ds.errors}
    assert set(errors) == {"short.mp4", "junk.mov", "notes.pdf"}
    assert "too short" in errors["short.mp4"] and "unreadable" in errors["junk.mov"]
    assert progress[-1][:2] == (3, 3)


def test_a_dataset_with_nothing_usable_is_one_clear_error(components, tmp_path):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "junk.mp4").write_bytes(b"garbage")
    with pytest.raises(LoraportError, match="No usable media.*junk.mp4"):
        prepare_dataset(_config(tmp_path / "ds"), components, tmp_path / "cache")
    with pytest.raises(LoraportError, match="does not exist"):
        prepare_dataset(_config(tmp_path / "missing"), components, tmp_path / "cache")


def test_captions_jsonl_sets_captions_and_splits_and_refuses_paths_outside(components, tmp_path):
    ds_dir = tmp_path / "ds"
    make_clip(ds_dir / "clips" / "a.mp4")
    make_clip(ds_dir / "b.mp4")
    make_clip(tmp_path / "secret.mp4")
    rows = [{"media": "clips/a.mp4", "caption": "first", "split": "train"},
            {"media": "b.mp4", "caption": "second", "split": "holdout"},
            {"media": "../secret.mp4", "caption": "escape"}]
    (ds_dir / "captions.jsonl").write_text("\n".join(map(json.dumps, rows)) + "\nnot json\n")
    ds = prepare_dataset(_config(ds_dir), components, tmp_path / "cache")
    assert [(i.media, i.caption) for i in ds.train] == [("clips/a.mp4", "first")]
    assert [(i.media, i.caption) for i in ds.holdout] == [("b.mp4", "second")]
    assert [e.media for e in ds.errors] == ["captions.jsonl:3", "captions.jsonl:4"]
    assert "outside the dataset" in ds.errors[0].message


def test_holdout_fraction_picks_a_stable_holdout_when_none_is_marked(components, tmp_path):
    for n in range(5):
        make_image(tmp_path / "ds" / f"i{n}.png", color=(50 * n, 0, 0))
    cfg = TrainConfig(data=dict(dataset_dir=tmp_path / "ds", buckets=BUCKETS, holdout_fraction=0.25))
    first = prepare_dataset(cfg, components, tmp_path / "cache")
    second = prepare_dataset(cfg, components, tmp_path / "cache")
    assert len(first.holdout) == 1 and len(first.train) == 4
    assert first.holdout[0].media == second.holdout[0].media
    reseeded = prepare_dataset(cfg.model_copy(update={"seed": 1}), components, tmp_path / "cache")
    assert reseeded.holdout[0].media == first.holdout[0].media  # the split belongs to the dataset, not the run


def test_ic_lora_items_carry_reference_latents_and_need_a_reference(components, tmp_path):
    ds_dir = tmp_path / "ds"
    make_clip(ds_dir / "a.mp4", pattern="moving")
    make_clip(ds_dir / "a_ref.mp4", color=(0, 0, 255))
    make_clip(ds_dir / "b.mp4")
    cfg = TrainConfig(data=dict(dataset_dir=ds_dir, buckets=BUCKETS, holdout_fraction=0),
                      strategy=dict(name="ic-lora"))
    ds = prepare_dataset(cfg, components, tmp_path / "cache")
    (item,) = ds.train
    assert item.media == "a.mp4" and item.ref_latents.shape == item.latents.shape
    assert not torch.equal(item.ref_latents, item.latents)
    assert [e.media for e in ds.errors] == ["b.mp4"] and "reference" in ds.errors[0].message
