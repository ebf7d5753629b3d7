"""The job queue's store side: enqueue, records, events in two places that agree, cancel, resume."""

import json
from pathlib import Path

import pytest

from core.errors import LoraportError, NotFoundError
from core.events import JobEvent
from core.store import open_db
from trainer import jobs
from trainer.config import DataConfig, OptimConfig, TrainConfig


def _config(tmp_path, steps=7) -> TrainConfig:
    return TrainConfig(data=DataConfig(dataset_dir=tmp_path / "clips"), optim=OptimConfig(steps=steps))


def test_enqueue_writes_config_row_and_queued_event(workspace, tmp_path):
    db = open_db(workspace)
    config = _config(tmp_path)
    job_id = jobs.enqueue(db, "train", config, thread_id="t1")
    job = jobs.get_job(db, job_id)
    assert job.status == "queued" and job.kind == "train" and job.thread_id == "t1"
    assert Path(job.run_dir) == workspace.run_dir(job_id)
    on_disk = json.loads((Path(job.run_dir) / "config.json").read_text())
    assert TrainConfig.model_validate(on_disk) == config
    assert job.total == 7 and job.model_id == "tiny-ltx-2.3"
    assert [e["type"] for e in jobs.events(db, job_id)] == ["queued"]


def test_enqueue_derives_workspace_from_the_database(workspace, tmp_path):
    job_id = jobs.enqueue(open_db(workspace), "count", {"steps": 1})
    assert (workspace.run_dir(job_id) / "config.json").is_file()


def test_enqueue_refuses_an_invalid_train_config_before_queueing(workspace):
    db = open_db(workspace)
    with pytest.raises(LoraportError, match="training config is not valid"):
        jobs.enqueue(db, "train", {"optim": {"steps": 3}})  # no data.dataset_dir
    assert jobs.list_jobs(db) == []


def test_append_event_mirrors_progress_and_terminal_status(workspace):
    db = open_db(workspace)
    job_id = jobs.enqueue(db, "count", {"steps": 3})
    run_dir = Path(jobs.get_job(db, job_id).run_dir)
    jobs.append_event(db, run_dir, JobEvent(job_id=job_id, kind="count", type="progress", step=2, total=3, loss=0.5))
    job = jobs.get_job(db, job_id)
    assert (job.step, job.total, job.loss, job.status) == (2, 3, 0.5, "queued")
    jobs.append_event(db, run_dir, {"job_id": job_id, "kind": "count", "type": "finished", "step": 3,
                                    "loss": 0.25, "path": "/x/lora.safetensors"})
    job = jobs.get_job(db, job_id)
    assert job.status == "finished" and job.lora_path == "/x/lora.safetensors" and job.finished_at
    assert job.steps == 3 and job.final_loss == 0.25


def test_events_jsonl_and_table_agree_line_for_line(workspace):
    db = open_db(workspace)
    job_id = jobs.enqueue(db, "count", {"steps": 3})
    run_dir = Path(jobs.get_job(db, job_id).run_dir)
    for step in (1, 2, 3):
        jobs.append_event(db, run_dir, JobEvent(job_id=job_id, kind="count", type="progress", step=step))
    lines = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert lines == jobs.events(db, job_id)
    assert [e["step"] for e in jobs.events(db, job_id, after_id=lines[1]["id"])] == [2, 3]


def test_get_job_with_unknown_id_names_the_list_command(workspace):
    with pytest.raises(NotFoundError, match="loraport jobs list"):
        jobs.get_job(open_db(workspace), "train-nope")


def test_list_jobs_filters_by_status_and_kind_newest_first(workspace):
    db = open_db(workspace)
    first = jobs.enqueue(db, "count", {"steps": 1})
    second = jobs.enqueue(db, "other", {"steps": 1}, thread_id="t9")
    third = jobs.enqueue(db, "count", {"steps": 1})
    jobs.request_cancel(db, third)
    assert [j.job_id for j in jobs.list_jobs(db)] == [third, second, first]
    assert [j.job_id for j in jobs.list_jobs(db, kind="count")] == [third, first]
    assert [j.job_id for j in jobs.list_jobs(db, status="cancelled")] == [third]
    assert [j.job_id for j in jobs.list_jobs(db, thread_id="t9")] == [second]
    assert len(jobs.list_jobs(db, limit=1)) == 1
    with pytest.raises(LoraportError, match="unknown job status"):
        jobs.list_jobs(db, status="done")


def test_cancel_of_a_queued_job_is_immediate_and_final(workspace):
    db = open_db(workspace)
    job_id = jobs.enqueue(db, "count", {"steps": 1})
    job = jobs.request_cancel(db, job_id)
    assert job.status == "cancelled" and job.cancel_requested
    assert [e["type"] for e in jobs.events(db, job_id)] == ["queued", "cancelled"]
    with pytest.raises(LoraportError, match="already cancelled"):
        jobs.request_cancel(db, job_id)


def test_cancel_of_a_running_job_only_raises_the_flag(workspace):
    db = open_db(workspace)
    job_id = jobs.enqueue(db, "count", {"steps": 1})
    db["jobs"].update(job_id, {"status": "running"})
    job = jobs.request_cancel(db, job_id)
    assert job.status == "running" and jobs.cancel_requested(db, job_id)


def test_requeue_puts_a_cancelled_job_back_and_refuses_a_finished_one(workspace):
    db = open_db(workspace)
    job_id = jobs.enqueue(db, "count", {"steps": 1})
    jobs.request_cancel(db, job_id)
    job = jobs.requeue(db, job_id)
    assert job.status == "queued" and not job.cancel_requested
    db["jobs"].update(job_id, {"status": "finished"})
    with pytest.raises(LoraportError, match="only a cancelled, failed or interrupted"):
        jobs.requeue(db, job_id)


def test_wait_for_events_returns_new_events_or_nothing_after_timeout(workspace):
    db = open_db(workspace)
    job_id = jobs.enqueue(db, "count", {"steps": 1})
    (queued,) = jobs.wait_for_events(db, job_id, timeout_s=0)
    assert jobs.wait_for_events(db, job_id, after_id=queued["id"], timeout_s=0.05, poll_s=0.01) == []
    with pytest.raises(NotFoundError):
        jobs.wait_for_events(db, "nope", timeout_s=5)


def test_thread_jobs_are_the_threads_own_oldest_first_without_the_skipped(workspace):
    db = open_db(workspace)
    first = jobs.enqueue(db, "count", {"steps": 1}, thread_id="a")
    jobs.enqueue(db, "count", {"steps": 1}, thread_id="b")
    done = jobs.enqueue(db, "count", {"steps": 1}, thread_id="a")
    last = jobs.enqueue(db, "count", {"steps": 1}, thread_id="a")
    jobs.enqueue(db, "count", {"steps": 1})  # no thread
    assert [j.job_id for j in jobs.thread_jobs(db, ["a"], skip=[done])] == [first, last]
    assert jobs.thread_jobs(db, []) == []
