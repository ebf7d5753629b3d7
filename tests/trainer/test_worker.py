"""The worker: claims, lifecycle events, cancel, failures, and resume after its process is killed.

Most tests use the ``count`` job kind of ``fake_jobs`` (same runner contract as training, no model) so they
are about the queue; the tests at the end run the real tiny-model training.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.store import open_db
from tests.trainer import fake_jobs
from trainer import jobs, ownership, worker

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _count_kind(monkeypatch):
    monkeypatch.setitem(worker.JOB_RUNNERS, "count", fake_jobs.count_runner)


def _types(db, job_id):
    return [e["type"] for e in jobs.events(db, job_id)]


def test_worker_runs_a_job_with_events_in_order(workspace):
    db = open_db(workspace)
    job_id = jobs.enqueue(db, "count", {"steps": 4, "checkpoint_every": 2})
    assert worker.run_worker(workspace, once=True, device="cpu") == 1
    job = jobs.get_job(db, job_id)
    assert job.status == "finished" and job.steps == 4 and job.attempts == 1
    assert job.final_loss == 0.25 and Path(job.lora_path).is_file()
    assert _types(db, job_id) == ["queued", "started", "progress", "progress", "checkpoint", "progress",
                                  "progress", "checkpoint", "finished"]
    lines = [json.loads(x) for x in (Path(job.run_dir) / "events.jsonl").read_text().splitlines()]
    assert lines == jobs.events(db, job_id)


def test_failing_job_is_marked_failed_and_the_worker_takes_the_next(workspace):
    db = open_db(workspace)
    bad = jobs.enqueue(db, "count", {"steps": 5, "fail_at": 3})
    good = jobs.enqueue(db, "count", {"steps": 2})
    assert worker.run_worker(workspace, once=True, device="cpu") == 2
    failed = jobs.get_job(db, bad)
    assert failed.status == "failed" and "ValueError: boom at step 3" in failed.error
    assert "boom at step 3" in (Path(failed.run_dir) / "error.log").read_text()
    assert _types(db, bad)[-1] == "failed"
    assert jobs.get_job(db, good).status == "finished"


def test_cancel_stops_a_running_job_at_its_next_step_and_keeps_checkpoints(workspace):
    db = open_db(workspace)
    job_id = jobs.enqueue(db, "count", {"steps": 50, "checkpoint_every": 2})

    def cancel_at_step_5(event):
        if event["type"] == "progress" and event["step"] == 5:
            jobs.request_cancel(open_db(workspace), job_id)  # another connection, as the CLI would

    worker.run_worker(workspace, once=True, device="cpu", on_event=cancel_at_step_5)
    job = jobs.get_job(db, job_id)
    assert job.status == "cancelled" and job.step == 5
    assert _types(db, job_id)[-1] == "cancelled"
    kept = sorted(p.name for p in (Path(job.run_dir) / "checkpoints").iterdir())
    assert kept == ["step-000002", "step-000004"]


def test_stop_signal_leaves_the_job_interrupted_and_the_next_worker_resumes_it(workspace):
    db = open_db(workspace)
    job_id = jobs.enqueue(db, "count", {"steps": 8, "checkpoint_every": 2})
    stop = threading.Event()
    worker.run_worker(workspace, device="cpu", stop=stop,
                      on_event=lambda e: e.get("step") == 4 and e["type"] == "checkpoint" and stop.set())
    assert jobs.get_job(db, job_id).status == "interrupted"
    worker.run_worker(workspace, once=True, device="cpu")
    job = jobs.get_job(db, job_id)
    assert job.status == "finished" and job.result["resumed_at"] == 4 and job.attempts == 2
    assert job.resumed_from.endswith("step-000004")


def test_claim_runs_one_job_at_a_time_per_device(workspace):
    db = open_db(workspace)
    first = jobs.enqueue(db, "count", {"steps": 1})
    second = jobs.enqueue(db, "count", {"steps": 1})
    assert worker.claim(db, device="cpu").job_id == first
    assert worker.claim(db, device="cpu") is None  # first still runs there
    assert worker.claim(db, device="cuda:1").job_id == second


def test_worker_leaves_kinds_it_cannot_run_in_the_queue(workspace):
    db = open_db(workspace)
    job_id = jobs.enqueue(db, "caption-someday", {"n": 1})
    assert worker.run_worker(workspace, once=True, device="cpu") == 0
    assert jobs.get_job(db, job_id).status == "queued"


def test_reap_requeues_a_dead_owners_job_and_gives_up_after_max_attempts(workspace):
    db = open_db(workspace)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    job_id = jobs.enqueue(db, "count", {"steps": 1})
    token = worker.owner_token(dead.pid)
    db["jobs"].update(job_id, {"status": "running", "worker": token, "attempts": 1})
    assert worker.reap_dead(db) == [job_id] and jobs.get_job(db, job_id).status == "interrupted"
    db["jobs"].update(job_id, {"status": "running", "worker": token, "attempts": ownership.MAX_ATTEMPTS})
    worker.reap_dead(db)
    job = jobs.get_job(db, job_id)
    assert job.status == "failed" and "died 3 times" in job.error


def test_reap_ends_a_dead_owners_job_cancelled_when_cancel_was_requested(workspace):
    db = open_db(workspace)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    job_id = jobs.enqueue(db, "count", {"steps": 1})
    db["jobs"].update(job_id, {"status": "running", "worker": worker.owner_token(dead.pid), "cancel_requested": 1})
    worker.reap_dead(db)
    assert jobs.get_job(db, job_id).status == "cancelled" and _types(db, job_id)[-1] == "cancelled"


def test_reap_leaves_a_live_owners_job_alone(workspace):
    db = open_db(workspace)
    job_id = jobs.enqueue(db, "count", {"steps": 1})
    db["jobs"].update(job_id, {"status": "running", "worker": worker.owner_token()})
    assert worker.reap_dead(db) == [] and jobs.get_job(db, job_id).status == "running"


def test_run_job_waits_while_another_job_holds_the_device(workspace):
    db = open_db(workspace)
    busy = jobs.enqueue(db, "count", {"steps": 1})
    mine = jobs.enqueue(db, "count", {"steps": 2})
    assert worker.claim(db, device="cpu").job_id == busy  # held by this (live) process
    heard = []

    def free_the_device(text):
        heard.append(text)
        jobs.append_event(db, workspace.run_dir(busy), {"job_id": busy, "kind": "count", "type": "finished"})

    record = worker.run_job(workspace, mine, device="cpu", poll_s=0.01, on_wait=free_the_device)
    assert heard == [f"waiting: job {busy} is running on cpu"] and record.status == "finished"


def test_run_job_follows_a_job_another_worker_is_running(workspace):
    db = open_db(workspace)
    job_id = jobs.enqueue(db, "count", {"steps": 2})
    worker.claim(db, device="cpu")
    run_dir = workspace.run_dir(job_id)

    def other_worker():
        time.sleep(0.2)
        for event in ({"type": "progress", "step": 1}, {"type": "finished", "step": 2}):
            jobs.append_event(open_db(workspace), run_dir, {"job_id": job_id, "kind": "count", **event})

    seen = []
    thread = threading.Thread(target=other_worker)
    thread.start()
    record = worker.run_job(workspace, job_id, device="cpu", on_event=lambda e: seen.append(e["type"]))
    thread.join()
    assert record.status == "finished" and seen == ["progress", "finished"]


def _wait_for(predicate, timeout_s=60.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow
def test_worker_killed_with_sigkill_is_resumed_from_its_checkpoint_by_a_new_worker(workspace):
    db = open_db(workspace)
    job_id = jobs.enqueue(db, "count", {"steps": 40, "sleep_s": 0.05, "checkpoint_every": 5})
    proc = subprocess.Popen([sys.executable, "-m", "tests.trainer.fake_jobs", str(workspace.home)], cwd=ROOT)
    try:
        assert _wait_for(lambda: any(e["type"] == "checkpoint" and e["step"] >= 10 for e in jobs.events(db, job_id)))
        assert worker.live_workers(workspace)[0]["pid"] == proc.pid
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert jobs.get_job(db, job_id).status == "running"  # as a crash leaves it
    assert worker.live_workers(workspace) == []
    worker.run_worker(workspace, once=True, device="cpu")
    job = jobs.get_job(db, job_id)
    assert job.status == "finished" and job.steps == 40 and job.attempts == 2
    assert job.result["resumed_at"] >= 10
    started = [e for e in jobs.events(db, job_id) if e["type"] == "started"]
    assert started[-1]["message"] == f"resuming from step-{job.result['resumed_at']:06d}"


# ---- the real tiny-model training ----------------------------------------------------------------------------

def _train_config(tmp_path, steps: int, every: int):
    from tests.trainer.clips import make_clip
    from trainer.config import (Bucket, CheckpointConfig, DataConfig, LoraConfig, OptimConfig, TrainConfig,
                                ValidationConfig)

    clips = tmp_path / "clips"
    for i, color in enumerate([(200, 40, 40), (40, 200, 40), (40, 40, 200)]):
        make_clip(clips / f"clip{i}.mp4", frames=17, color=color, pattern="moving")
    return TrainConfig(
        data=DataConfig(dataset_dir=clips, buckets=[Bucket(width=64, height=64, frames=17)]),
        lora=LoraConfig(rank=4, alpha=4), optim=OptimConfig(steps=steps), validation=ValidationConfig(every=0),
        checkpoints=CheckpointConfig(every=every, keep=10),
    )


@pytest.mark.slow
def test_training_killed_with_sigkill_is_resumed_from_its_checkpoint_by_a_new_worker(workspace, tmp_path):
    db = open_db(workspace)
    steps = 90  # long enough that the kill, sent at the first checkpoint, lands mid-run
    job_id = jobs.enqueue(db, "train", _train_config(tmp_path, steps=steps, every=3))
    loraport = Path(sys.executable).parent / "loraport"
    proc = subprocess.Popen([str(loraport), "worker", "--device", "cpu", "--poll", "0.1"], cwd=ROOT,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        assert _wait_for(lambda: any(e["type"] == "checkpoint" for e in jobs.events(db, job_id)), timeout_s=180)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    killed_at = jobs.get_job(db, job_id)
    assert killed_at.status == "running" and killed_at.step < steps
    worker.run_worker(workspace, once=True, device="cpu")
    job = jobs.get_job(db, job_id)
    assert job.status == "finished" and job.steps == steps and job.attempts == 2
    assert job.result["resumed_from"] >= 3 and job.result["resumed_from"] % 3 == 0
    assert Path(job.lora_path).is_file()
    resumed = job.result["resumed_from"]
    found = jobs.events(db, job_id)
    starts = [i for i, e in enumerate(found) if e["type"] == "started"]
    assert [found[i]["step"] for i in starts] == [0, resumed]
    after_restart = [e["step"] for e in found[starts[1]:] if e["type"] == "progress"]
    assert after_restart == list(range(resumed + 1, steps + 1))  # no step lost, none repeated after the checkpoint


@pytest.mark.slow
def test_cancel_stops_training_at_the_next_step_and_keeps_its_checkpoints(workspace, tmp_path):
    db = open_db(workspace)
    job_id = jobs.enqueue(db, "train", _train_config(tmp_path, steps=50, every=2))

    def cancel_at_step_3(event):
        if event["type"] == "progress" and event["step"] == 3:
            jobs.request_cancel(open_db(workspace), job_id)

    worker.run_worker(workspace, once=True, device="cpu", on_event=cancel_at_step_3)
    job = jobs.get_job(db, job_id)
    assert job.status == "cancelled" and job.step == 3
    kept = sorted(p.name for p in (Path(job.run_dir) / "checkpoints").iterdir())
    assert kept == ["step-000002", "step-000003"]  # the periodic one, and the one the stop saved
    assert Path(job.lora_path).is_file()  # the LoRA so far
    assert [e["type"] for e in jobs.events(db, job_id)][-2:] == ["checkpoint", "cancelled"]
    assert list(workspace.cache_dir(job.model_id).glob("latents-*.safetensors"))  # the workspace's shared cache
