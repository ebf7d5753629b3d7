"""A real Ray head on loopback for the cluster tests: CPU only, small object store, no dashboard.

It is started as its own process group (``ray start --head --block``) and ended by that group's id, so a test
never touches another Ray on the machine. Its workers import this checkout (PYTHONPATH) and run torch on one
thread.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RAY = Path(sys.executable).parent / "ray"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ENV = {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "RAY_USAGE_STATS_ENABLED": "0", "LORAPORT_TORCH_THREADS": "1"}


class RayHead:
    def __init__(self, num_cpus: int = 2, env: dict[str, str] | None = None):
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.temp = tempfile.mkdtemp(prefix="lpray-", dir="/tmp")  # short: Ray's socket paths must fit 107 chars
        env = {**os.environ, **ENV, **(env or {})}
        cmd = [str(RAY), "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(self.port),
               f"--num-cpus={num_cpus}", "--num-gpus=0", "--object-store-memory=200000000",
               "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={self.temp}"]
        self.proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                                     stderr=open(Path(self.temp) / "head.log", "wb"))
        self._wait_ready()

    def add_node(self, num_cpus: int = 1) -> "RayNode":
        """Another node on this machine joining the cluster: its own raylet and workers, its own process group."""
        return RayNode(self, num_cpus)

    def _wait_ready(self, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("ray head exited: " + (Path(self.temp) / "head.log").read_text()[-2000:])
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.2)
        raise RuntimeError("ray head did not start")

    def stop(self) -> None:
        """End the head and everything it started: its process group, by id."""
        try:
            import ray

            ray.shutdown()
        except ImportError:
            pass
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=15)
                break
            except subprocess.TimeoutExpired:
                continue


class RayNode:
    """A worker node of a ``RayHead`` (``ray start --address ... --block``); ``kill`` loses it as a crash would."""

    def __init__(self, head: RayHead, num_cpus: int):
        import ray

        before = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
        cmd = [str(RAY), "start", "--block", "--address", head.address, "--node-ip-address", "127.0.0.1",
               f"--num-cpus={num_cpus}", "--num-gpus=0", "--object-store-memory=100000000"]
        self.proc = subprocess.Popen(cmd, env={**os.environ, **ENV}, start_new_session=True,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            new = {n["NodeID"] for n in ray.nodes() if n["Alive"]} - before
            if new:
                self.node_id = new.pop()
                return
            time.sleep(0.3)
        raise RuntimeError("ray node did not join")

    def kill(self) -> None:
        """SIGKILL the node's whole process group: raylet, object store and workers vanish at once."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=15)


@contextmanager
def joined(head: RayHead) -> Iterator[RayHead]:
    """This test process connected to ``head`` (as the dispatcher is) until the block ends; then the head stops."""
    import ray

    try:
        ray.init(address=head.address, namespace="loraport", log_to_driver=False)
        yield head
    finally:
        head.stop()
