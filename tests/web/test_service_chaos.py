"""`loraport serve` under an operator's signals (loopback only, bounded): SIGTERM stops server, worker and job
cleanly and the next start finishes the job to the same LoRA as an uninterrupted run; after SIGKILL, the restarted
server runs exactly one worker and the job finishes once."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import torch
from safetensors.torch import load_file

from core.store import open_db
from core.workspace import Workspace
from tests.faults import gone, wait_until
from tests.trainer.train_utils import concept_dataset, tiny_config
from trainer import jobs, worker
from trainer.worker_lock import held_locks
from web.server import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


class Server:
    """`loraport serve` as an operator runs it, on a free loopback port."""

    def __init__(self, home: Path):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from cli.main import main; main()", "serve", "--port", str(self.port)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "LORAPORT_HOME": str(home), "OMP_NUM_THREADS": "1"})
        # The banner, with the worker's pid; a note on stderr (adopting a running worker) may come first.
        self.lines = []
        while not any(line.startswith("  job worker:") for line in self.lines) and len(self.lines) < 12:
            self.lines.append(self.proc.stdout.readline())
        assert any(line.startswith("loraport serving on") for line in self.lines), self.lines
        worker_line = next(line for line in self.lines if line.startswith("  job worker:"))
        self.worker_pid = int(worker_line.split("pid")[1].split()[0])

    def ready(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/api/ready", timeout=2).status_code == 200
        except httpx.TransportError:
            return False


# A tiny step takes ~20 ms here: the job must be long enough that a signal sent once the first checkpoint is seen
# still lands mid-job (a 40-step job was over before the killed server's worker heard of it).
STEPS = 200


def _config(tmp_path: Path) -> dict:
    return tiny_config(concept_dataset(tmp_path / "ds", n=3), steps=STEPS, checkpoints={"every": 4, "keep": 60})


def _job(workspace: Workspace, tmp_path: Path) -> str:
    return jobs.enqueue(open_db(workspace), "train", _config(tmp_path))


def _uninterrupted_lora(tmp_path: Path) -> dict:
    other = Workspace(tmp_path / "other").ensure()
    cfg = _config(tmp_path)
    job_id = jobs.enqueue(open_db(other), "train", cfg)
    worker.run_worker(other, once=True, device="cpu")
    return load_file(jobs.get_job(open_db(other), job_id).lora_path)


def _checkpointed(db, job_id):
    return any(e["type"] == "checkpoint" for e in jobs.events(db, job_id))


def test_sigterm_stops_everything_and_the_next_start_finishes_the_same_lora(workspace, tmp_path):
    db = open_db(workspace)
    job_id = _job(workspace, tmp_path)
    server = Server(workspace.home)
    try:
        assert wait_until(lambda: _checkpointed(db, job_id), 240), "the job never reached a checkpoint"
        assert wait_until(server.ready, 10)
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(timeout=40)
        assert wait_until(lambda: gone(server.worker_pid), 5), "the worker outlived the server"
    finally:
        server.proc.kill()
    job = jobs.get_job(db, job_id)
    assert job.status == "interrupted" and 0 < job.step < STEPS
    assert held_locks(workspace) == [] and worker.live_workers(workspace) == []

    again = Server(workspace.home)
    try:
        assert wait_until(lambda: jobs.get_job(db, job_id).is_terminal, 300)
        again.proc.send_signal(signal.SIGTERM)
        again.proc.wait(timeout=40)
    finally:
        again.proc.kill()
    assert gone(again.worker_pid)
    job = jobs.get_job(db, job_id)
    assert job.status == "finished" and job.steps == STEPS
    resumed, straight = load_file(job.lora_path), _uninterrupted_lora(tmp_path)
    assert resumed.keys() == straight.keys()
    assert all(torch.equal(resumed[k], straight[k]) for k in straight)


def test_after_sigkill_the_restarted_server_runs_one_worker_and_the_job_finishes_once(workspace, tmp_path):
    db = open_db(workspace)
    job_id = _job(workspace, tmp_path)
    first = Server(workspace.home)
    try:
        assert wait_until(lambda: _checkpointed(db, job_id), 240), "the job never reached a checkpoint"
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait()
    finally:
        first.proc.kill()
    orphan = first.worker_pid
    second = Server(workspace.home)  # at once: the orphan may still be finishing its step
    try:
        most = 0

        def finished_or_count():
            nonlocal most
            most = max(most, len(worker.live_workers(workspace)))
            return jobs.get_job(db, job_id).is_terminal

        assert wait_until(finished_or_count, 300, every_s=0.2)
        starts = [e for e in jobs.events(db, job_id) if e["type"] == "started"]
        assert len(starts) == 2, "the killed server's worker ran the job to its end instead of stopping"
        assert gone(orphan), "the killed server's worker is still running"
        assert most == 1, f"{most} workers ran this workspace at once"
        holders = held_locks(workspace)
        assert len(holders) == 1 and holders[0]["pid"] != orphan
        second.proc.send_signal(signal.SIGTERM)
        second.proc.wait(timeout=40)
    finally:
        second.proc.kill()
    job = jobs.get_job(db, job_id)
    types = [e["type"] for e in jobs.events(db, job_id)]
    assert job.status == "finished" and job.steps == STEPS
    assert types.count("finished") == 1 and types.count("started") == 2
