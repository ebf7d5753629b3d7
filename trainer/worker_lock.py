"""One worker per device per workspace, and workers that do not outlive the server that started them.

The lock is an exclusive ``flock`` on ``workers/<device>.lock`` held for the worker's life: the kernel drops it
when the process ends, however it ends (``kill -9`` included), so a stale lock cannot exist. The file's content
says who holds it, for messages and for a server that adopts a running worker instead of starting a second.

A worker started by ``loraport serve`` is told its parent's pid and watches it: when the server is gone (killed,
crashed), the worker stops its job at the next step, as a SIGTERM would, and exits. The job is left
``interrupted`` and the next worker resumes it from its last checkpoint.
"""

import ctypes
import fcntl
import json
import logging
import os
import re
import signal
import sys
import threading
from pathlib import Path

from core.errors import LoraportError
from core.store import now_iso
from core.workspace import Workspace

log = logging.getLogger(__name__)
EXIT_LOCKED = 75  # EX_TEMPFAIL: another worker holds the device; the supervisor adopts it, never counts a crash
PARENT_POLL_S = 1.0
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class WorkerBusyError(LoraportError):
    exit_code = EXIT_LOCKED


def lock_path(workspace: Workspace, device: str) -> Path:
    return workspace.home / "workers" / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', device)}.lock"


class WorkerLock:
    """The exclusive right to run jobs on ``device`` of ``workspace``; ``release`` (or process death) ends it."""

    def __init__(self, workspace: Workspace, device: str):
        self.path = lock_path(workspace, device)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            holder = read_holder(self.path) or {}
            raise WorkerBusyError(
                f"another worker (pid {holder.get('pid', '?')}, since {holder.get('since', '?')}) already runs "
                f"jobs on {device} for {workspace.home}; stop it first, or let it run the queue.") from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps({"pid": os.getpid(), "device": device, "since": now_iso()}).encode(), 0)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def read_holder(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text() or "null")
    except (OSError, ValueError):
        return None


def held_locks(workspace: Workspace) -> list[dict]:
    """Who holds a worker lock of this workspace now (one dict per busy device)."""
    held = []
    for path in sorted((workspace.home / "workers").glob("*.lock")):
        fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            held.append(read_holder(path) or {"pid": None, "device": path.stem})
        finally:
            os.close(fd)  # a shared lock taken only to test is dropped with the descriptor
    return held


def watch_parent(parent_pid: int, stop: threading.Event, *, kernel_signal: bool = False) -> threading.Thread:
    """Set ``stop`` once ``parent_pid`` is no longer this process's parent (it died; we were re-parented).

    A thread polls for that every ``PARENT_POLL_S``. With ``kernel_signal`` (the caller's SIGTERM handler sets
    ``stop``) Linux also sends SIGTERM the moment the parent dies, so the job stops at its very next step rather
    than running on for up to a poll's length; a parent that died before the request is caught by the check
    that follows it.
    """
    if kernel_signal:
        _signal_on_parent_death(signal.SIGTERM)
        if os.getppid() != parent_pid:
            stop.set()

    def watch() -> None:
        while not stop.wait(PARENT_POLL_S):
            if os.getppid() != parent_pid:
                log.warning("worker %s: its server (pid %s) is gone; stopping at the next step", os.getpid(),
                            parent_pid)
                stop.set()
                return

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread


def _signal_on_parent_death(signum: int) -> bool:
    """Ask Linux (``prctl(PR_SET_PDEATHSIG)``) to send ``signum`` when our parent dies; False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
        log.warning("worker: prctl(PR_SET_PDEATHSIG) failed (errno %s); relying on polling", ctypes.get_errno())
        return False
    return True
