"""Evaluation as a worker job and through the CLI, and the retrain it proposes, on one short real run."""

import json

import pytest

from cli.main import main
from core.store import open_db
from tests.trainer.train_utils import concept_dataset, tiny_config
from tools.evaluate import enqueue_evaluate_job
from tools.jobs import JOB_KINDS
from tools.train.retrain import launch_retrain, retrain_with
from trainer import jobs
from trainer.worker import run_job


@pytest.fixture
def trained_job(workspace, tmp_path):
    """A finished 10-step training job of this workspace (a few seconds on one thread)."""
    cfg = tiny_config(concept_dataset(tmp_path / "ds", n=3), steps=10, checkpoints={"every": 5, "keep": 2})
    db = open_db(workspace)
    job_id = jobs.enqueue(db, "train", cfg, workspace=workspace)
    assert run_job(workspace, job_id).status == "finished"
    return job_id


@pytest.mark.slow
def test_evaluate_job_runs_in_the_worker_and_records_the_verdict(workspace, trained_job):
    eval_id = enqueue_evaluate_job(trained_job, checkpoints=False)
    record = run_job(workspace, eval_id, runners=JOB_KINDS)
    assert record.status == "finished" and record.parent_job_id == trained_job
    result = record.result if isinstance(record.result, dict) else json.loads(record.result)
    assert result["status"] in ("weak", "good", "over-fit", "broken")
    report = json.loads(open(result["report_json"]).read())
    assert report["job_id"] == trained_job and report["verdict"]["status"] == result["status"]
    types = [e["type"] for e in jobs.events(open_db(workspace), eval_id)]
    assert types[0] == "queued" and "progress" in types and types[-1] == "finished"


@pytest.mark.slow
def test_cli_evaluate_json_is_one_document(trained_job, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", trained_job, "--json", "--no-checkpoints"])
    out = capsys.readouterr().out
    report = json.loads(out)
    assert exit_.value.code in (0, None)
    assert report["verdict"]["status"] in ("weak", "good", "over-fit", "broken") and report["checkpoints"] == []
    assert all(m["meaning"] for m in report["metrics"].values())


@pytest.mark.slow
def test_retrain_proposal_keeps_alpha_equal_to_rank_and_launches_linked(workspace, trained_job):
    proposal = retrain_with(trained_job, {"rank": "16"})
    assert proposal.config.lora.rank == 16 and proposal.config.lora.alpha == 16
    assert {c.name for c in proposal.changes} == {"rank", "alpha"} and proposal.based_on == trained_job
    ref = launch_retrain(proposal)
    child = jobs.get_job(open_db(workspace), ref.job_id)
    assert child.status == "queued" and child.parent_job_id == trained_job and child.config["lora"]["rank"] == 16


@pytest.mark.slow
def test_cancelled_evaluation_stops_between_phases_without_a_report(workspace, trained_job):
    from tools.evaluate import run_evaluate_job

    eval_id = enqueue_evaluate_job(trained_job, checkpoints=False)
    job = jobs.get_job(open_db(workspace), eval_id)
    events = []
    result = run_evaluate_job(workspace, job, events.append, should_stop=lambda: len(events) >= 1)
    assert result == {"status": "cancelled", "steps": 1} and [e["type"] for e in events] == ["progress"]
    assert not list((workspace.run_dir(eval_id)).rglob("report.json"))
