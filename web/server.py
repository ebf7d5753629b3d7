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
from pathlib import Path

from core.errors import LoraportError
from core.settings import Settings
from core.workspace import Workspace
from trainer.worker_lock import EXIT_LOCKED, held_locks

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
    """``loraport worker`` as a child process, supervised: restarted when it dies, stopped with the server.

    One worker per device per workspace (``trainer.worker_lock``): when a worker already holds the workspace (one
    started on its own with ``loraport worker``, or one left by a server that was killed and is now finishing its
    step before it exits), the server adopts it instead of starting a second, and starts its own once that one
    is gone. The child runs in its own session, so a Ctrl+C at the terminal reaches only the server, which then
    stops the worker with one SIGTERM; and it watches the server's pid, so a server killed with SIGKILL does not
    leave it behind.
    """

    def __init__(self, settings: Settings, cmd: list[str] | None = None):
        self.workspace = Workspace(Path(settings.home)).ensure()
        self.cmd = cmd or [*WORKER_CMD, "--parent-pid", str(os.getpid())]
        self.env = {**os.environ, "LORAPORT_HOME": str(settings.home)}
        self.proc: subprocess.Popen | None = None
        self.adopted: dict | None = None  # the other worker this server relies on, while it runs
        self.restarts = 0
        self._stopping = threading.Event()
        self._watch: threading.Thread | None = None

    def start(self) -> "WorkerProcess":
        self._launch()
        if self._watch is None:
            self._watch = threading.Thread(target=self._supervise, name="worker-supervisor", daemon=True)
            self._watch.start()
        return self

    def _launch(self) -> None:
        held = held_locks(self.workspace)
        if held:
            if self.adopted is None:
                print(f"loraport: a worker (pid {held[0].get('pid')}) already runs this workspace's jobs; "
                      "using it, and starting one here when it stops.", file=sys.stderr, flush=True)
            self.proc, self.adopted = None, held[0]
            return
        self.adopted = None
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdin=subprocess.DEVNULL, start_new_session=True)

    def _supervise(self) -> None:
        while not self._stopping.wait(1.0):
            if self.proc is None:  # relying on another worker: take over once its lock is free
                self._launch()
                continue
            code = self.proc.poll()
            if code is None:
                continue
            if code == EXIT_LOCKED:  # another worker took the lock first: rely on it
                self.proc = None
                continue
            if self.restarts >= MAX_RESTARTS:
                print(f"loraport: the job worker exited ({code}) {MAX_RESTARTS} times; jobs will wait. "
                      "Run `loraport worker` in a terminal to see why.", file=sys.stderr, flush=True)
                return
            self.restarts += 1
            print(f"loraport: the job worker exited ({code}); restarting it.", file=sys.stderr, flush=True)
            self._launch()

    def stop(self, grace_s: float = STOP_GRACE_S) -> int | None:
        """SIGTERM our own worker, wait up to ``grace_s``, then SIGKILL; returns its exit code. An adopted
        worker was started by someone else and keeps running."""
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
        if self.proc is not None:
            return self.proc.pid
        return self.adopted.get("pid") if self.adopted else None

    def describe(self) -> str:
        if self.adopted is not None:
            return f"pid {self.pid} (already running for this workspace; adopted)"
        return f"pid {self.pid}"


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
    print(f"  job worker: {jobs.describe()}" if jobs else "  job worker: not started (run `loraport worker`)",
          flush=True)
    if settings.ray_address:  # the worker submits every job there (trainer.cluster); unset, it runs them here
        print(f"  jobs run on the Ray cluster at {settings.ray_address}", flush=True)
    print("\n".join(bot_status_lines(settings)), flush=True)
    print(f"  model: {settings.default_model}   stop with Ctrl+C (or SIGTERM)", flush=True)
    # uvicorn answers SIGTERM by shutting down and then re-raising the signal with the handler it found at start.
    # Python's default handler for SIGTERM ends the process on the spot, skipping the `finally` below and
    # orphaning the worker; this one makes SIGTERM behave as Ctrl+C does.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    except KeyboardInterrupt:
        pass
    finally:
        if jobs:
            print("loraport: stopping the job worker…", flush=True)
            jobs.stop()
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


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
