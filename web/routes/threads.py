"""Threads (conversations with the sidekick) and their history; the agent owns them, this only reads."""

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from core.errors import NotFoundError
from web.chat_hub import to_frame
from web.deps import DbDep, WorkspaceDep

router = APIRouter(prefix="/api/threads", tags=["threads"])


class ThreadPublic(BaseModel):
    id: str
    title: str | None = None
    surface: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class ThreadHistory(ThreadPublic):
    events: list[dict[str, Any]]


@router.get("")
def list_threads(db: DbDep, limit: int = Query(50, ge=1, le=500)) -> list[ThreadPublic]:
    rows = db["threads"].rows_where(order_by="updated_at DESC", limit=limit)
    return [ThreadPublic.model_validate(r) for r in rows]


STATE_KEYS = ("old_lora", "recipe", "dataset", "config", "plan_settings", "estimate", "job_ids", "evaluations",
              "as_is")


@router.get("/{thread_id}/state")
def read_thread_state(thread_id: str, request: Request, db: DbDep, workspace: WorkspaceDep) -> dict[str, Any]:
    """Where the migration stands (old LoRA, recipe, dataset, plan, jobs, evaluations): the page's wizard strip."""
    _thread_row(db, thread_id)
    sidekick = request.app.state.hub.sidekick_factory(workspace, thread_id)
    state = sidekick.state()
    pending = sidekick.pending_approval()
    return {**{k: state.get(k) for k in STATE_KEYS}, "pending_approval": to_frame(pending) if pending else None}


@router.get("/{thread_id}")
def read_thread(thread_id: str, request: Request, db: DbDep, workspace: WorkspaceDep) -> ThreadHistory:
    """The thread and every event of its history (what a reconnecting tab replays)."""
    row = _thread_row(db, thread_id)
    factory = request.app.state.hub.sidekick_factory
    events = [to_frame(e) for e in factory(workspace, thread_id).history()]
    return ThreadHistory(**ThreadPublic.model_validate(row).model_dump(), events=events)


def _thread_row(db, thread_id: str) -> dict:
    rows = list(db["threads"].rows_where("id = ?", [thread_id]))
    if not rows:
        raise NotFoundError(f"No thread {thread_id!r}: GET /api/threads lists this workspace's conversations.")
    return rows[0]
