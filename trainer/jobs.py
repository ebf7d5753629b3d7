"""The job queue: rows in ``jobs``, their events in ``job_events`` and ``runs/<job-id>/events.jsonl``.

trainer/ is the only writer of these tables. A job moves ``queued -> running -> finished | failed | cancelled``;
a job whose worker died while it ran becomes ``interrupted`` and is claimed again like a queued one, so training
resumes from its latest checkpoint. Every change a surface can see arrives as a ``JobEvent``: ``append_event``
writes it to the run's ``events.jsonl`` and to ``job_events`` (same id in both) and mirrors step, total, loss and
status on the job row, so a list of jobs needs no event scan.
"""

import json
import os
import secrets
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlite_utils
from pydantic import BaseModel, Field, ValidationError, computed_field

from core.atomic import atomic_write_json
from core.disk import writing
from core.errors import LoraportError, NotFoundError
from core.events import JobEvent
from core.store import now_iso
from core.workspace import Workspace
from trainer.config import TrainConfig

STATUSES = ("queued", "running", "finished", "failed", "cancelled", "interrupted")
TERMINAL = ("finished", "failed", "cancelled")


class JobRecord(BaseModel):
    """One job as every surface shows it (``loraport jobs show --json``, the REST API, the agent's tools)."""

    job_id: str
    kind: str
    status: str = Field(description="queued | running | finished | failed | cancelled | interrupted")
    run_dir: str
    config: dict[str, Any] = Field(default_factory=dict)
    recipe: str | None = None
    model_id: str | None = None
    thread_id: str | None = None
    parent_job_id: str | None = None
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    step: int | None = Field(None, description="Latest step reported.")
    total: int | None = Field(None, description="Steps the job will run in all.")
    loss: float | None = Field(None, description="Latest loss reported.")
    lora_path: str | None = None
    error: str | None = None
    cancel_requested: bool = False
    worker_pid: int | None = None
    device: str | None = None
    attempts: int = Field(0, description="How many times a worker started this job (resumes included).")
    resumed_from: str | None = Field(None, description="Checkpoint the latest attempt resumed from.")
    result: dict[str, Any] | None = Field(None, description="What the job's runner returned.")

    @computed_field
    @property
    def steps(self) -> int | None:
        """Steps done (the latest reported step)."""
        return self.step

    @computed_field
    @property
    def final_loss(self) -> float | None:
        """The last loss of a finished job."""
        if self.status != "finished":
            return None
        value = (self.result or {}).get("final_loss")
        return float(value) if value is not None else self.loss

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL


def new_job_id(kind: str) -> str:
    """Sortable by creation time, safe as a directory name: ``train-20260124-015700-3fa9c1``."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{kind}-{stamp}-{secrets.token_hex(3)}"


def workspace_of(db: sqlite_utils.Database) -> Workspace:
    """The workspace whose database this is (``<home>/loraport.db``)."""
    row = db.execute("PRAGMA database_list").fetchone()
    if not row or not row[2]:
        raise LoraportError("this database has no file, so it has no workspace: pass workspace= explicitly.")
    return Workspace(Path(row[2]).parent)


def enqueue(
    db: sqlite_utils.Database,
    kind: str,
    config: TrainConfig | dict,
    *,
    thread_id: str | None = None,
    parent_job_id: str | None = None,
    workspace: Workspace | None = None,
) -> str:
    """Queue a job: write ``runs/<job-id>/config.json`` (atomically), the row, and a ``queued`` event."""
    workspace = workspace or workspace_of(db)
    if isinstance(config, TrainConfig):
        cfg = config.model_dump(mode="json")
    elif kind == "train":
        try:  # refuse a bad config before it is queued, not when a worker meets it
            cfg = TrainConfig.model_validate(config).model_dump(mode="json")
        except ValidationError as err:
            raise LoraportError(f"the training config is not valid: {err}") from None
    else:
        cfg = dict(config)
    job_id = new_job_id(kind)
    run_dir = workspace.run_dir(job_id)
    run_dir.mkdir(parents=True, exist_ok=False)
    atomic_write_json(run_dir / "config.json", cfg)
    total = (cfg.get("optim") or {}).get("steps") if kind == "train" else None
    db["jobs"].insert(
        {
            "id": job_id, "kind": kind, "status": "queued", "config": json.dumps(cfg), "run_dir": str(run_dir),
            "thread_id": thread_id, "parent_job_id": parent_job_id, "recipe": cfg.get("recipe"),
            "model_id": (cfg.get("model") or {}).get("id"), "created_at": now_iso(), "total": total,
            "step": 0, "cancel_requested": 0, "attempts": 0,
        }
    )
    append_event(db, run_dir, JobEvent(job_id=job_id, kind=kind, type="queued", total=total))
    return job_id


def get_job(db: sqlite_utils.Database, job_id: str) -> JobRecord:
    """The job's record; ``NotFoundError`` names the command that lists the real ids."""
    rows = list(db["jobs"].rows_where("id = ?", [job_id]))
    if not rows:
        raise NotFoundError(f"no job with id {job_id!r}: `loraport jobs list` shows the jobs of this workspace.")
    return _record(rows[0])


