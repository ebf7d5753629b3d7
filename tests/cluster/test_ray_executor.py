"""Jobs on a real Ray cluster: a head on loopback (CPU only) started by this module, shut down at its end.

The worker loop runs with ``RayExecutor``; the jobs are the tiny model's training and the ``count`` kind of
``tests.trainer.fake_jobs`` (a queue test without a model).
"""

import os
import re
import signal
import threading
from functools import partial
from pathlib import Path

import pytest

pytest.importorskip("ray")

from core.store import open_db  # noqa: E402
from tests.cluster.ray_head import RayHead, joined  # noqa: E402
from tests.faults import wait_until  # noqa: E402
from tests.trainer import fake_jobs  # noqa: E402
from tests.trainer.train_utils import concept_dataset, tiny_config  # noqa: E402
from trainer import jobs  # noqa: E402
from trainer.cluster import Resources  # noqa: E402
from trainer.worker import JOB_RUNNERS, run_worker  # noqa: E402

RUNNERS = {**JOB_RUNNERS, "count": fake_jobs.count_runner}

_wait_for = partial(wait_until, timeout_s=240.0)  # a cluster job's patience here

@pytest.fixture(scope="module")
def ray_head():
    with joined(RayHead(num_cpus=2)) as head:
        yield head


def _executor(ray_head, **kwargs):
    from trainer.cluster.executor import RayExecutor

    return RayExecutor(ray_head.address, RUNNERS, **kwargs)


def _types(db, job_id):
    return [e["type"] for e in jobs.events(db, job_id)]


def _in_background(workspace, executor, stop):
    thread = threading.Thread(target=run_worker, args=(workspace,),
                              kwargs={"poll_s": 0.1, "executor": executor, "stop": stop}, daemon=True)
    thread.start()
    return thread


@pytest.mark.slow
def test_two_tiny_trainings_run_at_once_with_their_events_in_the_feed(ray_head, workspace, tmp_path):
    from web.jobfeed import Feed

    db = open_db(workspace)
    data = concept_dataset(tmp_path / "ds", n=3)
    ids = [jobs.enqueue(db, "train", tiny_config(data, steps=8, checkpoints={"every": 4, "keep": 2}),
                        thread_id=f"t{i}") for i in range(2)]
    ran = run_worker(workspace, once=True, poll_s=0.1, executor=_executor(ray_head))
    assert ran == 2
    spans = []
    for job_id in ids:
        job = jobs.get_job(db, job_id)
        assert job.status == "finished" and job.steps == 8 and job.device.startswith("ray:")
        assert Path(job.lora_path).is_file() and Path(job.lora_path).parent == Path(job.run_dir)
        found = jobs.events(db, job_id)
        assert [e["step"] for e in found if e["type"] == "progress" and e.get("loss") is not None] == list(range(1, 9))
        started = next(e for e in found if e["type"] == "started")
        assert "on Ray node" in started["message"]
        spans.append((started["ts"], found[-1]["ts"]))
        lines = (Path(job.run_dir) / "events.jsonl").read_text().splitlines()
        assert len(lines) == len(found)  # the same events in the run's log as in the table
    (a0, a1), (b0, b1) = spans
    assert a0 < b1 and b0 < a1  # both ran at the same time
    watched = {f"t{i}": ({}, set()) for i in range(2)}
    frames = Feed(db).frames_by_thread(watched)
    for i, job_id in enumerate(ids):
        types = [f["event"]["type"] for f in frames[f"t{i}"]]
        assert types[0] == "queued" and "started" in types and types[-1] == "finished"
        assert {f["event"]["job_id"] for f in frames[f"t{i}"]} == {job_id}


@pytest.mark.slow
def test_a_killed_ray_worker_resumes_the_training_from_its_checkpoint_with_no_step_lost(ray_head, workspace,
                                                                                        tmp_path):
    db = open_db(workspace)
    data = concept_dataset(tmp_path / "ds", n=3)
    steps = 150  # ~20 ms each: the kill, sent once the relayed first checkpoint is seen, must land mid-run
    job_id = jobs.enqueue(db, "train", tiny_config(data, steps=steps, checkpoints={"every": 3, "keep": 10}))
    stop = threading.Event()
    thread = _in_background(workspace, _executor(ray_head), stop)
    try:
        assert _wait_for(lambda: any(e["type"] == "checkpoint" for e in jobs.events(db, job_id)))
        first = jobs.get_job(db, job_id)
        assert first.status == "running" and first.step < steps and first.worker_pid
        os.kill(first.worker_pid, signal.SIGKILL)  # the Ray worker process, as a lost node would leave it
        assert _wait_for(lambda: jobs.get_job(db, job_id).is_terminal)
    finally:
        stop.set()
        thread.join(timeout=60)
    job = jobs.get_job(db, job_id)
    assert job.status == "finished" and job.steps == steps and job.attempts == 2 and Path(job.lora_path).is_file()
    found = jobs.events(db, job_id)
    starts = [i for i, e in enumerate(found) if e["type"] == "started"]
    assert len(starts) == 2 and "was lost" in found[starts[1]]["message"]
    resumed = found[starts[1]]["step"]
    assert resumed >= 3 and resumed % 3 == 0
    after = [e["step"] for e in found[starts[1]:] if e["type"] == "progress" and e.get("loss") is not None]
    assert after == list(range(resumed + 1, steps + 1))  # no step lost, none repeated after the checkpoint
    assert job.result["resumed_from"] == resumed


