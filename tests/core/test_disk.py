"""A full disk is named as such, whatever dialect the writer speaks, and the file that was there stays whole."""

import errno
import os
from pathlib import Path

import pytest

from core import atomic, disk
from core.disk import DiskFullError, ensure_free, is_disk_full, writing
from core.errors import LoraportError
from tests.faults import FullFile

ENOSPC = OSError(errno.ENOSPC, "No space left on device")
# What torch.save and safetensors' save_file raise when the disk fills (their own types, the OS error in text).
TORCH_WRITER = RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 117376 vs 117264")
SAFETENSORS = Exception('Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "No space '
                        'left on device" })')


@pytest.mark.parametrize("err", [ENOSPC, OSError(errno.EDQUOT, "Disk quota exceeded"), SAFETENSORS,
                                 Exception("database or disk is full")])
def test_full_disk_errors_are_recognised_in_every_dialect(err, tmp_path):
    assert is_disk_full(err, tmp_path)


def test_a_writer_failure_counts_as_full_disk_only_when_the_disk_is_nearly_full(tmp_path, monkeypatch):
    monkeypatch.setattr(disk, "free_space", lambda folder: 10 * disk.MiB)
    assert is_disk_full(TORCH_WRITER, tmp_path)
    monkeypatch.setattr(disk, "free_space", lambda folder: 50 * 2**30)
    assert not is_disk_full(TORCH_WRITER, tmp_path)


@pytest.mark.parametrize("err", [OSError(errno.EACCES, "Permission denied"), ValueError("bad shape"),
                                 RuntimeError("CUDA out of memory")])
def test_other_errors_are_not_a_full_disk(err, tmp_path):
    assert not is_disk_full(err, tmp_path)


def test_a_full_disk_found_in_the_cause_chain(tmp_path):
    try:
        try:
            raise ENOSPC
        except OSError as inner:
            raise RuntimeError("saving failed") from inner
    except RuntimeError as outer:
        assert is_disk_full(outer, tmp_path)


def test_writing_turns_a_full_disk_into_a_message_naming_the_folder_and_what(tmp_path):
    with pytest.raises(DiskFullError) as caught:
        with writing(tmp_path / "checkpoints", "checkpoint step-000200", need_bytes=120 * disk.MiB):
            raise ENOSPC
    message = caught.value.message
    assert message.startswith("The disk is full: could not write checkpoint step-000200 in ")
    assert str(tmp_path / "checkpoints") in message and "120.0 MiB" in message and "free on that disk" in message
    assert "enforce fail" not in message and "errno" not in message.lower()
    assert isinstance(caught.value, LoraportError)


def test_writing_lets_other_errors_through_unchanged(tmp_path):
    with pytest.raises(ValueError, match="bad shape"):
        with writing(tmp_path, "x"):
            raise ValueError("bad shape")


def test_atomic_write_on_a_full_disk_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    target.write_text("old")
    real_fdopen = os.fdopen
    monkeypatch.setattr(atomic.os, "fdopen", lambda fd, mode: FullFile(real_fdopen(fd, mode)))
    with pytest.raises(DiskFullError, match="could not write report.json in"):
        atomic.atomic_write_json(target, {"new": 1})
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_ensure_free_refuses_with_the_need_and_the_free_space(tmp_path, monkeypatch):
    monkeypatch.setattr(disk, "free_space", lambda folder: 5 * disk.MiB)
    with pytest.raises(LoraportError) as caught:
        ensure_free(tmp_path, 300 * disk.MiB, "this training run")
    assert "needs about 300.0 MiB" in caught.value.message and "5.0 MiB is free" in caught.value.message
    assert ensure_free(tmp_path, 1 * disk.MiB, "x") == 5 * disk.MiB


def test_free_space_of_a_folder_not_yet_made_is_its_parents(tmp_path):
    assert disk.free_space(tmp_path / "not" / "yet") == disk.free_space(Path(tmp_path))
