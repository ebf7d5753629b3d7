"""Captioning a whole dataset as a ``caption`` job: queued, run by the worker, with progress events.

trainer/ must not import tools/, so the runner is listed in ``tools.jobs.JOB_KINDS``, the dict the surfaces
hand to the worker.
"""

from collections.abc import Callable
from pathlib import Path

from core.errors import LoraportError
from core.store import open_db
from core.workspace import Workspace

from tools.caption.service import BACKENDS, caption_all, clean_trigger
from tools.dataset.service import resolve_dataset_id

KIND = "caption"


def enqueue_caption_job(dataset: str | Path, *, backend: str = "auto", trigger_word: str | None = None,
                        overwrite: bool = False, thread_id: str | None = None,
                        workspace: Workspace | None = None) -> str:
    """Queue captioning of every file of a dataset; returns the job id (its progress arrives as job events)."""
    from trainer.jobs import enqueue

    if backend not in BACKENDS:
        raise LoraportError(f"unknown caption backend {backend!r}: use one of {', '.join(BACKENDS)}.")
    workspace = workspace or Workspace.from_settings()
    db = open_db(workspace)
    dataset_id = resolve_dataset_id(db, workspace, dataset)
    config = {"dataset_id": dataset_id, "backend": backend, "trigger_word": clean_trigger(trigger_word),
              "overwrite": overwrite}
    return enqueue(db, KIND, config, thread_id=thread_id, workspace=workspace)


def run_caption_job(workspace: Workspace, job, emit: Callable[[dict], None], should_stop: Callable[[], bool]) -> dict:
    """The worker's runner for ``caption`` jobs: one progress event per file captioned."""
    cfg = job.config

    def progress(done: int, total: int, name: str) -> None:
        emit({"type": "progress", "step": done, "total": total, "message": name})

    run = caption_all(cfg["dataset_id"], backend=cfg.get("backend", "auto"), trigger_word=cfg.get("trigger_word"),
                      overwrite=bool(cfg.get("overwrite")), on_progress=progress, should_stop=should_stop,
                      workspace=workspace)
    return {**run.model_dump(mode="json"), "steps": run.captioned + run.skipped + len(run.errors)}