@pytest.mark.slow
def test_cancel_stops_a_job_on_the_cluster_at_its_next_step_and_keeps_its_checkpoints(ray_head, workspace):
    db = open_db(workspace)
    job_id = jobs.enqueue(db, "count", {"steps": 400, "sleep_s": 0.05, "checkpoint_every": 5})

    def cancel_at_step_10(event):
        if event["type"] == "progress" and event["step"] == 10:
            jobs.request_cancel(db, job_id)

    run_worker(workspace, once=True, poll_s=0.05, executor=_executor(ray_head), on_event=cancel_at_step_10)
    job = jobs.get_job(db, job_id)
    assert job.status == "cancelled" and 10 <= job.step < 400
    assert (Path(job.run_dir) / "checkpoints" / "step-000010").is_dir()
    assert _types(db, job_id)[-1] == "cancelled"


@pytest.mark.slow  # the last of this module in the fast loop: it alone started the Ray cluster (~22 s)
def test_a_job_no_node_can_run_fails_at_once_and_says_what_it_needs(ray_head, workspace):
    db = open_db(workspace)
    job_id = jobs.enqueue(db, "count", {"steps": 3})
    big = Resources(num_gpus=2, gpu_memory_gb=80, why="training on ltx-2.3, standard tier")
    run_worker(workspace, once=True, poll_s=0.05, executor=_executor(ray_head, resources_for=lambda job: big))
    job = jobs.get_job(db, job_id)
    assert job.status == "failed"
    assert "needs 1 CPU, 2 GPUs with 80 GB each (training on ltx-2.3, standard tier)" in job.error
    assert re.search(r"the cluster has [\d.]+: 2 CPU, \d+ GB RAM\. Add such a node", job.error)


@pytest.mark.slow
def test_a_failing_job_is_failed_with_its_message_and_the_next_one_runs(ray_head, workspace):
    db = open_db(workspace)
    bad = jobs.enqueue(db, "count", {"steps": 5, "fail_at": 2})
    good = jobs.enqueue(db, "count", {"steps": 3})
    run_worker(workspace, once=True, poll_s=0.05, executor=_executor(ray_head))
    assert jobs.get_job(db, bad).status == "failed" and "boom at step 2" in jobs.get_job(db, bad).error
    assert jobs.get_job(db, good).status == "finished" and jobs.get_job(db, good).steps == 3


@pytest.mark.slow
def test_a_training_of_several_processes_runs_torchrun_in_its_task_with_progress_relayed(ray_head, workspace,
                                                                                        tmp_path):
    import json

    db = open_db(workspace)
    data = concept_dataset(tmp_path / "ds", n=4)
    job_id = jobs.enqueue(db, "train", tiny_config(data, steps=4, checkpoints={"every": 2, "keep": 2}))
    two = Resources(num_cpus=2, processes=2, why="two gloo processes stand in for two GPUs")
    run_worker(workspace, once=True, poll_s=0.1, executor=_executor(ray_head, resources_for=lambda job: two))
    job = jobs.get_job(db, job_id)
    assert job.status == "finished" and Path(job.lora_path).is_file(), job.error
    report = json.loads((Path(job.run_dir) / "report.json").read_text())
    assert report["timings"]["world_size"] == 2 and report["timings"]["replicas_in_sync"] is True
    found = jobs.events(db, job_id)
    assert [e["step"] for e in found if e["type"] == "progress"] == [1, 2, 3, 4]
    assert [e["step"] for e in found if e["type"] == "checkpoint"][-1] == 4


@pytest.mark.slow
def test_loraport_train_in_the_foreground_runs_on_the_configured_cluster(ray_head, workspace, tmp_path, monkeypatch):
    from cli.main import main

    monkeypatch.setenv("LORAPORT_RAY_ADDRESS", ray_head.address)
    data = concept_dataset(tmp_path / "ds", n=3)
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--recipe", "none", "--dataset", str(data), "--steps", "3", "--json"])
    assert exit_.value.code in (0, None)
    (job,) = jobs.list_jobs(open_db(workspace))
    assert job.status == "finished" and job.steps == 3 and job.device.startswith("ray:")
