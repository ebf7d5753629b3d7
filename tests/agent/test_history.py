"""Retraining in words resolves against the jobs the user ran: the latest run of a recipe, or this thread's."""

import json

import pytest

from agent.brains.guided import GuidedBrain
from agent.events import ApprovalRequest, ToolEnd
from core.store import open_db
from tests.agent.conftest import job_rows, tiny_config


def _enqueue(workspace, config, thread_id=None):
    from trainer import jobs

    return jobs.enqueue(open_db(workspace), "train", config, thread_id=thread_id, workspace=workspace)


@pytest.mark.slow
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
    assert new["parent_job_id"] == latest_style  # the new run is linked to the run it improves


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


def _evaluated_with_earlier_checkpoint(kick, tmp_path, job):
    """The thread's evaluation recommends checkpoint 50 over the final LoRA (its file: the checkpoint's bytes)."""
    ckpt = tmp_path / "run" / "checkpoints" / "lora-50.safetensors"
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"weights at step 50")
    report = {"lora_path": str(tmp_path / "run" / "lora.safetensors"), "job_id": job, "run_dir": str(tmp_path / "run"),
              "model_id": "tiny-ltx-2.3", "out_dir": str(tmp_path / "run" / "eval"), "best_checkpoint": 50,
              "checkpoints": [{"step": 50, "path": str(ckpt), "holdout_loss": 0.4, "recommended": True},
                              {"step": 100, "path": str(ckpt), "holdout_loss": 0.6, "final": True}],
              "verdict": {"status": "over-fit", "evidence": ["holdout_loss rose after step 50"], "suggestions": [
                  {"action": "Export checkpoint 50.", "why": "held-out loss was lowest there", "confirm": "x",
                   "checkpoint": 50}]}}
    kick.graph.update_state(kick._config, {"job_ids": [job], "evaluations": [report]})
    return tmp_path / "run" / "lora-step-000050.safetensors"


def test_an_earlier_best_checkpoint_is_offered_and_exported_after_a_yes(sidekick_factory, workspace, tmp_path):
    kick = sidekick_factory(GuidedBrain())
    job = _enqueue(workspace, tiny_config(tmp_path, recipe="style", steps=100), thread_id="t1")
    dest = _evaluated_with_earlier_checkpoint(kick, tmp_path, job)

    offer = [e.text for e in kick.send("try suggestion 1") if e.type == "text"]
    assert any("needs no new run" in t and "'export'" in t and "checkpoint 50" in t for t in offer)
    [request] = [e for e in kick.send("export it") if isinstance(e, ApprovalRequest)]
    assert request.tool == "export_checkpoint" and "step 50" in request.summary and "new file" in request.summary
    assert not dest.exists()  # nothing written before the yes

    [end] = [e for e in kick.approve(request.id) if isinstance(e, ToolEnd)]
    assert end.ok and end.result["path"] == str(dest) and dest.read_bytes() == b"weights at step 50"
    [again] = [e for e in kick.send("export") if isinstance(e, ApprovalRequest)]
    assert f"REPLACING the existing {dest}" in again.summary  # a second export overwrites: the request says so


def test_export_without_a_recommended_checkpoint_says_why(sidekick_factory, workspace, tmp_path):
    kick = sidekick_factory(GuidedBrain())
    assert any(e.type == "text" and "Nothing evaluated yet" in e.text for e in kick.send("export the best checkpoint"))
