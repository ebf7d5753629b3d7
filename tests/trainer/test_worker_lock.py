"""One worker per device per workspace, and a worker that stops when the server that started it is gone."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.workspace import Workspace
from tests.faults import gone, wait_until
from trainer import worker
from trainer.worker_lock import EXIT_LOCKED, WorkerBusyError, WorkerLock, held_locks, watch_parent

ROOT = Path(__file__).resolve().parents[2]
LORAPORT = [sys.executable, "-c", "from cli.main import main; main()"]


def test_a_second_lock_on_the_same_device_is_refused_with_who_holds_it(workspace):
    first = WorkerLock(workspace, "cpu")
    try:
        with pytest.raises(WorkerBusyError, match=f"pid {os.getpid()}.*already runs jobs on cpu"):
            WorkerLock(workspace, "cpu")
        other = WorkerLock(workspace, "cuda:1")  # another device of the same workspace is free
        assert sorted(h["device"] for h in held_locks(workspace)) == ["cpu", "cuda:1"]
        other.release()
    finally:
        first.release()
    WorkerLock(workspace, "cpu").release()  # free again once released
    assert held_locks(workspace) == []


def test_run_worker_refuses_while_another_worker_holds_the_device(workspace):
    lock = WorkerLock(workspace, "cpu")
    try:
        with pytest.raises(WorkerBusyError):
            worker.run_worker(workspace, once=True, device="cpu")
    finally:
        lock.release()
    assert worker.run_worker(workspace, once=True, device="cpu") == 0


@pytest.mark.slow
def test_loraport_worker_exits_at_once_when_the_workspace_has_one(workspace):
    lock = WorkerLock(workspace, "cpu")
    try:
        done = subprocess.run([*LORAPORT, "worker", "--device", "cpu"], cwd=ROOT, capture_output=True, text=True,
                              timeout=120, env={**os.environ, "LORAPORT_HOME": str(workspace.home)})
    finally:
        lock.release()
    assert done.returncode == EXIT_LOCKED
    assert "another worker" in done.stderr and "Traceback" not in done.stderr


def test_the_lock_dies_with_its_process_even_under_sigkill(workspace):
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from core.workspace import Workspace; "
                               "from trainer.worker_lock import WorkerLock; "
                               f"WorkerLock(Workspace(__import__('pathlib').Path({str(workspace.home)!r})), 'cpu'); "
                               "print('locked', flush=True); time.sleep(60)"],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert [h["pid"] for h in held_locks(workspace)] == [holder.pid]
        holder.kill()
        holder.wait()
    finally:
        holder.kill()
    WorkerLock(workspace, "cpu").release()


@pytest.mark.slow
def test_watch_parent_sets_stop_when_the_parent_changes():
    stop = threading.Event()
    watch_parent(os.getppid() + 1_000_000, stop)  # a pid that is not our parent: as if ours had died
    assert stop.wait(5)
    calm = threading.Event()
    watch_parent(os.getppid(), calm)
    assert not calm.wait(1.5)
    calm.set()


@pytest.mark.slow
def test_the_kernel_tells_a_watching_worker_at_once_when_its_parent_dies(tmp_path):
    # The grandchild polls only hourly, so only the kernel's SIGTERM (PR_SET_PDEATHSIG) can set its stop in time.
    said = tmp_path / "said"
    grandchild = (
        "import os, sys, threading; from trainer import worker, worker_lock; worker_lock.PARENT_POLL_S = 3600; "
        "stop = threading.Event(); worker.stop_on_signals(stop); "
        "worker_lock.watch_parent(os.getppid(), stop, kernel_signal=True); print('armed', flush=True); "
        f"open({str(said)!r}, 'w').write('stopped' if stop.wait(60) else 'never')")
    parent = subprocess.Popen(
        [sys.executable, "-c",
         f"import subprocess, sys, time; w = subprocess.Popen([sys.executable, '-c', {grandchild!r}], "
         "stdout=subprocess.PIPE, text=True, start_new_session=True); "
         "print(w.pid, w.stdout.readline().strip(), flush=True); time.sleep(120)"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        pid, armed = parent.stdout.readline().split()
        assert armed == "armed"
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert wait_until(lambda: said.exists() and said.read_text(), 30) == "stopped"
        assert wait_until(lambda: gone(int(pid)), 10)
    finally:
        parent.kill()


@pytest.mark.slow
def test_a_worker_whose_server_is_killed_exits_by_itself(workspace):
    # A stand-in for `loraport serve`: starts the worker as the server does, prints its pid, then waits.
    server = subprocess.Popen(
        [sys.executable, "-c",
         "import os, subprocess, sys, time; "
         "w = subprocess.Popen([sys.executable, '-c', 'from cli.main import main; main()', 'worker', '--device', "
         "'cpu', '--poll', '0.1', '--parent-pid', str(os.getpid())], start_new_session=True); "
         "print(w.pid, flush=True); time.sleep(120)"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "LORAPORT_HOME": str(workspace.home)})
    try:
        worker_pid = int(server.stdout.readline())
        assert wait_until(lambda: held_locks(workspace), 60), "the worker never took the workspace"
        server.send_signal(signal.SIGKILL)
        server.wait()
        assert wait_until(lambda: gone(worker_pid), 30), "the worker outlived its server"
        assert wait_until(lambda: not held_locks(workspace), 5)
    finally:
        server.kill()
