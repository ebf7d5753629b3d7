"""Evaluation as a job the conversation watches: the tool queues it and returns at once, and the verdict joins
the thread when the job has finished (``collect``), so a turn never waits for renders and a message typed while
the job runs is answered at once.
"""

import json
from pathlib import Path
from typing import Any

from agent.state import latest_job
from agent.toolkit import ToolContext, ToolOutput
from core.errors import LoraportError
from core.store import open_db
from core.workspace import Workspace

KIND = "evaluate"


def evaluate(ctx: ToolContext, job_id: str | None = None) -> ToolOutput:
    """Evaluate a trained LoRA as a background job: held-out loss, strength, memorisation, then a verdict."""
    from tools.evaluate.jobs import enqueue_evaluate_job
    from trainer import jobs

    train_id = job_id or latest_job(ctx.state, "train")
    if not train_id:
        raise LoraportError("No training run in this conversation yet: say 'start' once the plan looks right.")
    done = [e for e in ctx.state.get("evaluations") or [] if e.get("job_id") == train_id]
    if done:
        return ToolOutput(done[-1])
    db = open_db(ctx.workspace)
    try:
        train = jobs.get_job(db, train_id)
        running = _evaluation_jobs(db, ctx.state, train_id, ("queued", "running"))
    finally:
        db.conn.close()
    if running:
        return ToolOutput({"job_id": running[-1], "evaluates": train_id, "status": "running"})
    if train.status != "finished":
        raise LoraportError(f"Job {train_id} is {train.status}: I can evaluate it once it has finished.")
    old = (ctx.state.get("old_lora") or {}).get("path")  # for the old-vs-new comparison, when LTX-2 is here
    eval_id = enqueue_evaluate_job(train_id, thread_id=ctx.thread_id, old_lora=old, workspace=ctx.workspace)
    return ToolOutput({"job_id": eval_id, "evaluates": train_id, "status": "queued"}, {"job_ids": [eval_id]})


def collect(state: dict[str, Any], workspace: Workspace) -> list[dict[str, Any]]:
    """Reports of this thread's evaluation jobs that finished since the thread last heard of them."""
    ids = _evaluation_ids(state)
    if not ids:
        return []
    known = {e.get("job_id") for e in state.get("evaluations") or []}
    db = open_db(workspace)
    try:
        rows = {r["id"]: r for r in db["jobs"].rows_where(
            f"id in ({', '.join('?' for _ in ids)}) and status = 'finished'", ids)}
    finally:
        db.conn.close()
    out = []
    for job_id in ids:
        row = rows.get(job_id)
        # Every turn asks: a run whose verdict the thread holds is not read from disk again (report.job_id is
        # the run the job evaluated, its config's lora_or_job).
        report = _report(row) if row and _evaluated(row) not in known else None
        if report and report.get("job_id") not in known:
            known.add(report.get("job_id"))
            out.append(report)
    return out


def _report(row: dict[str, Any]) -> dict[str, Any] | None:
    from agent.toolkit import jsonable
    from tools.evaluate.models import EvalReport

    result = json.loads(row.get("result") or "{}") if isinstance(row.get("result"), str) else row.get("result")
    path = (result or {}).get("report_json")
    if not path or not Path(path).is_file():
        return None
    return jsonable(EvalReport.model_validate_json(Path(path).read_text()))


def _evaluation_jobs(db, state: dict[str, Any], train_id: str, statuses: tuple[str, ...]) -> list[str]:
    ids = _evaluation_ids(state)
    if not ids:
        return []
    rows = db["jobs"].rows_where(f"id in ({', '.join('?' for _ in ids)})", ids)
    return [r["id"] for r in rows if r["status"] in statuses and _evaluated(r) == train_id]


def _evaluation_ids(state: dict[str, Any]) -> list[str]:
    return [j for j in state.get("job_ids") or [] if j.startswith(KIND + "-")]


def _evaluated(row: dict[str, Any]) -> str | None:
    """The training run an evaluation job's row evaluates."""
    return json.loads(row["config"] or "{}").get("lora_or_job")
