"""The worker: claims queued jobs one at a time per device and runs them in-process.

A claim is one ``UPDATE ... WHERE status IN ('queued', 'interrupted') ... RETURNING`` statement, so two workers
never take the same job, and it refuses while another job runs on the same device, so two trainings never share
a GPU. A worker that dies (crash, OOM kill, ``kill -9``) leaves its job ``running``; the next claim by any worker
finds that owner dead (``trainer.ownership``), marks the job ``interrupted`` and takes it again: training resumes
from its latest checkpoint (``run_training(..., resume=True)``). SIGTERM / SIGINT stop the job at its next step as
``interrupted`` too. Cancel is the ``cancel_requested`` flag, read by ``should_stop`` at every step.

Job kinds: a runners dict maps a kind to ``runner(workspace, job, emit, should_stop) -> dict``. trainer/ knows only
``train`` (``JOB_RUNNERS``); the surfaces pass ``tools.jobs.JOB_KINDS``, which adds the kinds defined above trainer/
(caption, evaluate, ...). A worker only claims kinds it can run.
"""

import json
import logging
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import sqlite_utils

from core.atomic import atomic_write_json
from core.disk import DiskFullError, DiskReserve, is_disk_full
from core.errors import LoraportError
from core.events import JobEvent
from core.store import now_iso, open_db
from core.workspace import Workspace
from trainer import jobs as jobstore
from trainer.checkpoints import checkpoint_step, latest_checkpoint
from trainer.config import TrainConfig
from trainer.jobs import JobRecord
from trainer.ownership import owner_alive, owner_token, reap_dead
from trainer.worker_lock import WorkerLock, watch_parent

log = logging.getLogger(__name__)

Emit = Callable[[dict], None]
Runner = Callable[[Workspace, JobRecord, Emit, Callable[[], bool]], dict | None]
# Lifecycle events belong to the worker; a runner reports only progress, checkpoint and sample.
_LIFECYCLE = ("queued", "started", "finished", "failed", "cancelled")


def run_train_job(workspace: Workspace, job: JobRecord, emit: Emit, should_stop: Callable[[], bool], *,
                  threads: int | None = None) -> dict:
    """The ``train`` kind: ``trainer.train.run_training`` on the job's resolved config, resuming if it can.

    The encoded clips are cached in the workspace's per-model cache, so a retrain skips encoding them again."""
    from trainer.train import run_training  # heavy (torch, diffusers): imported only when a job runs

    config = TrainConfig.model_validate(job.config)
    result = run_training(config, Path(job.run_dir), emit=emit, should_stop=should_stop, resume=True,
                          cache_dir=workspace.cache_dir(config.model.id), threads=threads)
    data = result.model_dump(mode="json") if hasattr(result, "model_dump") else dict(vars(result))
    data.pop("losses", None)  # the full curve lives in report.json; the row keeps the summary
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in data.items()}


JOB_RUNNERS: dict[str, Runner] = {"train": run_train_job}  # the default runners: the kinds trainer/ defines


# ---- taking a job ---------------------------------------------------------------------------------------------

def claim(
    db: sqlite_utils.Database, *, device: str, kinds: list[str] | None = None, job_id: str | None = None
) -> JobRecord | None:
    """Atomically take the oldest waiting job (interrupted first), or ``job_id``; None while the device is busy."""
    kinds = list(JOB_RUNNERS) if kinds is None else kinds
    if not kinds:
        return None
    pick = f"status IN ('queued', 'interrupted') AND kind IN ({', '.join('?' * len(kinds))})"
    args: list[Any] = list(kinds)
    if job_id is not None:
        pick += " AND id = ?"
        args.append(job_id)
    with db.conn:  # one statement: SQLite's single writer makes the pick and the update indivisible
        row = db.execute(
            "UPDATE jobs SET status = 'running', worker = ?, worker_pid = ?, device = ?, started_at = ?, "
            "attempts = COALESCE(attempts, 0) + 1 "
            f"WHERE id = (SELECT id FROM jobs WHERE {pick} ORDER BY status = 'interrupted' DESC, created_at, rowid "
            "LIMIT 1) AND status IN ('queued', 'interrupted') "
            "AND NOT EXISTS (SELECT 1 FROM jobs WHERE status = 'running' AND device = ?) RETURNING id",
            [owner_token(), os.getpid(), device, now_iso(), *args, device],
        ).fetchone()
    return jobstore.get_job(db, row[0]) if row else None


