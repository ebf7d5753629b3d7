"""The dispatcher: claims waiting jobs, submits each to Ray with its resources, relays events, records the end.

It runs inside the worker loop (``run_worker(..., executor=RayExecutor(...))``) on the machine that holds the
store, and is the store's only writer for the jobs it owns: the claim puts this process's owner token on the row,
so a local worker that finds it dead takes the job back (interrupted -> resumed) like any other.

Resume after a lost node or worker process is Ray's task retry (``max_retries``, system failures only): the new
attempt finds the run directory on shared storage and resumes from its latest checkpoint; its start event says
so and the job's ``attempts`` counts it. Cancel sets the job's stop flag in the hub, read at the job's next step (a job
still waiting for resources is cancelled in Ray's queue at once).
"""

import logging
import secrets
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from core.atomic import atomic_write_json
from core.errors import LoraportError
from core.events import JobEvent
from core.workspace import Workspace
from trainer import jobs as jobstore
from trainer.checkpoints import checkpoint_step, latest_checkpoint
from trainer.cluster.remote import Hub, run_on_cluster
from trainer.cluster.resources import Resources, default_resources, describe_nodes, fits_somewhere, ray_options
from trainer.jobs import JobRecord
from trainer.worker import disk_full_message, save_traceback

log = logging.getLogger(__name__)
_LIFECYCLE = ("queued", "started", "finished", "failed", "cancelled", "interrupted")


@dataclass
class _Running:
    job: JobRecord
    ref: Any
    resources: Resources
    notes: list[str] = field(default_factory=list)
    started: bool = False
    stop_sent: str | None = None


