"""The graph's promises: heavy work waits for an explicit yes, survives a restart, and a no runs nothing."""

import pytest

from agent.events import ApprovalRequest, TextEvent, ToolEnd, TurnEnd
from tests.agent.conftest import ScriptedBrain, job_rows, tiny_config


def _with_plan(kick, tmp_path, **kw):
    """Give the thread a resolved config, as tools.plan.service would have left it."""
    kick.graph.update_state(kick._config, {"config": tiny_config(tmp_path, **kw).model_dump(mode="json"),
                                           "recipe": kw.get("recipe", "style")})


def _launch_brain():
    return ScriptedBrain([("Launching.", [("launch_training", {})]), ("Started.", [])])


@pytest.mark.slow
def test_launch_waits_for_approval_and_nothing_runs_before_yes(sidekick_factory, workspace, tmp_path):
    kick = sidekick_factory(_launch_brain())
    _with_plan(kick, tmp_path)
    events = list(kick.send("start"))
    [request] = [e for e in events if isinstance(e, ApprovalRequest)]
    assert request.tool == "launch_training" and "steps 100" in request.summary
    assert isinstance(events[-1], TurnEnd)
    assert job_rows(workspace) == []  # nothing heavy before the yes
    assert not any(isinstance(e, ToolEnd) for e in events)

    events = list(kick.approve(request.id))
    [end] = [e for e in events if isinstance(e, ToolEnd)]
    assert end.ok and end.tool == "launch_training"
    [row] = job_rows(workspace)
    assert row["id"] == end.result["job_id"] and row["thread_id"] == "t1" and row["status"] == "queued"
    assert kick.pending_approval() is None and kick.job_ids() == [row["id"]]
    assert any(e.type == "job_event" and e.event["type"] == "queued" for e in events)


def test_pending_approval_survives_a_restart(sidekick_factory, workspace, tmp_path):
    kick = sidekick_factory(_launch_brain())
    _with_plan(kick, tmp_path)
    [request] = [e for e in kick.send("start") if isinstance(e, ApprovalRequest)]
    del kick  # the process ends; only the checkpoint file remains

    revived = sidekick_factory(ScriptedBrain([("Started after the restart.", [])]))
    assert revived.pending_approval() == request
    assert job_rows(workspace) == []
    events = list(revived.approve(request.id))
    assert [e.tool for e in events if isinstance(e, ToolEnd)] == ["launch_training"]
    assert len(job_rows(workspace)) == 1
    assert any(isinstance(e, TextEvent) and "after the restart" in e.text for e in events)
    assert [e.type for e in revived.history()][:2] == ["text", "text"]  # the user's words, then the reply


def test_reject_runs_nothing_and_tells_the_brain(sidekick_factory, workspace, tmp_path):
    brain = _launch_brain()
    kick = sidekick_factory(brain)
    _with_plan(kick, tmp_path)
    [request] = [e for e in kick.send("start") if isinstance(e, ApprovalRequest)]
    list(kick.reject(request.id))
    assert job_rows(workspace) == []
    tool_message = brain.seen[-1][-1]
    assert tool_message["role"] == "tool" and tool_message["content"]["declined"] is True


def test_other_words_while_pending_decline_then_are_read(sidekick_factory, workspace, tmp_path):
    brain = ScriptedBrain([("", [("launch_training", {})]), ("Not launched.", []), ("Sure, rank.", [])])
    kick = sidekick_factory(brain)
    _with_plan(kick, tmp_path)
    list(kick.send("start"))
    events = list(kick.send("actually, what does rank do?"))
    assert job_rows(workspace) == [] and kick.pending_approval() is None
    assert [e.text for e in events if isinstance(e, TextEvent)] == ["Not launched.", "Sure, rank."]


def test_approve_refuses_a_stale_id(sidekick_factory, tmp_path):
    import pytest

    from core.errors import LoraportError

    kick = sidekick_factory(_launch_brain())
    _with_plan(kick, tmp_path)
    list(kick.send("start"))
    with pytest.raises(LoraportError, match="No pending approval"):
        list(kick.approve("call_not_this_one"))


def test_failing_tool_becomes_a_result_and_the_turn_goes_on(sidekick_factory):
    brain = ScriptedBrain([("", [("job_status", {"job_id": "train-nope"}), ("no_such_tool", {})]), ("ok", [])])
    events = list(sidekick_factory(brain).send("status"))
    ends = [e for e in events if isinstance(e, ToolEnd)]
    assert [e.ok for e in ends] == [False]
    assert "train-nope" in ends[0].result["error"]
    tool_messages = [m for m in brain.seen[-1] if m["role"] == "tool"]
    assert "no tool 'no_such_tool'" in tool_messages[1]["content"]["error"]
    assert isinstance(events[-1], TurnEnd)


def test_tool_loop_is_cut_by_the_round_guard(sidekick_factory):
    brain = ScriptedBrain([("", [("list_recipes", {})])] * 20)
    events = list(sidekick_factory(brain).send("loop"))
    assert any(isinstance(e, TextEvent) and "several steps" in e.text for e in events)
    assert len(brain.seen) == 6


def test_two_heavy_calls_are_asked_one_by_one(sidekick_factory, workspace, tmp_path):
    brain = ScriptedBrain([("", [("launch_training", {}), ("cancel_job", {"job_id": "train-x"})]), ("done", [])])
    kick = sidekick_factory(brain)
    _with_plan(kick, tmp_path)
    [first] = [e for e in kick.send("start and cancel the old one") if isinstance(e, ApprovalRequest)]
    assert first.tool == "launch_training"
    [second] = [e for e in kick.approve(first.id) if isinstance(e, ApprovalRequest)]
    assert second.tool == "cancel_job" and job_rows(workspace) == []  # nothing runs until every answer is in
    events = list(kick.reject(second.id))
    assert [(e.tool, e.ok) for e in events if isinstance(e, ToolEnd)] == [("launch_training", True)]
    assert len(job_rows(workspace)) == 1
    assert brain.seen[-1][-1]["content"]["declined"] is True


def test_a_new_message_declines_every_pending_request_before_it_is_read(sidekick_factory, workspace, tmp_path):
    brain = ScriptedBrain([("", [("launch_training", {}), ("cancel_job", {"job_id": "train-x"})]),
                           ("Nothing ran.", []), ("About rank.", [])])
    kick = sidekick_factory(brain)
    _with_plan(kick, tmp_path)
    list(kick.send("start and cancel"))
    events = list(kick.send("what does rank do?"))
    assert kick.pending_approval() is None and job_rows(workspace) == []
    results = [m for m in brain.seen[-1] if m["role"] == "tool"]
    assert [r["content"].get("declined") for r in results] == [True, True]
    assert brain.seen[-1][-1] == {"role": "user", "content": "what does rank do?"}
    assert [e.text for e in events if isinstance(e, TextEvent)] == ["Nothing ran.", "About rank."]
