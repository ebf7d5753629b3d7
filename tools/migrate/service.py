"""Migrate a folder of LTX-2 LoRAs: plan every file, launch the batch after one approval, follow it, report.

``plan_migration`` launches nothing: it inspects every file, matches each to its clip folder and plans its run
(its own recipe and trigger, from the inspection). ``launch_migration`` queues one training per planned LoRA
and records the batch in ``migrations/<batch-id>.json``; ``advance`` queues each finished training's evaluation
(idempotent, so any surface may call it); ``batch_report`` reads the jobs into the final table.
"""

import secrets
import time
from pathlib import Path
from typing import Any

from core.atomic import atomic_write_json
from core.errors import LoraportError, NotFoundError
from core.store import open_db
from core.workspace import Workspace
from tools.migrate import match as matching
from tools.migrate.models import BatchReport, BatchRow, MigrationItem, MigrationPlan
from tools.migrate.scan import Found, classify, lora_files
from tools.plan.estimate import human_duration
from tools.train.cluster import cluster_hardware, cluster_slots
from trainer import jobs as jobstore


def plan_migration(folder: str | Path, datasets: str | Path, *, model: str | None = None,
                   overrides: dict[str, Any] | None = None, matches: dict[str, str] | None = None,
                   parallel: int | None = None, workspace: Workspace | None = None) -> MigrationPlan:
    """Plan the migration of every LoRA in a folder: clips matched by name or metadata, one plan each, the totals.

    ``matches`` maps a LoRA's name (file stem) to a clip folder for those the names and metadata did not settle
    (the user's answer to the one question asked). Nothing is launched.
    """
    workspace = workspace or Workspace.from_settings()
    folder, datasets = Path(folder).expanduser(), Path(datasets).expanduser()
    if not datasets.is_dir():
        raise LoraportError(f"{datasets} is not a folder: pass the folder whose sub-folders hold each LoRA's clips.")
    target = model or "ltx-2.3"
    folders = matching.clip_folders(datasets)
    hardware = cluster_hardware(workspace)  # on a Ray cluster, every plan's tier is picked for its GPUs
    items, unmatched = [], []
    for path in lora_files(folder):
        item = _plan_one(classify(path, _inspect_target(target)), folders, datasets, model, overrides or {},
                         matches or {}, hardware, workspace)
        items.append(item)
        if item.action == "skip" and item.matched_by is None and item.reason.startswith("no clip folder"):
            unmatched.append(item.name)
    parallel = max(1, parallel or _parallel(workspace))
    return _totals(MigrationPlan(folder=str(folder), datasets=str(datasets), model_id=model, items=items,
                                 unmatched=unmatched, parallel=parallel, total_seconds=0, wall_seconds=0,
                                 gpu_hours=0, summary=""))


def _parallel(workspace: Workspace) -> int:
    """Runs at once: the cluster's GPUs (or CPUs) with Ray, else the live workers (one per local GPU)."""
    from core.settings import get_settings
    from trainer.worker import live_workers

    if get_settings().ray_address:
        return cluster_slots(workspace)
    return len({w.get("device") for w in live_workers(workspace)}) or 1


def _inspect_target(model: str) -> str:
    return "ltx-2.5" if "2.5" in model else "ltx-2.3"


def _plan_one(found: Found, folders: dict, datasets: Path, model: str | None, overrides: dict,
              matches: dict[str, str], hardware, workspace: Workspace) -> MigrationItem:
    path = Path(found.path)
    base = {"file": str(path), "name": path.stem if path.is_file() else path.name}
    report = found.report
    if report is not None:
        base["made_for"] = report.base_model.family
    if found.skip:
        return MigrationItem(**base, action="skip", reason=found.skip)
    hit = matching.match(base["name"], report.metadata, folders)
    if base["name"] in matches:
        chosen = Path(matches[base["name"]]).expanduser()
        clips = chosen if chosen.is_absolute() else datasets / chosen
        hit = (clips, "user") if clips.is_dir() else None
    if hit is None:
        return MigrationItem(**base, action="skip", note=found.note, reason=(
            f"no clip folder found for it in {datasets} (neither its name nor its metadata names one): say which "
            f"folder holds its clips, e.g. --match '{base['name']}=FOLDER'"))
    clips, how = hit
    from tools.plan.service import plan

    try:  # hardware: the cluster's best node with Ray (None: this machine)
        planned = plan(report.migration.recipe, clips, old_lora=report, overrides=dict(overrides), model_id=model,
                       hardware=hardware, workspace=workspace)
    except LoraportError as err:
        return MigrationItem(**base, action="skip", clips=str(clips), matched_by=how,
                             reason=f"cannot be planned: {err.message}")
    cfg = planned.config
    return MigrationItem(
        **base, action="migrate", note=found.note, clips=str(clips), matched_by=how, recipe=planned.recipe,
        reason=report.verdict.reason, trigger=cfg.data.trigger_word, steps=cfg.optim.steps,
        model_id=planned.model_id, seconds=(planned.estimate.seconds_low + planned.estimate.seconds_high) / 2,
        gpus=0 if planned.hardware.device == "cpu" or planned.tier == "demo" else 1,
        config=cfg.model_dump(mode="json"))


