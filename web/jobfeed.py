"""Job events of a thread, read from the trainer's store as websocket frames (the trainer owns the data)."""

import contextlib
from collections.abc import Iterator

import sqlite_utils

from core.store import open_db
from core.workspace import Workspace
from trainer import jobs as jobstore


class Feed:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def frames_by_thread(self, watched: dict[str, tuple[dict[str, int], set[str]]]) -> dict[str, list[dict]]:
        """``job_event`` frames of the watched threads' jobs after each job's cursor, in one query for the jobs.

        ``watched`` maps a thread id to (its cursors: job id -> last event id, its finished jobs); both advance in
        place: a job read once after its terminal status is never read again.
        """
        out: dict[str, list[dict]] = {}
        finished = [job_id for _, done in watched.values() for job_id in done]
        for job in jobstore.thread_jobs(self.db, list(watched), skip=finished):  # oldest first
            cursors, done = watched[job.thread_id]
            for event in jobstore.events(self.db, job.job_id, cursors.get(job.job_id, 0)):
                out.setdefault(job.thread_id, []).append({"type": "job_event", "event": event, "event_id": event["id"]})
                cursors[job.job_id] = event["id"]
            if job.is_terminal:  # status was read before its events, so they are complete now
                done.add(job.job_id)
        return out


@contextlib.contextmanager
def open_feed(workspace: Workspace) -> Iterator[Feed]:
    db = open_db(workspace)
    try:
        yield Feed(db)
    finally:
        db.close()