# ---- running one job ---------------------------------------------------------------------------------------

def execute(
    db: sqlite_utils.Database, workspace: Workspace, job: JobRecord, *,
    on_event: Callable[[dict], None] | None = None, stop: threading.Event | None = None,
    runners: Mapping[str, Runner] | None = None,
) -> JobRecord:
    """Run a job this process has claimed, and record how it ended."""
    run_dir = Path(job.run_dir)
    stopped = {"cancel": False, "shutdown": False}

    def record(event: dict) -> None:
        data = jobstore.append_event(db, run_dir, {**event, "job_id": job.job_id, "kind": job.kind})
        if on_event is not None:
            on_event(data)

    def emit(event: dict) -> None:
        event = event.model_dump() if isinstance(event, JobEvent) else dict(event)
        if event.get("type") in _LIFECYCLE:
            log.debug("job %s: runner sent a %s event; the worker writes those", job.job_id, event["type"])
            return
        record(event)

    def should_stop() -> bool:
        if stop is not None and stop.is_set():
            stopped["shutdown"] = True
        elif jobstore.cancel_requested(db, job.job_id):
            stopped["cancel"] = True
        return stopped["shutdown"] or stopped["cancel"]

    checkpoint = latest_checkpoint(Path(run_dir) / "checkpoints")
    db["jobs"].update(job.job_id, {"resumed_from": str(checkpoint) if checkpoint else None})
    resume_step = checkpoint_step(checkpoint) if checkpoint else 0
    record({"type": "started", "step": resume_step, "total": job.total,
            "message": f"resuming from {checkpoint.name}" if checkpoint else "starting from scratch",
            "path": str(checkpoint) if checkpoint else None})
    try:
        result = (runners or JOB_RUNNERS)[job.kind](workspace, job, emit, should_stop) or {}
    except (KeyboardInterrupt, SystemExit):
        _set_interrupted(db, job.job_id)
        raise
    except Exception as err:  # one job's crash must not take the worker down: record it, go on
        _record_failure(db, workspace, job, err, record)
        return jobstore.get_job(db, job.job_id)
    return _finish(db, job, result, stopped, record)


def _finish(db, job: JobRecord, result: dict, stopped: dict, record: Callable[[dict], None]) -> JobRecord:
    db["jobs"].update(job.job_id, {"result": json.dumps(result, default=str)})
    current = jobstore.get_job(db, job.job_id)
    step = result.get("steps", current.step)
    if stopped["cancel"] or (stopped["shutdown"] and jobstore.cancel_requested(db, job.job_id)):
        kept = latest_checkpoint(Path(job.run_dir) / "checkpoints")
        if result.get("lora_path"):  # the LoRA so far: a stop that saves (likeness often peaks early)
            db["jobs"].update(job.job_id, {"lora_path": result["lora_path"]})
        record({"type": "cancelled", "step": step, "path": str(kept) if kept else None,
                "message": f"cancelled at step {step}; checkpoints kept"})
    elif stopped["shutdown"]:
        _set_interrupted(db, job.job_id)
    else:
        from trainer.reference import finished_message  # an IC-LoRA's says how to use it with a reference

        record({"type": "finished", "step": step, "loss": result.get("final_loss"),
                "path": result.get("lora_path"), "message": finished_message(job.config, result.get("lora_path"))})
    return jobstore.get_job(db, job.job_id)