def _totals(p: MigrationPlan) -> MigrationPlan:
    todo = p.to_migrate
    p.total_seconds = round(sum(i.seconds for i in todo), 1)
    longest = max((i.seconds for i in todo), default=0.0)
    p.wall_seconds = round(max(longest, p.total_seconds / p.parallel), 1)
    p.gpu_hours = round(sum(i.seconds * i.gpus for i in todo) / 3600, 2)
    skipped = len(p.items) - len(todo)
    gpu = (f"{p.gpu_hours:g} GPU-hours" if any(i.gpus for i in todo)
           else "0 GPU-hours (these runs train on the CPU)")
    p.summary = (f"Retrain {len(todo)} of {len(p.items)} LoRA(s) on {p.model_id or 'the default model'}"
                 f"{f', skip {skipped}' if skipped else ''}: about {human_duration(p.total_seconds)} of training in all, "
                 f"{human_duration(p.wall_seconds)} with {p.parallel} at once, {gpu}; each run is evaluated when it ends.")
    return p


# ---- the batch --------------------------------------------------------------------------------------------

def _batch_path(workspace: Workspace, batch_id: str) -> Path:
    return workspace.home / "migrations" / f"{workspace.run_dir(batch_id).name}.json"  # run_dir refuses odd ids


def _require_batch_disk(plan: MigrationPlan, workspace: Workspace) -> None:
    """The whole batch must fit on the workspace's disk (every run's cache, checkpoints, samples and export),
    checked before any of it is queued, as a single launch is."""
    from core.disk import MiB, ensure_free
    from tools.train.disk import check_disk
    from trainer.config import TrainConfig

    need = sum(check_disk(TrainConfig.model_validate(i.config), workspace).need_mb for i in plan.items
               if i.action == "migrate")
    ensure_free(workspace.home, int(need * MiB), f"this batch of {len(plan.to_migrate)} trainings")


def launch_migration(plan: MigrationPlan, *, thread_id: str | None = None, workspace: Workspace | None = None) -> str:
    """Queue one training per planned LoRA (after the user's one approval); returns the batch id."""
    from trainer.config import TrainConfig

    if not plan.to_migrate:
        raise LoraportError("nothing to migrate in this plan: every file was skipped (the table says why).")
    workspace = workspace or Workspace.from_settings()
    _require_batch_disk(plan, workspace)
    db = open_db(workspace)
    batch_id = f"migrate-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    rows = []
    for item in plan.items:
        job_id = None
        if item.action == "migrate":
            job_id = jobstore.enqueue(db, "train", TrainConfig.model_validate(item.config), thread_id=thread_id,
                                      workspace=workspace)
        rows.append({"item": item.model_dump(mode="json"), "train_job": job_id, "eval_job": None})
    atomic_write_json(_batch_path(workspace, batch_id), {"batch_id": batch_id, "plan": plan.model_dump(mode="json"),
                                                         "rows": rows, "thread_id": thread_id})
    return batch_id


def load_batch(batch_id: str, *, workspace: Workspace | None = None) -> dict:
    import json

    path = _batch_path(workspace or Workspace.from_settings(), batch_id)
    if not path.is_file():
        raise NotFoundError(f"no migration batch {batch_id!r}: `loraport migrate` prints the id of each batch.")
    return json.loads(path.read_text())


def advance(batch_id: str, *, workspace: Workspace | None = None) -> BatchReport:
    """Queue the evaluation of every training of the batch that has finished (once each); return the table."""
    from tools.evaluate.jobs import enqueue_evaluate_job

    workspace = workspace or Workspace.from_settings()
    db, batch = open_db(workspace), load_batch(batch_id, workspace=workspace)
    changed = False
    for row in batch["rows"]:
        if row["train_job"] and not row["eval_job"]:
            if jobstore.get_job(db, row["train_job"]).status == "finished":
                row["eval_job"] = enqueue_evaluate_job(row["train_job"], thread_id=batch.get("thread_id"),
                                                       workspace=workspace)
                changed = True
    if changed:
        atomic_write_json(_batch_path(workspace, batch_id), batch)
    return batch_report(batch_id, batch, workspace=workspace)


def batch_report(batch_id: str, batch: dict | None = None, *, workspace: Workspace | None = None) -> BatchReport:
    """The final table (or the table so far): verdict, file, trigger, what to retry, per LoRA."""
    from tools.migrate.table import row_for

    workspace = workspace or Workspace.from_settings()
    batch = batch or load_batch(batch_id, workspace=workspace)
    db = open_db(workspace)
    rows = [row_for(db, r) for r in batch["rows"]]
    done = all(r.verdict not in ("queued", "training", "evaluating") for r in rows)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    summary = ("Done: " if done else "So far: ") + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) + "."
    return BatchReport(batch_id=batch_id, done=done, rows=rows, summary=summary)
