"""Who owns a running job: a token that names one process (host, pid, start time), whether that process still
lives, and taking back the jobs of owners that died.

A job row's ``worker`` column holds its owner's token. A pid alone is not enough: pids are reused, so the token
adds the process's start time, and a pid that now belongs to another process reads as a dead owner. A token from
another host is never judged dead (a shared workspace on another machine may still be running it).
"""

import logging
import os
import socket
from pathlib import Path

import sqlite_utils

from core.events import JobEvent
from trainer import jobs as jobstore

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # a job that has killed its worker this often is failed, not retried forever


def _proc_start(pid: int) -> str:
    """The process's start time in clock ticks since boot: with the pid it names one process, even after reuse."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat[stat.rindex(")") + 2:].split()  # the command name may hold spaces; fields after it do not
    return "" if fields[0] == "Z" else fields[19]  # a zombie has finished: treat it as dead


def owner_token(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}|{pid}|{_proc_start(pid)}"


def owner_alive(token: str | None) -> bool:
    if not token:
        return False
    host, pid_text, start = token.rsplit("|", 2)
    if host != socket.gethostname():
        return True  # another machine shares this workspace: we cannot tell, so we never steal its job
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if Path("/proc").is_dir():
        now = _proc_start(pid)
        return bool(now) and (not start or now == start)
    return True


def reap_dead(db: sqlite_utils.Database) -> list[str]:
    """Take back every running job whose owner process is gone: it resumes (``interrupted``), or ends
    ``cancelled`` if the user asked, or ``failed`` once it has killed its worker ``MAX_ATTEMPTS`` times."""
    reaped = []
    rows = db.execute("SELECT id, worker, attempts, cancel_requested FROM jobs WHERE status = 'running'").fetchall()
    for job_id, token, attempts, cancel in rows:
        if owner_alive(token):
            continue
        outcome = "cancelled" if cancel else "failed" if (attempts or 0) >= MAX_ATTEMPTS else "interrupted"
        with db.conn:
            cur = db.execute(
                "UPDATE jobs SET status = ?, worker = NULL, worker_pid = NULL WHERE id = ? AND status = 'running' "
                "AND worker IS ?", [outcome, job_id, token],
            )
        if not cur.rowcount:
            continue  # another worker reaped it first
        job = jobstore.get_job(db, job_id)
        message = {
            "cancelled": "cancelled; its worker had died before it could stop (checkpoints kept)",
            "failed": f"its worker died {attempts} times while running it; not retried again. "
                      f"`loraport jobs resume {job_id}` tries once more.",
        }.get(outcome)
        if message:
            jobstore.append_event(db, Path(job.run_dir), JobEvent(job_id=job_id, kind=job.kind, type=outcome,
                                                                  step=job.step, message=message))
        else:
            log.warning("job %s: its worker (%s) died; it will resume from its latest checkpoint", job_id, token)
        reaped.append(job_id)
    return reaped
