"""Runs the user trained before, read from the jobs table (trainer owns it; the agent only reads).

"Retrain my style LoRA with 20% more steps" resolves here: the latest run of that recipe, or the latest run of
this thread for "same again but rank 16".
"""

import json
from typing import Any

from agent import options
from agent.toolkit import ToolContext
from core.errors import LoraportError, NotFoundError
from core.store import open_db
from core.workspace import Workspace


def find_base_job(ctx: ToolContext, *, recipe: str | None, job_id: str | None) -> dict[str, Any]:
    db = open_db(ctx.workspace)
    if job_id:
        row = db["jobs"].get(job_id) if db["jobs"].count_where("id = ?", [job_id]) else None
        if row is None:
            raise NotFoundError(f"There is no job {job_id!r}: say 'list my loras' to see your runs.")
        return row
    where, params = "kind = 'train'", []
    if recipe:
        where, params = where + " and recipe = ?", [recipe.lower()]
    elif any(j.startswith("train-") for j in ctx.state.get("job_ids") or []):
        where, params = where + " and thread_id = ?", [ctx.thread_id]
    # A finished run is what "my style LoRA" means; a failed one is only a fallback.
    order = "case status when 'finished' then 0 else 1 end, created_at desc, rowid desc"
    rows = list(db["jobs"].rows_where(where, params, order_by=order, limit=1))
    if not rows:
        what = f"{recipe} " if recipe else ""
        raise LoraportError(f"I found no earlier {what}training run to start from: train one first, or name a job id.")
    return rows[0]


def retrain_config(ctx: ToolContext, changes: dict[str, str], *, recipe: str | None,
                   job_id: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(base job row, its config with the changes applied). Relative changes resolve against the base config."""
    base = find_base_job(ctx, recipe=recipe, job_id=job_id)
    return base, options.apply_changes(json.loads(base["config"]), changes)


def trained_loras(workspace: Workspace, *, recipe: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    db = open_db(workspace)
    where, params = "kind = 'train'", []
    if recipe:
        where, params = where + " and recipe = ?", [recipe.lower()]
    rows = db["jobs"].rows_where(where, params, order_by="created_at desc, rowid desc", limit=limit)
    return [{k: row.get(k) for k in ("id", "recipe", "status", "created_at", "step", "total", "loss",
                                    "lora_path", "thread_id")} for row in rows]
