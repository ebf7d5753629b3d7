"""The sidekick's library migration: "migrate all the LoRAs in this folder", one approval for the whole batch.

The approval shows the plan (every file: migrate with its clips, recipe and trigger, or skip with the reason; the
total time and GPU-hours). LoRAs whose clips were not found are listed there, so the user answers once and the
brain calls again with ``matches``. After the yes, the same plan is launched; ``migration_status`` queues each
finished training's evaluation and returns the table.
"""

from typing import Any

import tools.migrate
from agent.toolkit import ToolContext, ToolOutput, jsonable


def _plan(ctx: ToolContext, folder: str, datasets: str, matches, overrides, model):
    return tools.migrate.plan_migration(ctx.user_path(folder), ctx.user_path(datasets), model=model,
                                        overrides=overrides or {}, matches=matches or {})


def migrate_library(ctx: ToolContext, folder: str, datasets: str, matches: dict[str, str] | None = None,
                    overrides: dict[str, str | int | float] | None = None, model: str | None = None) -> ToolOutput:
    """Migrate every LTX-2 LoRA in a folder: clips matched by name, one plan each, trained and evaluated (needs approval).

    ``datasets`` is the folder whose sub-folders hold each LoRA's clips; ``matches`` maps a LoRA name to its clip
    folder where names and metadata did not find one; ``overrides`` apply to every plan ({"steps": "+20%"}).
    """
    plan = _plan(ctx, folder, datasets, matches, overrides, model)
    batch_id = tools.migrate.launch_migration(plan, thread_id=ctx.thread_id, workspace=ctx.workspace)
    batch = tools.migrate.load_batch(batch_id, workspace=ctx.workspace)
    job_ids = [r["train_job"] for r in batch["rows"] if r["train_job"]]
    return ToolOutput({"batch_id": batch_id, "summary": plan.summary, "skipped": _skips(plan),
                       "trainings": job_ids}, {"job_ids": job_ids})


def migration_status(ctx: ToolContext, batch_id: str) -> Any:
    """Show a library migration's table: per LoRA its verdict, trigger and what to retry (queues due evaluations)."""
    report = tools.migrate.advance(batch_id, workspace=ctx.workspace)
    return jsonable(report)


def migrate_preview(ctx: ToolContext, folder: str, datasets: str, matches=None, overrides=None, model=None) -> str:
    plan = _plan(ctx, folder, datasets, matches, overrides, model)
    lines = [plan.summary]
    for item in plan.items:
        if item.action == "migrate":
            lines.append(f"- {item.name}: retrain from {item.clips} ({item.matched_by}), recipe {item.recipe}, "
                         f"trigger '{item.trigger}', {item.steps} steps" + (f" (note: {item.note})" if item.note
                                                                           else ""))
        else:
            lines.append(f"- {item.name}: skipped, {item.reason}")
    if plan.unmatched:
        lines.append(f"No clips found for {', '.join(plan.unmatched)}: tell me their folders and I will add them.")
    return "\n".join(lines)


def _skips(plan) -> list[dict[str, str]]:
    return [{"file": i.name, "reason": i.reason} for i in plan.items if i.action == "skip"]
