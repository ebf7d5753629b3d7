"""Job events of a thread, read from the trainer's store as websocket frames (the trainer owns the data)."""

import contextlib
from collections.abc import Iterator

import sqlite_utils

from core.store import open_db
from core.workspace import Workspace
from trainer import jobs as jobstore

THREAD_SCAN = 500  # jobs scanned for a thread's own; a workspace rarely holds more


class Feed:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def thread_jobs(self, thread_id: str) -> list[jobstore.JobRecord]:
        return [j for j in jobstore.list_jobs(self.db, limit=THREAD_SCAN) if j.thread_id == thread_id][::-1]

    def thread_frames(self, thread_id: str, cursors: dict[str, int], done: set[str]) -> list[dict]:
        """``job_event`` frames after each job's cursor; cursors advance in place, finished jobs are skipped next."""
        frames = []
        for job in self.thread_jobs(thread_id):
            if job.job_id in done:
                continue
            for event in jobstore.events(self.db, job.job_id, cursors.get(job.job_id, 0)):
                frames.append({"type": "job_event", "event": event, "event_id": event["id"]})
                cursors[job.job_id] = event["id"]
            if job.is_terminal:  # read once more after the terminal status, then never again
                done.add(job.job_id)
        return frames


@contextlib.contextmanager
def open_feed(workspace: Workspace) -> Iterator[Feed]:
    db = open_db(workspace)
    try:
        yield Feed(db)
    finally:
        db.close()
