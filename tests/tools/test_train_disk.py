"""Before launch, the run's disk need (cache, checkpoints, samples, export) is held against the free space."""

import pytest

from core import disk
from core.errors import LoraportError
from core.store import open_db
from tools.train import disk as train_disk
from tools.train import launch as train_tools
from tools.train.config import build_config


@pytest.fixture
def config(tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    for i in range(4):
        (clips / f"c{i}.mp4").write_bytes(b"")
    return build_config("none", clips, steps=200, checkpoint_every=50)


def test_check_disk_counts_every_part_and_says_whether_it_fits(workspace, config):
    check = train_disk.check_disk(config, workspace)
    parts = check.parts
    assert parts.cache > 0 and parts.checkpoints > 0 and parts.lora > 0 and parts.samples >= 0
    assert check.need_mb == pytest.approx(parts.total * train_disk.HEADROOM, abs=0.01)
    assert check.fits and check.folder == str(workspace.home)
    assert "Disk: needs about" in check.summary() and "fits" in check.summary()


def test_more_clips_and_more_kept_checkpoints_need_more_disk(workspace, config, tmp_path):
    few = train_disk.check_disk(config, workspace).parts
    for i in range(4, 40):
        (config.data.dataset_dir / f"c{i}.mp4").write_bytes(b"")
    more_keep = config.model_copy(update={"checkpoints": config.checkpoints.model_copy(update={"keep": 10})})
    many = train_disk.check_disk(more_keep, workspace).parts
    assert many.cache > few.cache * 5 and many.checkpoints > few.checkpoints


def test_launch_refuses_a_run_that_cannot_fit_and_queues_nothing(workspace, config, monkeypatch):
    monkeypatch.setattr(disk, "free_space", lambda folder: 1024)
    monkeypatch.setattr(train_disk, "free_space", lambda folder: 1024)
    with pytest.raises(LoraportError) as caught:
        train_tools.launch(config)
    assert "Not enough disk space for this training run" in caught.value.message
    assert str(workspace.home) in caught.value.message and "1.0 KiB is free" in caught.value.message
    assert open_db(workspace).execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 0
    assert not train_disk.check_disk(config, workspace).fits
