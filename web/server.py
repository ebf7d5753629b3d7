"""Runs the app under uvicorn, with the job worker beside it as a separate process.

The worker is a process, not a thread: training holds the GIL and the GPU for hours, and a crash of one must not
take the other. The server starts it, restarts it if it dies (a few times, then says so), and on shutdown asks it
to stop (SIGTERM: the running job stops at its next step as ``interrupted`` and resumes on the next start) before
killing it as a last resort.
"""

import ipaddress
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from core.errors import LoraportError
from core.settings import Settings

log = logging.getLogger(__name__)
WORKER_CMD = [sys.executable, "-c", "from cli.main import main; main()", "worker"]
STOP_GRACE_S = 30.0  # time for the worker to stop its job cleanly (one training step plus a checkpoint)
MAX_RESTARTS = 5


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WorkerProcess:
    """``loraport worker`` as a child process, supervised: restarted when it dies, stopped with the server."""

    def __init__(self, settings: Settings, cmd: list[str] | None = None):
        self.cmd = cmd or WORKER_CMD
        self.env = {**os.environ, "LORAPORT_HOME": str(settings.home)}
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._watch: threading.Thread | None = None

    def start(self) -> "WorkerProcess":
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdin=subprocess.DEVNULL)
        if self._watch is None:
            self._watch = threading.Thread(target=self._supervise, name="worker-supervisor", daemon=True)
            self._watch.start()
        return self

    def _supervise(self) -> None:
        while not self._stopping.wait(2.0):
            code = self.proc.poll() if self.proc else None
            if code is None:
                continue
            if self.restarts >= MAX_RESTARTS:
                print(f"loraport: the job worker exited ({code}) {MAX_RESTARTS} times; jobs will wait. "
                      "Run `loraport worker` in a terminal to see why.", file=sys.stderr, flush=True)
                return
            self.restarts += 1
            print(f"loraport: the job worker exited ({code}); restarting it.", file=sys.stderr, flush=True)
            self.proc = subprocess.Popen(self.cmd, env=self.env, stdin=subprocess.DEVNULL)

    def stop(self, grace_s: float = STOP_GRACE_S) -> int | None:
        """SIGTERM, wait up to ``grace_s``, then SIGKILL; returns the exit code."""
        self._stopping.set()
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            log.warning("worker did not stop in %.0f s; killing it (its job resumes from the last checkpoint)", grace_s)
            self.proc.kill()
            return self.proc.wait()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None


def check_binding(settings: Settings) -> None:
    if not is_loopback(settings.host) and settings.token is None:
        raise LoraportError(
            f"Binding {settings.host} exposes loraport beyond this machine: set LORAPORT_TOKEN first, "
            "or bind 127.0.0.1."
        )


def run_server(settings: Settings, *, worker: bool = True) -> None:
    """``loraport serve``: the panel and API on HOST:PORT, and the job worker beside them."""
    import uvicorn

    from web.app import create_app
    from web.bots import status_lines as bot_status_lines

    check_binding(settings)
    app = create_app(settings)
    jobs = WorkerProcess(settings).start() if worker else None
    url = f"http://{settings.host}:{settings.port}/"
    print(f"loraport serving on {url}  (workspace {settings.home})", flush=True)
    if settings.token is not None:
        print(f"  access token required: open {url}?token=$LORAPORT_TOKEN once, or send "
              "'Authorization: Bearer $LORAPORT_TOKEN'", flush=True)
    print(f"  job worker: pid {jobs.pid}" if jobs else "  job worker: not started (run `loraport worker`)", flush=True)
    print("\n".join(bot_status_lines(settings)), flush=True)
    print(f"  model: {settings.default_model}   stop with Ctrl+C", flush=True)
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    finally:
        if jobs:
            print("loraport: stopping the job worker…", flush=True)
            jobs.stop()


class ThreadedServer:
    """The app under uvicorn in a thread on a free loopback port (the browser test and the benches use it)."""

    def __init__(self, app, host: str = "127.0.0.1", port: int | None = None):
        import uvicorn

        self.port = port or free_port(host)
        self.url = f"http://{host}:{self.port}"
        config = uvicorn.Config(app, host=host, port=self.port, log_level="warning", ws_ping_interval=None)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    def __enter__(self) -> "ThreadedServer":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
