"""Training jobs: launch a resolved config as a job, watch it, cancel or resume it (``tools.train.config``
builds the config).

The same functions serve the agent, the CLI and the REST API. They queue work; the worker (``loraport worker``,
started by ``loraport serve``) runs it, so a chat turn never waits for a training run.
"""

from pydantic import BaseModel, Field

from core.store import open_db
from core.workspace import Workspace
from tools.train.disk import require_disk
from trainer import jobs
from trainer.config import TrainConfig
from trainer.jobs import JobRecord


class JobRef(BaseModel):
    job_id: str
    status: str
    run_dir: str
    worker_running: bool = Field(description="Whether a worker is alive to run it; if not, `loraport worker`.")


def _workspace(workspace: Workspace | None) -> Workspace:
    """The workspace the caller passed; a library caller without one gets $LORAPORT_HOME's."""
    return workspace or Workspace.from_settings()


def launch(config: TrainConfig, thread_id: str | None = None, *, workspace: Workspace | None = None,
           parent_job_id: str | None = None) -> JobRef:
    """Queue a LoRA training run with this resolved config; the worker runs it (costs GPU time: ask first).
    ``parent_job_id``: the run it improves (a retrain)."""
    workspace = _workspace(workspace)
    require_disk(config, workspace)  # refuse now, not at the first checkpoint an hour in
    job_id = jobs.enqueue(open_db(workspace), "train", config, thread_id=thread_id, parent_job_id=parent_job_id,
                          workspace=workspace)
    return _ref(workspace, job_id)


def job_status(job_id: str, *, workspace: Workspace | None = None) -> JobRecord:
    """Show a job: status, step of total, latest loss, LoRA path when finished, error when failed."""
    return jobs.get_job(open_db(_workspace(workspace)), job_id)


def cancel_job(job_id: str, *, workspace: Workspace | None = None) -> JobRecord:
    """Cancel a job: a queued one at once, a running one at its next step; its checkpoints are kept."""
    return jobs.request_cancel(open_db(_workspace(workspace)), job_id)


def resume_job(job_id: str, *, workspace: Workspace | None = None) -> JobRef:
    """Queue a cancelled, failed or interrupted job again; it continues from its latest checkpoint."""
    workspace = _workspace(workspace)
    jobs.requeue(open_db(workspace), job_id)
    return _ref(workspace, job_id)


def list_jobs(status: str | None = None, kind: str | None = None, limit: int = 20, *,
              workspace: Workspace | None = None) -> list[JobRecord]:
    """List recent jobs, newest first, optionally only one status (queued, running, finished, ...) or kind."""
    return jobs.list_jobs(open_db(_workspace(workspace)), status=status, kind=kind, limit=limit)


def _ref(workspace: Workspace, job_id: str) -> JobRef:
    from trainer.worker import live_workers

    job = jobs.get_job(open_db(workspace), job_id)
    return JobRef(job_id=job_id, status=job.status, run_dir=job.run_dir, worker_running=bool(live_workers(workspace)))

