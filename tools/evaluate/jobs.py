"""Evaluation as an ``evaluate`` job: queued, run by the worker, progress as job events.

trainer/ must not import tools/, so the runner is listed in ``tools.jobs.JOB_KINDS``, the dict the surfaces
hand to the worker.
"""

from collections.abc import Callable
from pathlib import Path

from core.store import open_db
from core.workspace import Workspace

KIND = "evaluate"


class _Stopped(Exception):
    """Raised between phases when the job is cancelled: nothing is written until the report, so it leaves nothing
    half-done."""


def enqueue_evaluate_job(lora_or_job: str, dataset: str | None = None, *, checkpoints: bool = True,
                         seeds: list[int] | None = None, thread_id: str | None = None,
                         old_lora: str | None = None,
                         workspace: Workspace | None = None) -> str:
    """Queue an evaluation of a LoRA or a finished training job; returns the job id (results in its report)."""
    from tools.evaluate.source import resolve
    from trainer.jobs import enqueue

    workspace = workspace or Workspace.from_settings()
    resolve(lora_or_job, dataset, workspace=workspace)  # refuse a bad reference now, not when the worker meets it
    config = {"lora_or_job": str(lora_or_job), "dataset": None if dataset is None else str(dataset),
              "checkpoints": checkpoints, "seeds": list(seeds or [42]), "old_lora": old_lora}
    parent = str(lora_or_job) if not Path(str(lora_or_job)).exists() else None
    return enqueue(open_db(workspace), KIND, config, thread_id=thread_id, parent_job_id=parent, workspace=workspace)


def run_evaluate_job(workspace: Workspace, job, emit: Callable[[dict], None], should_stop: Callable[[], bool]) -> dict:
    """The worker's runner for ``evaluate`` jobs: one progress event per phase; the report lands in the job's dir.
    A cancel is honoured at the next phase."""
    from tools.evaluate.service import evaluate

    cfg = job.config
    phase = {"n": 0}

    def progress(message: str) -> None:
        if should_stop():
            raise _Stopped
        phase["n"] += 1
        emit({"type": "progress", "step": phase["n"], "message": message})

    try:
        report = evaluate(cfg["lora_or_job"], cfg.get("dataset"), checkpoints=bool(cfg.get("checkpoints", True)),
                          out_dir=Path(job.run_dir) / "evaluation", seeds=tuple(cfg.get("seeds") or (42,)),
                          old_lora=cfg.get("old_lora"), on_progress=progress, workspace=workspace)
    except _Stopped:
        return {"status": "cancelled", "steps": phase["n"]}
    return {"status": report.verdict.status, "summary": report.summary, "report_json": report.report_json,
            "report_html": report.report_html, "steps": phase["n"]}
