"""Training pieces the bot flows share: a finished style run to retrain from, and the worker run in-process."""

from core.store import open_db
from tests.trainer.train_utils import concept_dataset, tiny_config
from trainer import jobs, worker


def seed_finished_style_run(workspace, tmp_path, steps: int = 10) -> str:
    """A real style LoRA trained on the tiny model for ``steps`` steps (trigger word ``sks``)."""
    dataset = concept_dataset(tmp_path / "clips", n=3)
    config = tiny_config(dataset, steps=steps, recipe="style", checkpoints={"every": 100, "keep": 1})
    job_id = jobs.enqueue(open_db(workspace), "train", config, workspace=workspace)
    run_queued_jobs(workspace)
    assert jobs.get_job(open_db(workspace), job_id).status == "finished"
    return job_id


def run_queued_jobs(workspace) -> int:
    """What ``loraport worker`` does, once, in this process: run every queued job to its end."""
    return worker.run_worker(workspace, once=True, device="cpu", poll_s=0.05)
