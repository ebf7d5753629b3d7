"""The held-out split: the importer and the trainer apply one rule, so what the importer kept for training is
trained on, and a folder trained directly holds out what importing it would have held out."""

import json

import pytest

from tests.trainer.clips import make_image
from trainer.config import ModelConfig, TrainConfig
from trainer.data import prepare_dataset
from trainer.holdout import MIN_ITEMS_FOR_HOLDOUT, holdout_names
from trainer.models import load_components

BUCKETS = [dict(width=64, height=64, frames=1)]


@pytest.fixture(scope="module")
def components():
    return load_components(ModelConfig())


def _images(folder, n):
    for i in range(n):
        make_image(folder / f"img{i:02d}.png", color=(20 * i, 255 - 20 * i, 90))
    return folder


def _prepared(folder, components, tmp_path, fraction=0.2):
    cfg = TrainConfig(data=dict(dataset_dir=folder, buckets=BUCKETS, holdout_fraction=fraction))
    return prepare_dataset(cfg, components, tmp_path / "cache")


def test_rule_holds_out_nothing_on_small_sets_and_a_rounded_share_from_five():
    content = {f"c{i}": f"sha{i}" for i in range(12)}
    assert [len(holdout_names(dict(list(content.items())[:n]), fraction=0.25)) for n in (1, 2, 4)] == [0, 0, 0]
    assert MIN_ITEMS_FOR_HOLDOUT == 5 and len(holdout_names(dict(list(content.items())[:5]), fraction=0.25)) == 1
    assert len(holdout_names(content, fraction=0.25)) == 3 and holdout_names(content, fraction=0) == []
    assert len(holdout_names(dict(list(content.items())[:5]), fraction=0.99)) == 4  # one always trains
    renamed = {f"new-{k}": v for k, v in content.items()}
    assert [f"new-{k}" for k in holdout_names(content, fraction=0.25)] == holdout_names(renamed, fraction=0.25)


@pytest.mark.parametrize("n", [2, 4])
def test_small_folders_train_on_every_clip_as_the_importer_does(components, tmp_path, n):
    from tools.dataset import check_dataset

    folder = _images(tmp_path / "ds", n)
    assert check_dataset(folder).holdout == []
    prepared = _prepared(folder, components, tmp_path, fraction=0.25)
    assert prepared.holdout == [] and len(prepared.train) == n


def test_the_trainer_holds_out_what_the_importer_holds_out(components, tmp_path, workspace_home):
    from tools.dataset import check_dataset, import_dataset

    folder = _images(tmp_path / "ds", 7)
    checked = check_dataset(folder).holdout
    assert len(checked) == 1
    direct = _prepared(folder, components, tmp_path)  # the folder as it is: the trainer decides
    assert [i.media for i in direct.holdout] == checked
    imported = import_dataset(folder)  # writes each item's split into captions.jsonl
    from_import = _prepared(imported.path, components, tmp_path)
    assert [i.media for i in from_import.holdout] == imported.holdout == checked


def test_splits_written_in_captions_stand_even_when_all_train(components, tmp_path):
    folder = _images(tmp_path / "ds", 6)
    rows = [{"media": f"img{i:02d}.png", "caption": "a colour", "split": "train"} for i in range(6)]
    (folder / "captions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    prepared = _prepared(folder, components, tmp_path)
    assert prepared.holdout == [] and len(prepared.train) == 6
