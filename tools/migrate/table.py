"""One row of the migration table from a batch row and its jobs: verdict, file, trigger, what to retry."""

import json
from pathlib import Path

import sqlite_utils

from tools.migrate.models import BatchRow, MigrationItem
from trainer import jobs as jobstore


def row_for(db: sqlite_utils.Database, row: dict) -> BatchRow:
    item = MigrationItem.model_validate(row["item"])
    out = BatchRow(name=item.name, file=item.file, verdict="skipped", trigger=item.trigger,
                   train_job=row.get("train_job"), eval_job=row.get("eval_job"), retry=item.reason)
    if item.action == "skip":
        return out
    train = jobstore.get_job(db, row["train_job"])
    out.lora_path = train.lora_path
    if train.status in ("queued", "running", "interrupted"):
        out.verdict, out.retry = ("queued" if train.status == "queued" else "training"), ""
        return out
    if train.status != "finished":
        out.verdict = train.status  # failed | cancelled
        out.retry = f"{train.error or train.status}; `loraport jobs resume {train.job_id}` continues it"
        return out
    if not row.get("eval_job"):
        out.verdict, out.retry = "evaluating", ""
        return out
    ev = jobstore.get_job(db, row["eval_job"])
    if not ev.is_terminal:
        out.verdict, out.retry = "evaluating", ""
        return out
    if ev.status != "finished":
        out.verdict = f"eval {ev.status}"
        out.retry = f"{ev.error or ev.status}; `loraport evaluate {train.job_id}` tries again"
        return out
    out.verdict, out.retry = _verdict(ev.result or {})
    return out


def _verdict(result: dict) -> tuple[str, str]:
    """The evaluation's status and its first suggestion (a setting to change, or nothing to do)."""
    status = str(result.get("status") or "evaluated")
    report = result.get("report_json")
    suggestions = []
    if report and Path(report).is_file():
        suggestions = (json.loads(Path(report).read_text()).get("verdict") or {}).get("suggestions") or []
    if not suggestions:
        return status, "nothing: use it" if status == "good" else ""
    first = suggestions[0]
    change = first.get("retrain_with")
    how = f" (retrain with {', '.join(f'{k} {v}' for k, v in change.items())})" if change else ""
    return status, f"{first.get('action', '')}{how}"
