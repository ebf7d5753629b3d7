"""Training tools: config building from flags, launch/status/cancel/resume through the workspace of LORAPORT_HOME."""

import pytest

from core.errors import LoraportError, NotFoundError
from tools.train import launch as train_tools
from tools.train.config import build_config
from trainer.config import TrainConfig


@pytest.fixture
def clips(tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    return folder


def test_build_config_without_recipe_uses_the_models_buckets_and_the_flags(clips):
    from trainer.models import get_model_spec

    config = build_config("none", clips, steps=12, rank=4, lr=3e-4, trigger="zxq", checkpoint_every=5)
    assert config.model.id == "tiny-ltx-2.3" and config.data.dataset_dir == clips.resolve()
    assert config.optim.steps == 12 and config.optim.learning_rate == 3e-4
    assert (config.lora.rank, config.lora.alpha) == (4, 4)  # alpha follows rank: scale 1, every loader agrees
    assert config.data.trigger_word == "zxq" and config.checkpoints.every == 5
    assert config.data.buckets == list(get_model_spec("tiny-ltx-2.3").default_buckets)
    first = config.data.buckets[0]
    assert (config.validation.width, config.validation.height, config.validation.frames) == (
        first.width, first.height, first.frames)


def test_build_config_refuses_flags_that_do_not_fit_together(clips):
    with pytest.raises(LoraportError, match="do not fit together"):
        build_config("none", clips, rank=0)


def test_build_config_accepts_a_dataset_id_of_the_workspace(workspace):
    workspace.dataset_dir("ds1").mkdir(parents=True)
    config = build_config("none", "ds1", steps=3)
    assert config.data.dataset_dir == workspace.dataset_dir("ds1")


def test_build_config_names_the_fix_for_an_unknown_dataset(workspace):
    with pytest.raises(LoraportError, match="neither a folder nor a dataset id"):
        build_config("none", "no-such-set")


def test_launch_queues_in_the_workspace_of_loraport_home(workspace_home, clips):
    ref = train_tools.launch(build_config("none", clips, steps=3), thread_id="thr")
    assert ref.status == "queued" and not ref.worker_running
    assert ref.run_dir.startswith(str(workspace_home / "runs"))
    record = train_tools.job_status(ref.job_id)
    assert record.thread_id == "thr" and TrainConfig.model_validate(record.config).optim.steps == 3
    assert [r.job_id for r in train_tools.list_jobs(status="queued")] == [ref.job_id]


def test_cancel_then_resume_puts_the_job_back_in_the_queue(clips):
    ref = train_tools.launch(build_config("none", clips, steps=3))
    assert train_tools.cancel_job(ref.job_id).status == "cancelled"
    assert train_tools.resume_job(ref.job_id).status == "queued"


def test_job_status_of_an_unknown_id_is_not_found():
    with pytest.raises(NotFoundError):
        train_tools.job_status("train-00000000-000000-000000")



@pytest.mark.slow
def test_build_config_from_a_recipe_keeps_the_users_flags(tmp_path):
    from tests.trainer.clips import make_clip

    for i in range(3):
        make_clip(tmp_path / "clips" / f"c{i}.mp4", frames=17, pattern="moving")
    config = build_config("style", tmp_path / "clips", steps=12, rank=8, lr=2e-4, trigger="zxq",
                                      checkpoint_every=6)
    assert config.recipe == "style" and config.model.id == "tiny-ltx-2.3"
    assert (config.optim.steps, config.lora.rank, config.optim.learning_rate) == (12, 8, 2e-4)
    assert (config.data.trigger_word, config.checkpoints.every) == ("zxq", 6)


def test_build_config_names_an_unknown_recipe(tmp_path):
    (tmp_path / "clips").mkdir()
    with pytest.raises(LoraportError, match="recipe"):
        build_config("no-such-recipe", tmp_path / "clips")


def test_the_job_kinds_dict_holds_every_kind_a_surface_queues():
    from tools.caption.jobs import run_caption_job
    from tools.evaluate.jobs import run_evaluate_job
    from tools.jobs import JOB_KINDS, run_train_job
    from tools.studio import run_studio_job

    assert JOB_KINDS == {"train": run_train_job, "caption": run_caption_job, "evaluate": run_evaluate_job,
                         "studio": run_studio_job}
