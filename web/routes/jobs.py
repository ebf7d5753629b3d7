"""Jobs (training, captioning, evaluation): their records, their events, and a live SSE stream of events."""

import asyncio
import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from core.errors import NotFoundError
from core.store import open_db
from trainer import jobs as jobstore
from trainer.jobs import JobRecord
from web.deps import DbDep, WorkspaceDep

router = APIRouter(prefix="/api/jobs", tags=["jobs"])
STREAM_POLL_S = 0.5
MAX_EVENT_ID = 2**63 - 1  # SQLite's largest integer: a larger cursor cannot be compared there (it raised a 500)


@router.get("")
def list_jobs(
    db: DbDep, status: str | None = None, kind: str | None = None, thread_id: str | None = None,
    limit: int = Query(50, ge=1, le=500),
) -> list[JobRecord]:
    jobs = jobstore.list_jobs(db, status=status, kind=kind, limit=limit if thread_id is None else 500)
    return [j for j in jobs if thread_id is None or j.thread_id == thread_id][:limit]


@router.get("/{job_id}")
def read_job(job_id: str, db: DbDep) -> JobRecord:
    return jobstore.get_job(db, job_id)


@router.get("/{job_id}/events")
def read_job_events(job_id: str, db: DbDep, after: int = Query(0, ge=0, le=MAX_EVENT_ID)) -> list[dict[str, Any]]:
    jobstore.get_job(db, job_id)  # an unknown job is a 404, not an empty list
    return jobstore.events(db, job_id, after)


@router.post("/{job_id}/cancel")
def cancel_job(job_id: str, db: DbDep) -> JobRecord:
    """Cancel: a queued job at once, a running one at its next step (its checkpoints are kept)."""
    return jobstore.request_cancel(db, job_id)


@router.get("/{job_id}/report")
def read_job_report(job_id: str, db: DbDep) -> dict[str, Any]:
    job = jobstore.get_job(db, job_id)
    path = Path(job.run_dir) / "report.json"
    if not path.is_file():
        raise NotFoundError(f"Job {job_id} has no report yet ({job.status}); it is written when training ends.")
    return json.loads(path.read_text())


@router.get("/{job_id}/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent job events"}})
async def stream_job_events(
    job_id: str, workspace: WorkspaceDep,
    last_event_id: int | None = Header(None, alias="Last-Event-ID", ge=0, le=MAX_EVENT_ID),
    after: int = Query(0, ge=0, le=MAX_EVENT_ID),
) -> StreamingResponse:
    """Server-sent events: each job event as `id: N` / `data: {json}`; the stream ends after the terminal event."""
    await asyncio.to_thread(_check, workspace, job_id)  # an unknown job is a 404 before the stream starts
    start = max(after, last_event_id or 0)  # a browser's EventSource reconnects with Last-Event-ID
    return StreamingResponse(_sse(workspace, job_id, start), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _sse(workspace, job_id: str, after: int):
    idle = 0
    while True:
        batch, terminal = await asyncio.to_thread(_read, workspace, job_id, after)
        for event in batch:
            after = event["id"]
            yield f"id: {after}\nevent: job_event\ndata: {json.dumps(event)}\n\n"
        if terminal and not batch:
            yield "event: end\ndata: {}\n\n"
            return
        idle = 0 if batch else idle + 1
        if idle and idle % 30 == 0:
            yield ": keep-alive\n\n"  # lets a proxy (and the server) notice a client that left
        if not batch:
            await asyncio.sleep(STREAM_POLL_S)


def _check(workspace, job_id: str) -> None:
    db = open_db(workspace)
    try:
        jobstore.get_job(db, job_id)
    finally:
        db.close()


def _read(workspace, job_id: str, after: int) -> tuple[list[dict], bool]:
    db = open_db(workspace)
    try:
        terminal = jobstore.get_job(db, job_id).is_terminal  # status first: events read after it are complete
        return jobstore.events(db, job_id, after), terminal
    finally:
        db.close()