def list_jobs(
    db: sqlite_utils.Database, status: str | None = None, kind: str | None = None, limit: int = 50,
    *, thread_id: str | None = None,
) -> list[JobRecord]:
    """Newest first, optionally only one status, kind and/or conversation thread."""
    if status is not None and status not in STATUSES:
        raise LoraportError(f"unknown job status {status!r}: use one of {', '.join(STATUSES)}.")
    where, args = [], []
    for column, value in (("status", status), ("kind", kind), ("thread_id", thread_id)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    rows = db["jobs"].rows_where(
        " AND ".join(where) or None, args, order_by="created_at DESC, rowid DESC", limit=max(1, int(limit))
    )
    return [_record(r) for r in rows]


def thread_jobs(db: sqlite_utils.Database, thread_ids: list[str], *, skip: list[str] = ()) -> list[JobRecord]:
    """The jobs of these conversation threads, oldest first, leaving out the ids in ``skip`` (one query)."""
    if not thread_ids:
        return []
    where = f"thread_id IN ({', '.join('?' * len(thread_ids))})"
    if skip:
        where += f" AND id NOT IN ({', '.join('?' * len(skip))})"
    rows = db["jobs"].rows_where(where, [*thread_ids, *skip], order_by="created_at, rowid")
    return [_record(r) for r in rows]


def request_cancel(db: sqlite_utils.Database, job_id: str) -> JobRecord:
    """Cancel a job: a waiting one at once; a running one at its next step (its worker reads the flag)."""
    job = get_job(db, job_id)
    if job.is_terminal:
        raise LoraportError(f"job {job_id} is already {job.status}: there is nothing to cancel.")
    with db.conn:
        cur = db.execute(
            "UPDATE jobs SET status = 'cancelled', cancel_requested = 1, finished_at = ? "
            "WHERE id = ? AND status IN ('queued', 'interrupted')",
            [now_iso(), job_id],
        )
        if cur.rowcount == 0:  # running (or claimed a moment ago): the worker stops at its next step
            db.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", [job_id])
    if cur.rowcount:
        append_event(db, Path(job.run_dir), JobEvent(job_id=job_id, kind=job.kind, type="cancelled",
                                                     step=job.step, message="cancelled before it ran"))
    return get_job(db, job_id)


def cancel_requested(db: sqlite_utils.Database, job_id: str) -> bool:
    row = db.execute("SELECT cancel_requested FROM jobs WHERE id = ?", [job_id]).fetchone()
    return bool(row and row[0])


def requeue(db: sqlite_utils.Database, job_id: str) -> JobRecord:
    """Put a cancelled, failed or interrupted job back in the queue; it resumes from its latest checkpoint."""
    job = get_job(db, job_id)
    if job.status not in ("cancelled", "failed", "interrupted"):
        raise LoraportError(
            f"job {job_id} is {job.status}: only a cancelled, failed or interrupted job can be resumed."
        )
    with db.conn:
        db.execute(
            "UPDATE jobs SET status = 'queued', cancel_requested = 0, error = NULL, finished_at = NULL "
            "WHERE id = ?", [job_id],
        )
    append_event(db, Path(job.run_dir), JobEvent(job_id=job_id, kind=job.kind, type="queued", step=job.step,
                                                 total=job.total, message=f"resume requested after {job.status}"))
    return get_job(db, job_id)


def append_event(db: sqlite_utils.Database, run_dir: Path, event: JobEvent | dict) -> dict:
    """Record one event in ``job_events`` and ``events.jsonl`` (same id) and mirror it on the job row."""
    event = event if isinstance(event, JobEvent) else JobEvent.model_validate(event)
    data = event.model_dump(mode="json")
    mirror = {k: data[k] for k in ("step", "total", "loss") if data[k] is not None}
    if event.type in TERMINAL:  # a terminal event decides the row's status; "running" is set by the claim
        mirror.update(status=event.type, finished_at=now_iso())
        if event.type == "failed":
            mirror["error"] = event.message
        if event.type == "finished" and event.path:
            mirror["lora_path"] = event.path
    # Plain SQL, not sqlite-utils' insert/update: those re-read the schema on every call, and a training run
    # sends an event per step.
    with db.conn:  # the event and its mirror land together or not at all
        event_id = db.execute(
            "INSERT INTO job_events (job_id, type, step, ts, data) VALUES (?, ?, ?, ?, ?)",
            [event.job_id, event.type, event.step, event.ts, json.dumps(data)],
        ).lastrowid
        if mirror:
            db.execute(f"UPDATE jobs SET {', '.join(f'{k} = ?' for k in mirror)} WHERE id = ?",
                       [*mirror.values(), event.job_id])
    data["id"] = event_id
    with writing(Path(run_dir), "the job's event log (events.jsonl)"):
        _append_line(Path(run_dir) / "events.jsonl", data, durable=event.is_terminal or event.type == "checkpoint")
    return data


def _append_line(path: Path, obj: dict, *, durable: bool) -> None:
    """One JSON line per event. A line is written with one write(); fsync only at milestones (cheap enough)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(obj) + "\n")
        if durable:
            f.flush()
            os.fsync(f.fileno())


def events(db: sqlite_utils.Database, job_id: str, after_id: int = 0) -> list[dict]:
    """Events of a job in order, each the ``JobEvent`` fields plus its ``id``; ``after_id`` pages on."""
    rows = db.execute(
        "SELECT id, data FROM job_events WHERE job_id = ? AND id > ? ORDER BY id", [job_id, int(after_id)]
    ).fetchall()
    return [{**json.loads(data), "id": event_id} for event_id, data in rows]


def wait_for_events(
    db: sqlite_utils.Database, job_id: str, after_id: int = 0, *, timeout_s: float = 30.0, poll_s: float = 0.2
) -> list[dict]:
    """Block until the job has events after ``after_id`` (returns them) or ``timeout_s`` passes (returns [])."""
    get_job(db, job_id)  # an unknown id fails at once, not after the timeout
    deadline = time.monotonic() + timeout_s
    while True:
        found = events(db, job_id, after_id)
        if found or time.monotonic() >= deadline:
            return found
        time.sleep(poll_s)


def follow(db: sqlite_utils.Database, job_id: str, *, after_id: int = 0, poll_s: float = 0.2):
    """Yield the job's events as they come, ending after its terminal event (for surfaces that watch a job)."""
    while True:
        batch = wait_for_events(db, job_id, after_id, timeout_s=poll_s * 10, poll_s=poll_s)
        for event in batch:
            after_id = event["id"]
            yield event
            if event["type"] in TERMINAL:
                return
        if not batch and get_job(db, job_id).is_terminal:
            return


def _record(row: dict) -> JobRecord:
    return JobRecord(
        job_id=row["id"], kind=row["kind"], status=row["status"], run_dir=row["run_dir"],
        config=json.loads(row["config"] or "{}"), recipe=row["recipe"], model_id=row["model_id"],
        thread_id=row["thread_id"], parent_job_id=row["parent_job_id"], created_at=row["created_at"],
        started_at=row["started_at"], finished_at=row["finished_at"], step=row["step"], total=row["total"],
        loss=row["loss"], lora_path=row["lora_path"], error=row["error"],
        cancel_requested=bool(row["cancel_requested"]), worker_pid=row["worker_pid"], device=row.get("device"),
        attempts=row.get("attempts") or 0, resumed_from=row["resumed_from"],
        result=json.loads(row["result"]) if row.get("result") else None,
    )