def _record_failure(db: sqlite_utils.Database, workspace: Workspace, job: JobRecord, err: Exception,
                    record: Emit) -> None:
    """Say why the job failed, in the user's words. A full disk is named as such (never the writer's internal
    text) with the way back: the last complete checkpoint is intact and resuming continues from it."""
    message = disk_full_message(job, err)
    if message is not None:
        disk_reserve(workspace).release()  # room to record the failure below
    else:
        message = err.message if isinstance(err, LoraportError) else f"{type(err).__name__}: {err}"
        message += save_traceback(job, traceback.format_exc())
    try:
        record({"type": "failed", "message": message})
    except Exception:  # even the event log may not fit on a full disk: the job's row must still say why
        log.exception("job %s: could not record its failure event", job.job_id)
        with db.conn:
            db.execute("UPDATE jobs SET status = 'failed', error = ?, finished_at = ?, worker = NULL, "
                       "worker_pid = NULL WHERE id = ?", [message, now_iso(), job.job_id])


def disk_full_message(job: JobRecord, err: BaseException) -> str | None:
    """The user's message when ``err`` is a full disk (None otherwise): where, and the way back."""
    run_dir = Path(job.run_dir)
    if not is_disk_full(err, run_dir):
        return None
    full = err if isinstance(err, DiskFullError) else DiskFullError(run_dir, "the job's files")
    kept = latest_checkpoint(run_dir / "checkpoints")
    since = f"the last complete checkpoint ({kept.name}) is intact and " if kept else ""
    return f"{full.message} Then `loraport jobs resume {job.job_id}`: {since}the run continues from there."


def save_traceback(job: JobRecord, trace: str) -> str:
    """Keep the traceback beside the run; returns the note that says where (empty when it could not be saved)."""
    path = Path(job.run_dir) / "error.log"
    try:
        path.write_text(trace)
    except OSError:
        log.exception("job %s failed and its traceback could not be saved", job.job_id)
        return ""
    return f" (traceback: {path})"


def _set_interrupted(db: sqlite_utils.Database, job_id: str) -> None:
    with db.conn:
        db.execute("UPDATE jobs SET status = 'interrupted', worker = NULL, worker_pid = NULL "
                   "WHERE id = ? AND status = 'running'", [job_id])


def open_worker_db(workspace: Workspace) -> sqlite_utils.Database:
    """The store, with commits that skip fsync: WAL + synchronous=NORMAL survives a crash of the process (what
    kill -9 tests) and loses at most the last events on power loss; a job left "running" then resumes from its
    checkpoint. With fsync per commit, a per-step event cost ~15 ms here, a quarter of a tiny-model step."""
    db = open_db(workspace)
    db.conn.execute("PRAGMA synchronous = NORMAL")
    return db


def default_device() -> str:
    import torch

    return "cuda:0" if torch.cuda.is_available() else "cpu"


def run_job(
    workspace: Workspace, job_id: str, *, on_event: Callable[[dict], None] | None = None,
    stop: threading.Event | None = None, device: str | None = None, poll_s: float = 0.5,
    on_wait: Callable[[str], None] | None = None, runners: Mapping[str, Runner] | None = None,
) -> JobRecord:
    """Run one job in this process (the foreground of `loraport train`) and return its final record.

    While another job holds the device it waits (``on_wait`` hears why, once); if a worker claims the job
    first, it follows that worker's events instead, so the caller sees the same stream either way.
    """
    db = open_worker_db(workspace)
    device = device or default_device()
    runners = runners or JOB_RUNNERS
    job = jobstore.get_job(db, job_id)
    if job.kind not in runners:
        raise LoraportError(f"this process cannot run {job.kind!r} jobs: start `loraport worker` to run them.")
    told = False
    while True:
        reap_dead(db)
        mine = claim(db, device=device, kinds=list(runners), job_id=job_id)
        if mine is not None:
            return execute(db, workspace, mine, on_event=on_event, stop=stop, runners=runners)
        job = jobstore.get_job(db, job_id)
        if job.is_terminal:
            return job
        if job.status == "running":
            break
        if on_wait is not None and not told:
            busy = db.execute("SELECT id FROM jobs WHERE status = 'running' AND device = ?", [device]).fetchone()
            on_wait(f"waiting: job {busy[0] if busy else '?'} is running on {device}")
            told = True
        if stop is not None and stop.wait(poll_s):
            return job
        if stop is None:
            time.sleep(poll_s)
    last = max((e["id"] for e in jobstore.events(db, job_id)), default=0)
    for event in jobstore.follow(db, job_id, after_id=last):
        if on_event is not None:
            on_event(event)
    return jobstore.get_job(db, job_id)


