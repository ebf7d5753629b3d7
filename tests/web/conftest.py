"""Web test helpers: a scripted Sidekick (the agent contract with queued replies) and small file factories."""

import io
import threading
import time
import zipfile

import pytest

from agent.events import ApprovalRequest, ErrorEvent, TextEvent, ToolEnd, ToolStart, TurnEnd


class ScriptedSidekick:
    """The ``agent.session.Sidekick`` contract, scripted: replies are fixed, history is kept per thread.

    ``send("slow")`` streams ten text deltas 50 ms apart (a turn long enough to disconnect in the middle of);
    ``send("launch")`` asks for approval, ``approve`` then enqueues a real trainer job on the thread.
    """

    histories: dict[str, list] = {}
    received: list[tuple[str, str, str]] = []  # (thread, method, argument) in the order the agent saw them
    lock = threading.Lock()

    def __init__(self, workspace, thread_id):
        self.workspace, self.thread_id = workspace, thread_id

    def _emit(self, events):
        for event in events:
            with self.lock:
                self.histories.setdefault(self.thread_id, []).append(event)
            yield event

    def send(self, text, uploads=None):
        self.received.append((self.thread_id, "send", text) + ((list(uploads),) if uploads else ()))
        if text == "slow":
            return self._emit(self._slow())
        if text == "launch":
            return self._emit([ToolStart(tool="estimate", args={}), ToolEnd(tool="estimate", result={"s": 3}),
                               ApprovalRequest(id="ap-1", tool="launch_training", args={}, summary="2 steps"),
                               TurnEnd()])
        if text == "boom":
            raise RuntimeError("scripted failure")
        return self._emit([TextEvent(text="you said: "), TextEvent(text=text), TurnEnd()])

    def _slow(self):
        for i in range(10):
            time.sleep(0.05)
            yield TextEvent(text=f"part{i} ")
        yield TurnEnd()

    def approve(self, approval_id):
        self.received.append((self.thread_id, "approve", approval_id))
        if approval_id != "ap-1":
            return self._emit([ErrorEvent(message=f"no pending approval {approval_id}"), TurnEnd()])
        from core.store import open_db
        from trainer import jobs
        from trainer.config import TrainConfig

        db = open_db(self.workspace)
        cfg = TrainConfig.model_validate({"data": {"dataset_dir": str(self.workspace.home)}, "optim": {"steps": 4}})
        job_id = jobs.enqueue(db, "train", cfg, thread_id=self.thread_id, workspace=self.workspace)
        db.close()
        return self._emit([ToolEnd(tool="launch_training", result={"job_id": job_id}), TurnEnd()])

    def reject(self, approval_id):
        self.received.append((self.thread_id, "reject", approval_id))
        return self._emit([TextEvent(text="Fine, nothing launched."), TurnEnd()])

    def history(self):
        with self.lock:
            return list(self.histories.get(self.thread_id, []))

    def pending_approval(self):
        return None


@pytest.fixture
def scripted():
    ScriptedSidekick.histories = {}
    ScriptedSidekick.received = []
    return ScriptedSidekick


@pytest.fixture
def client(workspace, scripted):
    from fastapi.testclient import TestClient

    from web.app import create_app

    with TestClient(create_app(sidekick_factory=scripted)) as c:
        yield c


def make_zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def receive_until(ws, kind: str, limit: int = 200) -> list[dict]:
    """Frames up to and including the first of type ``kind``."""
    frames = []
    for _ in range(limit):
        frames.append(ws.receive_json())
        if frames[-1]["type"] == kind:
            return frames
    raise AssertionError(f"no {kind} frame in {limit}: {frames[-5:]}")