class RayExecutor:
    """Runs claimed jobs as Ray tasks; ``tick`` submits and relays, ``shutdown`` stops them (they resume later)."""

    def __init__(self, address: str, runners: Mapping[str, Callable], *,
                 resources_for: Callable[[JobRecord], Resources] = default_resources,
                 max_pending: int = 4, max_retries: int = 3, job_id: str | None = None):
        self.address, self.runners, self.resources_for = address, dict(runners), resources_for
        self.only = job_id  # take only this job (a foreground run), else any waiting one
        self.max_pending, self.max_retries = max_pending, max_retries
        self.running: dict[str, _Running] = {}
        self.device = "ray"
        self._snapshot_at = 0.0
        self._ray, self._own_connection = _connect(address)
        self._hub = None
        self._task = self._ray.remote(run_on_cluster)

    # ---- the worker loop's interface -----------------------------------------------------------------------

    def tick(self, db: sqlite_utils.Database, workspace: Workspace, *, on_event: Callable | None = None) -> int:
        """Submit what may start, relay events, record jobs that ended; returns how many ended."""
        from trainer.worker import claim

        self._open()
        self._snapshot(workspace)
        while sum(not r.started for r in self.running.values()) < self.max_pending:
            job = claim(db, device=f"ray:{secrets.token_hex(4)}", kinds=list(self.runners), job_id=self.only)
            if job is None:
                break
            self._submit(db, workspace, job, on_event)
        return self._pump(db, on_event)

    def idle(self) -> bool:
        return not self.running

    def shutdown(self, db: sqlite_utils.Database, *, grace_s: float = 30.0, on_event: Callable | None = None) -> None:
        """Stop every job at its next step (``interrupted``: it resumes on the next start), then disconnect."""
        from trainer.worker import _set_interrupted

        for run in self.running.values():
            self._hub.request_stop.remote(run.job.job_id, "shutdown")
            run.stop_sent = run.stop_sent or "shutdown"
        deadline = time.monotonic() + grace_s
        while self.running and time.monotonic() < deadline:
            self._pump(db, on_event)
            time.sleep(0.2)
        for job_id, run in list(self.running.items()):
            self._ray.cancel(run.ref, force=True)
            _set_interrupted(db, job_id)
            del self.running[job_id]
        if self._hub is not None:
            self._ray.kill(self._hub)
            self._hub = None
        if self._own_connection:  # a connection someone else opened (a test, a notebook) stays theirs
            self._ray.shutdown()

    def _open(self) -> None:
        """The connection and the hub (one actor, one process, for every job), again after a shutdown."""
        if not self._ray.is_initialized():
            self._ray, self._own_connection = _connect(self.address)
        if self._hub is None:
            # Pinned (not soft) to this process's node: a soft affinity let Ray place it on a worker node, whose
            # loss then took every job's events with it.
            hub = self._ray.remote(num_cpus=0, max_restarts=0)(Hub)
            self._hub = hub.options(scheduling_strategy=self._here()).remote()

    def _here(self):
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        return NodeAffinitySchedulingStrategy(self._ray.get_runtime_context().get_node_id(), soft=False)

    def _snapshot(self, workspace: Workspace, every_s: float = 10.0) -> None:
        """What the cluster has, in ``cluster.json`` for planners that are not connected to Ray (the server)."""
        if time.monotonic() - self._snapshot_at < every_s:
            return
        self._snapshot_at = time.monotonic()
        nodes = [{"address": n.get("NodeManagerAddress"), "resources": n.get("Resources") or {}}
                 for n in self._ray.nodes() if n.get("Alive", True)]
        atomic_write_json(workspace.home / "cluster.json", {"address": self.address, "ts": time.time(),
                                                            "nodes": nodes})

    # ---- one job -------------------------------------------------------------------------------------------

    def _submit(self, db, workspace: Workspace, job: JobRecord, on_event) -> None:
        ray = self._ray
        res = self.resources_for(job)
        opts, notes = ray_options(res, ray.cluster_resources())
        nodes = ray.nodes()
        if res.beside_store:  # on this node, where the store is a local file
            here = ray.get_runtime_context().get_node_id()
            nodes = [n for n in nodes if n.get("NodeID") == here]
            opts["scheduling_strategy"] = self._here()
            notes.append("runs on the dispatcher's node, beside the store it writes")
        if not fits_somewhere(opts, nodes):
            self._record(db, job, {"type": "failed", "message": (
                f"no node of the Ray cluster can run this job: it needs {res.describe()} ({res.why}); the cluster "
                f"has {describe_nodes(nodes)}. Add such a node (`ray start --address HEAD:6379 ...`), or plan a "
                f"smaller tier, then `loraport jobs resume {job.job_id}`.")}, on_event)
            return
        nproc = res.processes or max(1, int(opts.get("num_gpus") or 0))
        # The job's code reads the workspace from LORAPORT_HOME (caches, datasets): the dispatcher's, on every node.
        env = {"env_vars": {"LORAPORT_HOME": str(workspace.home)}}
        ref = self._task.options(**opts, max_retries=self.max_retries, retry_exceptions=False, runtime_env=env,
                                 name=f"loraport-{job.job_id}").remote(
            self.runners[job.kind], str(workspace.home), job.model_dump(mode="json"), self._hub, nproc)
        self.running[job.job_id] = _Running(job=job, ref=ref, resources=res, notes=notes)
        db["jobs"].update(job.job_id, {"device": f"ray (waiting for {res.describe()})"})

    def _pump(self, db, on_event) -> int:
        if not self.running:
            return 0
        ray = self._ray
        runs = list(self.running.values())
        self._relay_all(db, on_event)
        for run in runs:
            if not run.stop_sent and jobstore.cancel_requested(db, run.job.job_id):
                run.stop_sent = "cancel"
                self._hub.request_stop.remote(run.job.job_id, "cancel")
                if not run.started:
                    ray.cancel(run.ref)  # still waiting for resources: leave Ray's queue now
        ready, _ = ray.wait([r.ref for r in runs], num_returns=len(runs), timeout=0)
        ended = 0
        for run in runs:
            if any(run.ref == ref for ref in ready):
                self._relay_all(db, on_event)
                self._end(db, run, on_event)
                self._hub.forget.remote(run.job.job_id)
                del self.running[run.job.job_id]
                ended += 1
        return ended

    def _relay_all(self, db, on_event) -> None:
        for job_id, batch in self._ray.get(self._hub.take.remote()).items():
            if job_id in self.running:
                self._relay(db, self.running[job_id], batch, on_event)

    def _relay(self, db, run: _Running, batch: list[dict], on_event) -> None:
        for event in batch:
            if event.get("type") == "_hello":
                self._started(db, run, event, on_event)
            elif event.get("type") in _LIFECYCLE:
                log.debug("job %s: runner sent a %s event; the executor writes those", run.job.job_id, event["type"])
            else:
                self._record(db, run.job, event, on_event)

    def _started(self, db, run: _Running, hello: dict, on_event) -> None:
        checkpoint = latest_checkpoint(Path(run.job.run_dir) / "checkpoints")
        where = f"on Ray node {hello['node']} (pid {hello['pid']})"
        what = f"resuming from {checkpoint.name}" if checkpoint else "starting from scratch"
        if hello["attempt"] > 1:
            what = f"the Ray worker running it was lost; {what} (attempt {hello['attempt']})"
        notes = "".join(f"; {note}" for note in run.notes)
        update: dict[str, Any] = {"device": f"ray:{hello['node']}", "worker_pid": hello["pid"],
                                  "resumed_from": str(checkpoint) if checkpoint else None}
        with db.conn:  # a retry counts as an attempt, as a local worker's resume does
            if run.started:
                db.execute("UPDATE jobs SET attempts = COALESCE(attempts, 0) + 1 WHERE id = ?", [run.job.job_id])
        db["jobs"].update(run.job.job_id, update)
        run.started = True
        step = checkpoint_step(checkpoint) if checkpoint else 0
        self._record(db, run.job, {"type": "started", "step": step, "total": run.job.total,
                                   "message": f"{what} {where}{notes}",
                                   "path": str(checkpoint) if checkpoint else None}, on_event)

    def _end(self, db, run: _Running, on_event) -> None:
        from ray.exceptions import RayTaskError, TaskCancelledError

        from trainer.worker import _finish

        job, record = run.job, (lambda event: self._record(db, run.job, event, on_event))
        try:
            out = self._ray.get(run.ref)
        except TaskCancelledError:
            step = jobstore.get_job(db, job.job_id).step
            record({"type": "cancelled", "step": step, "message": "cancelled while it waited for the cluster"})
            return
        except RayTaskError as err:
            cause = err.cause if isinstance(getattr(err, "cause", None), BaseException) else err
            self._failed(job, cause, str(err), record)
            return
        except Exception as err:  # the task's worker or node died more often than Ray retries, or Ray failed
            self._failed(job, err, traceback.format_exc(), record, lost=True)
            return
        reason = out.get("stop_reason")
        stopped = {"cancel": reason == "cancel", "shutdown": reason == "shutdown"}
        _finish(db, jobstore.get_job(db, job.job_id), out.get("result") or {}, stopped, record)

    def _failed(self, job: JobRecord, err: BaseException, trace: str, record, *, lost: bool = False) -> None:
        # The same words as a local failure (trainer.worker), a full disk included.
        message = disk_full_message(job, err)
        if message is None:
            if isinstance(err, LoraportError):
                message = err.message
            elif lost:
                message = (f"its Ray worker or node was lost {self.max_retries + 1} times ({type(err).__name__}); "
                           f"not retried again. `loraport jobs resume {job.job_id}` tries once more.")
            else:
                message = f"{type(err).__name__}: {err}"
            message += save_traceback(job, trace)
        record({"type": "failed", "message": message})

    def _record(self, db, job: JobRecord, event: dict, on_event) -> None:
        data = jobstore.append_event(db, Path(job.run_dir), JobEvent.model_validate(
            {**event, "job_id": job.job_id, "kind": job.kind}))
        if on_event is not None:
            on_event(data)


def _connect(address: str):
    """Import Ray and join the cluster at ``address`` (``auto``, ``HOST:6379`` or ``ray://HOST:10001``); returns
    the module and whether this call opened the connection."""
    try:
        import ray
    except ImportError:
        raise LoraportError("LORAPORT_RAY_ADDRESS is set but Ray is not installed: `pip install 'loraport[cluster]'`, "
                            "or unset it to run jobs on this machine.") from None
    if ray.is_initialized():
        return ray, False
    try:
        ray.init(address=address, namespace="loraport", log_to_driver=False, logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError) as err:
        raise LoraportError(f"cannot join the Ray cluster at {address!r} ({err}): start its head with "
                            "`ray start --head`, or fix LORAPORT_RAY_ADDRESS.") from None
    return ray, True
