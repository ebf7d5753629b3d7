"""`loraport serve`: the server and its job worker start together and stop together."""

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from core.settings import get_settings
from web.server import WorkerProcess, free_port

# Every test here starts `loraport serve` or a worker as real processes (2-3 s each on a shared CPU).
pytestmark = pytest.mark.slow


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_serve_starts_the_worker_process_and_stops_it_on_ctrl_c(workspace_home):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", "from cli.main import main; main()", "serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(4)]
        assert lines[0].startswith(f"loraport serving on http://127.0.0.1:{port}/"), lines
        worker_pid = int(lines[1].split("pid")[1])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        assert _alive(worker_pid)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=40) is not None
    finally:
        proc.kill()
    deadline = time.monotonic() + 5
    while _alive(worker_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker_pid), "the worker outlived the server"


def test_worker_process_is_restarted_when_it_dies_and_killed_when_it_ignores_sigterm(workspace_home):
    stubborn = [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                                      "print('up', flush=True); time.sleep(60)"]
    worker = WorkerProcess(get_settings(), cmd=stubborn).start()
    first = worker.pid
    time.sleep(0.5)
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while worker.pid == first and time.monotonic() < deadline:
        time.sleep(0.1)
    assert worker.pid != first and worker.restarts == 1
    time.sleep(0.5)
    started = time.monotonic()
    assert worker.stop(grace_s=1.0) == -signal.SIGKILL
    assert time.monotonic() - started < 5