# ---- the worker loop ---------------------------------------------------------------------------------------

def run_worker(
    workspace: Workspace, *, once: bool = False, poll_s: float = 0.5, device: str | None = None,
    stop: threading.Event | None = None, on_event: Callable[[dict], None] | None = None,
    runners: Mapping[str, Runner] | None = None, parent_pid: int | None = None, executor: Any = None,
) -> int:
    """Run waiting jobs one at a time until stopped (with ``once``: until none is waiting); return how many ran.

    Holds the workspace's lock for ``device`` while it runs (``WorkerBusyError`` if another worker has it). With
    ``parent_pid`` (a worker started by ``loraport serve``) it stops as on SIGTERM once that process is gone.
    With an ``executor`` (``trainer.cluster.executor.RayExecutor``) jobs run on a cluster, many at once: each loop
    calls ``executor.tick`` (claim, submit, relay events, record ends) and a stop calls ``executor.shutdown``.
    """
    db = open_worker_db(workspace)
    device = executor.device if executor is not None else device or default_device()
    lock = WorkerLock(workspace, device)
    disk_reserve(workspace).ensure()
    stop = stop or threading.Event()
    restore = stop_on_signals(stop)
    if parent_pid is not None:
        watch_parent(parent_pid, stop, kernel_signal=threading.current_thread() is threading.main_thread())
    marker = _register(workspace, device)
    ran = 0
    try:
        while not stop.is_set():
            reap_dead(db)
            if executor is not None:  # jobs run elsewhere (trainer.cluster: a Ray cluster); this loop relays
                ran += executor.tick(db, workspace, on_event=on_event)
                if once and executor.idle():
                    break
                stop.wait(poll_s)
                continue
            job = claim(db, device=device, kinds=list(runners or JOB_RUNNERS))
            if job is None:
                if once:
                    break
                stop.wait(poll_s)
                continue
            log.info("worker %s: running %s job %s", os.getpid(), job.kind, job.job_id)
            execute(db, workspace, job, on_event=on_event, stop=stop, runners=runners)
            ran += 1
    finally:
        if executor is not None:
            executor.shutdown(db, on_event=on_event)  # its running jobs stop at their next step, resumable
        marker.unlink(missing_ok=True)
        restore()
        lock.release()
    return ran


def stop_on_signals(stop: threading.Event) -> Callable[[], None]:
    """First SIGTERM/SIGINT: stop the job at its next step (it resumes later). A second one: stop now."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for sig, prev in previous.items():
            signal.signal(sig, prev)

    return restore


def disk_reserve(workspace: Workspace) -> DiskReserve:
    """Space a worker sets aside while it can, and frees when the disk fills, to record why its job stopped."""
    return DiskReserve(workspace.home / "workers" / "disk-reserve")


def _register(workspace: Workspace, device: str) -> Path:
    """A marker file per live worker, so a surface can tell whether anyone will run a queued job."""
    marker = workspace.home / "workers" / f"{os.getpid()}.json"
    atomic_write_json(marker, {"pid": os.getpid(), "token": owner_token(), "device": device, "since": now_iso()})
    return marker


def live_workers(workspace: Workspace) -> list[dict]:
    """The workers running on this workspace now (markers of dead ones are removed)."""
    alive = []
    for marker in sorted((workspace.home / "workers").glob("*.json")):
        try:
            info = json.loads(marker.read_text())
        except (OSError, ValueError):
            continue
        if owner_alive(info.get("token")):
            alive.append(info)
        else:
            marker.unlink(missing_ok=True)
    return alive
