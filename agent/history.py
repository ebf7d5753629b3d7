"""Runs the user trained before, read from the jobs table (trainer owns it; the agent only reads).

"Retrain my style LoRA with 20% more steps" names a run in the conversation's words; here it becomes a job id
(the latest run of that recipe, or this thread's latest run for "same again but rank 16"). Building the new
config from it is ``tools.train.retrain``'s job.
"""

from typing import Any

from agent.toolkit import ToolContext
from core.errors import NotFoundError
from core.store import open_db
from core.workspace import Workspace
from tools.train.retrain import latest_run


def base_job(ctx: ToolContext, *, recipe: str | None, job_id: str | None) -> str:
    """The job id a retrain request means: the named job, else the latest run of the recipe or of this thread."""
    if job_id:
        # Only a job of this workspace: tools.train.retrain would also take a folder, which a chat user may not name.
        if not open_db(ctx.workspace)["jobs"].count_where("id = ?", [job_id]):
            raise NotFoundError(f"There is no job {job_id!r}: say 'list my loras' to see your runs.")
        return job_id
    # "same again" (no recipe named) after this thread trained: this thread's run, not another thread's newer one.
    own = not recipe and any(j.startswith("train-") for j in ctx.state.get("job_ids") or [])
    return latest_run(recipe=recipe, thread_id=ctx.thread_id if own else None, workspace=ctx.workspace)


def trained_loras(workspace: Workspace, *, recipe: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    db = open_db(workspace)
    where, params = "kind = 'train'", []
    if recipe:
        where, params = where + " and recipe = ?", [recipe.lower()]
    rows = db["jobs"].rows_where(where, params, order_by="created_at desc, rowid desc", limit=limit)
    return [{k: row.get(k) for k in ("id", "recipe", "status", "created_at", "step", "total", "loss",
                                    "lora_path", "thread_id")} for row in rows]
