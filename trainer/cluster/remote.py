"""What runs inside the cluster: the job's task, and the hub that carries its events and its stop flag.

Why an actor and not the run directory for events: the store is SQLite, which must never be written from
several machines over a network filesystem, and tailing ``events.jsonl`` over NFS lags by the client's attribute
cache. So the task pushes each event to one small actor on the dispatcher's node (one for all jobs: an actor is
a process, and starting one per job cost seconds); the dispatcher, the store's only writer, drains it and
records the events as a local worker would (same tables, same ``events.jsonl``, same feed).
The run directory, on storage every node sees, holds what must outlive a node: checkpoints and artifacts. A
retried task (its worker process or node was lost) resumes from the latest checkpoint there.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from core.errors import LoraportError
from core.workspace import Workspace
from trainer.jobs import JobRecord

STOP_POLL_S = 0.25  # the stop flag is read from the hub at most this often (a step polls it each time)


class Hub:
    """On the dispatcher's node (Ray wraps it as an actor): per job, its events in order, stop flag, attempts."""

    def __init__(self) -> None:
        self.events: dict[str, list[dict]] = {}
        self.stop_reason: dict[str, str] = {}
        self.attempts: dict[str, int] = {}

    def hello(self, job_id: str, info: dict) -> int:
        """A task attempt starts: record where, and return its number (1, then 2, ... on Ray's retries)."""
        self.attempts[job_id] = self.attempts.get(job_id, 0) + 1
        self.push(job_id, {"type": "_hello", "attempt": self.attempts[job_id], **info})
        return self.attempts[job_id]

    def push(self, job_id: str, event: dict) -> None:
        self.events.setdefault(job_id, []).append(event)

    def take(self) -> dict[str, list[dict]]:
        out, self.events = self.events, {}
        return out

    def request_stop(self, job_id: str, reason: str) -> None:
        self.stop_reason.setdefault(job_id, reason)

    def stop_requested(self, job_id: str) -> str | None:
        return self.stop_reason.get(job_id)

    def forget(self, job_id: str) -> None:
        for table in (self.events, self.stop_reason, self.attempts):
            table.pop(job_id, None)


def run_on_cluster(runner: Callable, home: str, job_data: dict, hub, nproc: int = 1) -> dict:
    """The Ray task: run ``runner`` as a local worker would, with events and stop going through ``hub``."""
    import ray

    job = JobRecord.model_validate(job_data)
    run_dir = Path(job.run_dir)
    if not (run_dir / "config.json").is_file():
        raise LoraportError(
            f"node {socket.gethostname()} cannot see the workspace ({run_dir} is missing there): mount the "
            f"workspace at the same path on every node (e.g. NFS at {home}).")
    job_id = job.job_id
    # Nothing here blocks on the hub until the job's work is done: a task blocked in ray.get lends its CPU back to
    # the scheduler, which then starts another job beside it (measured: two tiny trainings on a 1-CPU node).
    hub.hello.remote(job_id, {"node": socket.gethostname(), "pid": os.getpid()})
    state = {"reason": None, "asked": hub.stop_requested.remote(job_id), "at": time.monotonic()}

    def emit(event: dict) -> None:
        hub.push.remote(job_id, dict(event))  # fire and forget: calls from one caller reach the actor in order

    def should_stop() -> bool:
        """The stop flag as of the last answer: a new question is sent only once the previous one is answered."""
        if state["reason"] is None and time.monotonic() - state["at"] >= STOP_POLL_S:
            ready, _ = ray.wait([state["asked"]], timeout=0)
            if ready:
                try:
                    state["reason"] = ray.get(ready[0])  # answered already: no wait
                except ray.exceptions.RayActorError:  # the dispatcher is gone: finish, its successor resumes
                    state["reason"] = "shutdown"
                state["asked"], state["at"] = hub.stop_requested.remote(job_id), time.monotonic()
        return state["reason"] is not None

    workspace = Workspace(Path(home))
    if nproc > 1 and job.kind == "train":
        result = run_torchrun(job, nproc, emit, should_stop)
    else:
        result = runner(workspace, job, emit, should_stop) or {}
    try:
        ray.get(hub.stop_requested.remote(job_id))  # a call waited on: every event pushed before it has arrived
    except ray.exceptions.RayActorError:
        pass  # the dispatcher is gone; the result still reaches whoever holds this task
    return {"result": result, "stop_reason": state["reason"]}  # a stop the job saw, not one that came after it


def run_torchrun(job: JobRecord, nproc: int, emit: Callable[[dict], None], should_stop: Callable[[], bool]) -> dict:
    """A several-GPU training inside one task: ``torchrun -m trainer.train`` (rank 0 writes every file); its
    progress is read from the run's ``losses.jsonl`` and ``checkpoints/``; a stop ends the process group."""
    import json

    from trainer.checkpoints import checkpoint_step, latest_checkpoint

    run_dir = Path(job.run_dir)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
           "-m", "trainer.train", str(run_dir / "config.json"), str(run_dir)]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=open(run_dir / "torchrun.log", "ab"))
    total = (job.config.get("optim") or {}).get("steps")
    seen_lines, seen_ckpt, stopped = 0, None, False
    while proc.poll() is None or not stopped:
        if not stopped and should_stop():
            os.killpg(proc.pid, signal.SIGTERM)
            stopped = True
        losses = run_dir / "losses.jsonl"
        # Complete lines only: the trainer may be halfway through appending the last one; it is read next time.
        lines = (losses.read_text() if losses.is_file() else "").split("\n")[:-1]
        for line in lines[seen_lines:]:
            row = json.loads(line)
            emit({"type": "progress", "step": row["step"], "total": total, "loss": row.get("loss"),
                  "lr": row.get("lr")})
        seen_lines = len(lines)
        ckpt = latest_checkpoint(run_dir / "checkpoints")
        if ckpt is not None and ckpt != seen_ckpt:
            seen_ckpt = ckpt
            emit({"type": "checkpoint", "step": checkpoint_step(ckpt), "total": total, "path": str(ckpt)})
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    if proc.wait() != 0 and not stopped:
        raise LoraportError(f"torchrun exited with {proc.returncode}: see {run_dir / 'torchrun.log'}")
    report = run_dir / "report.json"
    data = json.loads(report.read_text()) if report.is_file() and not stopped else {}
    data.pop("losses", None)
    data.setdefault("steps", checkpoint_step(seen_ckpt) if seen_ckpt else 0)
    return data
