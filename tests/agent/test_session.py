"""Sidekick keeps one store connection and re-reads the thread's state only when the checkpoint changed; what
another Sidekick (another process, a restart) did on the thread must still show, and callers get copies."""

import threading

from agent.events import ApprovalRequest, TextEvent
from core.store import open_db
from tests.agent.conftest import ScriptedBrain, tiny_config


def _pending_launch(kick, tmp_path) -> ApprovalRequest:
    kick.graph.update_state(kick._config, {"config": tiny_config(tmp_path).model_dump(mode="json"),
                                           "recipe": "style"})
    [request] = [e for e in kick.send("start") if isinstance(e, ApprovalRequest)]
    return request


def test_a_turn_run_by_another_sidekick_on_the_thread_is_seen(sidekick_factory, tmp_path):
    watcher = sidekick_factory(ScriptedBrain([("Hello.", [])]))
    list(watcher.send("hi"))
    assert watcher.pending_approval() is None  # read (and kept) before the other one acts

    other = sidekick_factory(ScriptedBrain([("Launching.", [("launch_training", {})]), ("Started.", [])]))
    request = _pending_launch(other, tmp_path)
    assert watcher.pending_approval() == request
    assert [e.text for e in watcher.history() if isinstance(e, TextEvent)][-2:] == ["start", "Launching."]

    list(other.approve(request.id))
    assert watcher.pending_approval() is None
    assert watcher.job_ids() == other.job_ids() and len(watcher.job_ids()) == 1


def test_state_hands_out_a_copy_the_caller_may_change(sidekick_factory):
    kick = sidekick_factory(ScriptedBrain([("Hello.", [])]))
    list(kick.send("hi"))
    kick.state()["messages"].append({"role": "user", "content": "not said"})
    assert [e.text for e in kick.history()] == ["hi", "Hello."]


def test_the_thread_is_listed_once_and_its_time_moves_on(sidekick_factory, workspace):
    kick = sidekick_factory(ScriptedBrain([("One.", []), ("Two.", [])]))
    list(kick.send("first words"))
    [row] = list(open_db(workspace)["threads"].rows)
    db = open_db(workspace)
    with db.conn:
        db.execute("UPDATE threads SET updated_at = '2000-01-01T00:00:00+00:00'")
    db.conn.close()
    list(kick.send("second words"))
    revived = sidekick_factory(ScriptedBrain([("Three.", [])]))  # a restart: a new Sidekick, a new connection
    list(revived.send("third words"))
    kick.close()
    [after] = list(open_db(workspace)["threads"].rows)
    assert after["title"] == "first words" and after["created_at"] == row["created_at"]
    assert after["updated_at"] > "2000-01-01" and after["surface"] == "cli"


class _SlowBrain:
    """Emits its text, then keeps working until the test has seen that text (or gives up after 5 s)."""

    name = "slow"

    def __init__(self):
        self.seen = threading.Event()
        self.text_arrived_while_working = None

    def respond(self, state, ctx, emit):
        emit({"type": "text", "text": "thinking out loud"})
        self.text_arrived_while_working = self.seen.wait(5)
        return {"role": "assistant", "content": "thinking out loud", "tool_calls": []}


def test_text_reaches_the_surface_while_the_brain_is_still_working(sidekick_factory):
    brain = _SlowBrain()
    for event in sidekick_factory(brain).send("hi"):
        if isinstance(event, TextEvent):
            brain.seen.set()
    assert brain.text_arrived_while_working is True
