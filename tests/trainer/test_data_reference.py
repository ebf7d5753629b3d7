"""IC-LoRA pairs in dataset preparation: how a target finds its reference, and what happens to a reference of
another size or length, an image reference, or a target without one (each refused per file with its reason)."""

import json

import pytest
import torch

from tests.trainer.clips import make_clip, make_image
from trainer.config import ModelConfig, TrainConfig
from trainer.data import prepare_dataset
from trainer.models import load_components

BUCKETS = [dict(width=64, height=64, frames=17), dict(width=64, height=64, frames=1)]


@pytest.fixture(scope="module")
def components():
    return load_components(ModelConfig())


def _prepare(components, folder, cache, **strategy):
    cfg = TrainConfig(data=dict(dataset_dir=folder, buckets=BUCKETS, holdout_fraction=0),
                      strategy=dict(name="ic-lora", **strategy))
    return prepare_dataset(cfg, components, cache)


def _errors(ds) -> dict[str, str]:
    return {e.media: e.message for e in ds.errors}


@pytest.mark.slow
def test_each_pair_rule_is_applied_per_file(components, tmp_path):
    ds_dir = tmp_path / "ds"
    make_clip(ds_dir / "bigger.mp4")
    make_clip(ds_dir / "bigger_ref.mp4", size=(128, 96), color=(0, 0, 255))  # other size and aspect: resized
    make_clip(ds_dir / "longer.mp4")
    make_clip(ds_dir / "longer_ref.mp4", frames=33, color=(0, 255, 0))  # longer: its first 17 frames
    make_clip(ds_dir / "shorter.mp4")
    make_clip(ds_dir / "shorter_ref.mp4", frames=9)
    make_clip(ds_dir / "still.mp4")
    make_image(ds_dir / "still_ref.png")
    make_image(ds_dir / "photo.png")
    make_image(ds_dir / "photo_ref.png", size=(48, 80))  # image target, image reference: fine
    make_clip(ds_dir / "alone.mp4")
    make_clip(ds_dir / "orphan_ref.mp4")
    ds = _prepare(components, ds_dir, tmp_path / "cache")
    assert sorted(i.media for i in ds.train) == ["bigger.mp4", "longer.mp4", "photo.png"]
    for item in ds.train:
        assert item.ref_latents.shape == item.latents.shape
    errors = _errors(ds)
    assert set(errors) == {"shorter.mp4", "still.mp4", "alone.mp4", "orphan_ref.mp4"}
    assert "shorter_ref.mp4 is shorter than the 17 frames" in errors["shorter.mp4"]
    assert "still_ref.png is an image" in errors["still.mp4"]
    assert "has no reference" in errors["alone.mp4"] and "alone_ref.mp4" in errors["alone.mp4"]
    assert "looks like a reference" in errors["orphan_ref.mp4"]


@pytest.mark.slow
def test_captions_jsonl_pairs_by_ltx_trainer_columns_or_the_suffix(components, tmp_path):
    ds_dir = tmp_path / "ds"
    for name in ("a", "b", "c"):
        make_clip(ds_dir / f"{name}.mp4")
    make_clip(ds_dir / "refs" / "a_face.mp4", color=(0, 0, 255))
    make_clip(ds_dir / "b_ref.mp4", color=(0, 255, 0))
    rows = [{"media": "a.mp4", "caption": "a", "reference_video": "refs/a_face.mp4"},  # ltx-trainer's column
            {"media": "refs/a_face.mp4", "caption": "listed too"},  # a reference listed as a row: not an item
            {"media": "b.mp4", "caption": "b"},  # no column: b_ref.mp4 beside it
            {"media": "c.mp4", "caption": "c", "reference": "gone.mp4"}]
    (ds_dir / "captions.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    ds = _prepare(components, ds_dir, tmp_path / "cache")
    assert sorted(i.media for i in ds.train) == ["a.mp4", "b.mp4"]
    assert _errors(ds) == {"c.mp4": "its reference gone.mp4 is not in the dataset folder: add it or fix the "
                                    "'reference'."}


def test_a_downscaled_reference_is_encoded_smaller_and_placed_on_the_targets_grid(components, tmp_path):
    from trainer.batches import collate
    from trainer.strategies import ICLora

    ds_dir = tmp_path / "ds"
    make_clip(ds_dir / "a.mp4", pattern="moving")
    make_clip(ds_dir / "a_ref.mp4", color=(0, 0, 255))
    ds = _prepare(components, ds_dir, tmp_path / "cache", reference_downscale_factor=2)
    (item,) = ds.train
    c, f, h, w = item.latents.shape
    assert item.ref_latents.shape == (c, f, h // 2, w // 2)
    strategy = ICLora(components.transformer)
    inputs = strategy.prepare_inputs(collate([item]), torch.Generator().manual_seed(0), sigma=torch.tensor([0.5]))
    n_ref = f * (h // 2) * (w // 2)
    ref_coords, target_coords = inputs.coords[:, :, :n_ref], inputs.coords[:, :, n_ref:]
    # the reference spans the target's pixel extent on both spatial axes (the in-context pipeline's scaling)
    for axis in (1, 2):
        assert ref_coords[0, axis].max() == target_coords[0, axis].max()


def test_the_downscale_factor_must_divide_every_bucket(tmp_path):
    with pytest.raises(ValueError, match="reference_downscale_factor 4"):
        TrainConfig(data=dict(dataset_dir=tmp_path, buckets=BUCKETS), strategy=dict(
            name="ic-lora", reference_downscale_factor=4))


def test_an_ic_lora_export_carries_the_reference_keys(tmp_path):
    from trainer.export import lora_metadata

    ic = TrainConfig(data=dict(dataset_dir=tmp_path, buckets=[dict(width=128, height=64, frames=17)]),
                     strategy=dict(name="ic-lora", reference_downscale_factor=2))
    meta = lora_metadata(ic, steps=3)
    assert meta["reference_downscale_factor"] == "2" and meta["reference_spatial_scale_factor"] == "2"
    assert "reference_temporal_scale_factor" not in meta
    plain = lora_metadata(TrainConfig(data=dict(dataset_dir=tmp_path)), steps=3)
    assert not any(k.startswith("reference_") for k in plain)
