"""Retraining in words resolves against the jobs the user ran: the latest run of a recipe, or this thread's."""

import json

from agent.brains.guided import GuidedBrain
from agent.events import ApprovalRequest, ToolEnd
from core.store import open_db
from tests.agent.conftest import job_rows, tiny_config


def _enqueue(workspace, config, thread_id=None):
    from trainer import jobs

    return jobs.enqueue(open_db(workspace), "train", config, thread_id=thread_id, workspace=workspace)


def test_retrain_style_lora_with_more_steps_copies_latest_style_run(sidekick_factory, workspace, tmp_path):
    _enqueue(workspace, tiny_config(tmp_path, recipe="style", steps=100))
    latest_style = _enqueue(workspace, tiny_config(tmp_path, recipe="style", steps=200))
    _enqueue(workspace, tiny_config(tmp_path, recipe="character", steps=900))  # newer, but not a style run
    kick = sidekick_factory(GuidedBrain())

    events = list(kick.send("retrain my style LoRA with 20% more steps"))
    [request] = [e for e in events if isinstance(e, ApprovalRequest)]
    assert request.tool == "retrain_with" and latest_style in request.summary
    assert "steps 200 -> 240" in request.summary
    assert len(job_rows(workspace)) == 3  # nothing launched before the yes

    events = list(kick.approve(request.id))
    [end] = [e for e in events if isinstance(e, ToolEnd)]
    new = open_db(workspace)["jobs"].get(end.result["job_id"])
    config = json.loads(new["config"])
    assert config["optim"]["steps"] == 240 and config["recipe"] == "style"
    assert config["lora"]["rank"] == 32 and new["thread_id"] == "t1"


def test_same_again_but_rank_16_builds_on_this_threads_last_run(sidekick_factory, workspace, tmp_path):
    _enqueue(workspace, tiny_config(tmp_path, recipe="style", steps=100))
    kick = sidekick_factory(GuidedBrain())
    [first] = [e for e in kick.send("retrain my style lora with 50% more steps") if isinstance(e, ApprovalRequest)]
    list(kick.approve(first.id))
    _enqueue(workspace, tiny_config(tmp_path, recipe="style", steps=5))  # another thread's run, newer

    [again] = [e for e in kick.send("same again but rank 16") if isinstance(e, ApprovalRequest)]
    assert "rank 32 -> 16" in again.summary
    events = list(kick.approve(again.id))
    [end] = [e for e in events if isinstance(e, ToolEnd)]
    config = json.loads(open_db(workspace)["jobs"].get(end.result["job_id"])["config"])
    assert (config["optim"]["steps"], config["lora"]["rank"], config["lora"]["alpha"]) == (150, 16, 16)


def test_retrain_without_any_run_says_so(sidekick_factory, workspace):
    events = list(sidekick_factory(GuidedBrain()).send("retrain my motion lora with rank 8"))
    assert not any(isinstance(e, ApprovalRequest) for e in events)
    assert any(e.type == "text" and "no earlier motion training run" in e.text for e in events)
    assert job_rows(workspace) == []


def test_list_my_loras_shows_runs_newest_first(sidekick_factory, workspace, tmp_path):
    a = _enqueue(workspace, tiny_config(tmp_path, recipe="style"))
    b = _enqueue(workspace, tiny_config(tmp_path, recipe="motion"))
    events = list(sidekick_factory(GuidedBrain()).send("list my loras"))
    [end] = [e for e in events if isinstance(e, ToolEnd)]
    assert [row["id"] for row in end.result] == [b, a]


def test_retrain_after_an_evaluation_uses_the_numbered_suggestion(sidekick_factory, workspace, tmp_path):
    kick = sidekick_factory(GuidedBrain())
    job = _enqueue(workspace, tiny_config(tmp_path, recipe="style", steps=100, rank=32), thread_id="t1")
    suggestions = [{"action": "Export checkpoint 50.", "why": "held-out loss was lowest there", "confirm": "x",
                    "retrain_with": None, "checkpoint": 50},
                   {"action": "Train 20% longer.", "why": "the LoRA barely moves the base", "confirm": "strength up",
                    "retrain_with": {"steps": "+20%"}}]
    kick.graph.update_state(kick._config, {"job_ids": [job], "evaluations": [
        {"verdict": {"status": "weak", "evidence": [], "suggestions": suggestions}}]})

    events = list(kick.send("try suggestion 1"))
    assert any(e.type == "text" and "needs no new run" in e.text for e in events)
    [request] = [e for e in kick.send("retrain with suggestion 2") if isinstance(e, ApprovalRequest)]
    assert request.args["changes"] == {"steps": "+20%"} and "steps 100 -> 120" in request.summary
    assert not any(isinstance(e, ApprovalRequest) for e in kick.send("try suggestion 7"))


def test_approved_retrain_runs_from_the_job_it_showed_even_if_a_newer_one_appears(sidekick_factory, workspace,
                                                                                     tmp_path):
    shown = _enqueue(workspace, tiny_config(tmp_path, recipe="style", steps=100))
    kick = sidekick_factory(GuidedBrain())
    [request] = [e for e in kick.send("retrain my style lora with rank 16") if isinstance(e, ApprovalRequest)]
    assert request.args["job_id"] == shown and shown in request.summary
    _enqueue(workspace, tiny_config(tmp_path, recipe="style", steps=999))  # newer "latest style run"
    [end] = [e for e in kick.approve(request.id) if isinstance(e, ToolEnd)]
    assert end.result["based_on"] == shown
    config = json.loads(open_db(workspace)["jobs"].get(end.result["job_id"])["config"])
    assert (config["optim"]["steps"], config["lora"]["rank"]) == (100, 16)
