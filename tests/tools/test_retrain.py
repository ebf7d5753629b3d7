"""Which earlier run "retrain my style LoRA" means: the latest finished run of the recipe, or of one thread."""

import pytest

from core.errors import LoraportError
from core.store import open_db
from tests.agent.conftest import tiny_config
from tools.train.retrain import latest_run, retrain_with


def _enqueue(workspace, config, thread_id=None, status=None):
    from trainer import jobs

    db = open_db(workspace)
    job_id = jobs.enqueue(db, "train", config, thread_id=thread_id, workspace=workspace)
    if status:
        db["jobs"].update(job_id, {"status": status})
    return job_id


def test_latest_run_picks_the_newest_finished_run_of_the_recipe(workspace, tmp_path):
    done = _enqueue(workspace, tiny_config(tmp_path, recipe="style", steps=100), status="finished")
    _enqueue(workspace, tiny_config(tmp_path, recipe="style", steps=200), status="failed")  # newer, but failed
    _enqueue(workspace, tiny_config(tmp_path, recipe="character"), status="finished")
    assert latest_run("Style") == done
    proposal = retrain_with(latest_run("style"), {"steps": "+20%"})
    assert proposal.summary == f"Retrain from job {done} with steps 100 -> 120."


def test_latest_run_of_a_thread_ignores_other_threads_newer_runs(workspace, tmp_path):
    mine = _enqueue(workspace, tiny_config(tmp_path, recipe="style"), thread_id="t1")
    _enqueue(workspace, tiny_config(tmp_path, recipe="style"), thread_id="t2")
    assert latest_run(thread_id="t1") == mine


def test_latest_run_without_any_run_of_the_recipe_says_what_to_do(workspace, tmp_path):
    _enqueue(workspace, tiny_config(tmp_path, recipe="style"))
    with pytest.raises(LoraportError, match="no earlier motion training run.*train one first"):
        latest_run("motion")
