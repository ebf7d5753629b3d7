"""A run into a full disk: at every write point (cache, checkpoint, sample, export, event log) the job fails with
a message that says the disk is full and where, never the writer's internal text; the last complete checkpoint
stays intact, and once there is space again the job resumes from it and finishes."""

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from core import atomic, disk
from core.store import open_db
from tests.faults import FullFile
from tests.trainer.train_utils import concept_dataset, tiny_config
from trainer import checkpoints, jobs, worker

INTERNAL_TEXT = ("enforce fail", "unexpected pos", "Errno", "IoError", "Traceback")


def _fd_path(fd: int) -> str:
    return os.readlink(f"/proc/self/fd/{fd}")


class Fault:
    """Fails writes at one write point while ``on`` is set; the test turns it off to 'free space'."""

    def __init__(self, monkeypatch, where: str):
        self.on, self.hits = True, 0
        real_fdopen, real_save, real_append = os.fdopen, torch.save, jobs._append_line

        def fdopen(fd, mode="r", *args, **kwargs):
            f = real_fdopen(fd, mode, *args, **kwargs)
            path = _fd_path(fd)
            hit = {"cache": "/cache/" in path,
                   "sample": "/samples/" in path and path.endswith(".tmp"),
                   "export": "/checkpoints/" not in path and Path(path).name.startswith(".lora.safetensors.")}
            if self.on and hit.get(where):
                self.hits += 1
                return FullFile(f)
            return f

        def save(obj, f, *args, **kwargs):
            # torch's zip writer on a full disk: a RuntimeError with its own text, not an OSError.
            if self.on and where == "checkpoint" and Path(f).name == "optimizer.pt" and self.armed():
                self.hits += 1
                raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 117376 vs 117264")
            return real_save(obj, f, *args, **kwargs)

        def append(path, obj, *, durable):
            if self.on and where == "events" and obj.get("type") == "progress" and obj.get("step", 0) >= 5:
                self.hits += 1
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_append(path, obj, durable=durable)

        self.saves = 0

        def armed() -> bool:  # let the first checkpoint through: the failure is at a later one
            self.saves += 1
            return self.saves > 1

        self.armed = armed
        monkeypatch.setattr(atomic.os, "fdopen", fdopen)
        monkeypatch.setattr(checkpoints.torch, "save", save)
        monkeypatch.setattr(jobs, "_append_line", append)
        monkeypatch.setattr(disk, "free_space", lambda folder: 0 if self.on else 10 * 2**30)


def _config(tmp_path, with_samples: bool):
    validation = ({"every": 4, "prompts": ["a white square"], "seeds": [3], "width": 64, "height": 64, "frames": 9,
                   "inference_steps": 1} if with_samples else {"every": 0})
    return tiny_config(concept_dataset(tmp_path / "ds", n=3), steps=10, checkpoints={"every": 2, "keep": 10},
                       validation=validation)


@pytest.mark.slow
@pytest.mark.parametrize("where, folder", [("cache", "cache"), ("checkpoint", "checkpoints"),
                                           ("sample", "samples"), ("export", "runs"), ("events", "runs")])
def test_a_full_disk_at_each_write_point_is_said_plainly_and_the_job_resumes(where, folder, workspace, tmp_path,
                                                                             monkeypatch):
    db = open_db(workspace)
    job_id = jobs.enqueue(db, "train", _config(tmp_path, with_samples=where == "sample"))
    fault = Fault(monkeypatch, where)
    worker.run_worker(workspace, once=True, device="cpu")
    job = jobs.get_job(db, job_id)
    assert fault.hits >= 1, "the fault was never reached"
    assert job.status == "failed", job.error
    assert job.error.startswith("The disk is full: could not write"), job.error
    assert f"/{folder}" in job.error and f"loraport jobs resume {job_id}" in job.error
    assert not any(t in job.error for t in INTERNAL_TEXT), job.error
    saved = checkpoints.list_checkpoints(Path(job.run_dir) / "checkpoints")
    for _, path in saved:  # every checkpoint that exists is whole and loads
        assert load_file(str(path / "lora.safetensors"))
    assert not list((Path(job.run_dir) / "checkpoints").glob(".tmp-*")) if saved else True
    if where == "checkpoint":
        assert [s for s, _ in saved] == [2] and "step-000002) is intact" in job.error

    fault.on = False  # space freed
    jobs.requeue(db, job_id)
    worker.run_worker(workspace, once=True, device="cpu")
    job = jobs.get_job(db, job_id)
    assert job.status == "finished" and job.steps == 10 and Path(job.lora_path).is_file()


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


@pytest.mark.slow
def test_a_run_into_a_really_full_filesystem_ends_with_the_disk_named(tmp_path, monkeypatch):
    from core.workspace import Workspace

    small = tmp_path / "small"
    if not _mount_tmpfs(small, "4m"):
        pytest.skip("needs root and mount to make a small filesystem")
    try:
        workspace = Workspace(small / "home").ensure()
        db = open_db(workspace)
        cfg = tiny_config(concept_dataset(tmp_path / "ds", n=3), steps=30, checkpoints={"every": 1, "keep": 100})
        job_id = jobs.enqueue(db, "train", cfg)
        assert worker.disk_reserve(workspace).ensure()  # set aside when the worker started, long before the disk filled
        filler = small / "filler"
        free = disk.free_space(small)
        filler.write_bytes(b"\0" * max(0, free - 300 * 1024))  # ~300 KiB left: a few ~60 KiB checkpoints
        worker.run_worker(workspace, once=True, device="cpu")
        job = jobs.get_job(db, job_id)
        assert job.status == "failed", (job.status, job.error)
        assert job.error.startswith("The disk is full: could not write"), job.error
        assert str(small) in job.error and not any(t in job.error for t in INTERNAL_TEXT), job.error
        saved = checkpoints.list_checkpoints(Path(job.run_dir) / "checkpoints")
        assert saved, "no checkpoint fitted before the disk filled"
        assert load_file(str(saved[-1][1] / "lora.safetensors"))
        filler.unlink()
        jobs.requeue(db, job_id)
        worker.run_worker(workspace, once=True, device="cpu")
        job = jobs.get_job(db, job_id)
        assert job.status == "finished", job.error
        db.close()
    finally:
        subprocess.run(["umount", "-l", str(small)], capture_output=True)


def test_every_executor_words_a_full_disk_the_same_way(workspace, tmp_path):
    """The local worker and the Ray executor both build their failure text from disk_full_message."""
    from core.disk import DiskFullError
    from trainer.cluster.executor import RayExecutor

    db = open_db(workspace)
    job = jobs.get_job(db, jobs.enqueue(db, "train", _config(tmp_path, with_samples=False)))
    full = DiskFullError(Path(job.run_dir) / "checkpoints", "checkpoint step-000004", free_bytes=0)
    message = worker.disk_full_message(job, full)
    assert message.startswith("The disk is full: could not write checkpoint step-000004")
    assert worker.disk_full_message(job, ValueError("bad shape")) is None
    recorded = []
    RayExecutor._failed(RayExecutor.__new__(RayExecutor), job, full, "trace", recorded.append)
    assert recorded == [{"type": "failed", "message": message}]
