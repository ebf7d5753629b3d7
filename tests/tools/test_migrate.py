"""Library migration planning: clips matched by stem, metadata or the user; one plan per LoRA; skips with reasons.

Nothing here trains: the end-to-end batch (train + evaluate on a Ray cluster) is tests/cluster/test_migrate_ray.py.
"""

import json

import pytest

from cli.main import main
from core.errors import LoraportError
from tests.tools.lora_factory import flux_modules, ltx2_metadata, loraport_metadata, make_lora, make_ltx2_lora, \
    make_ltx23_lora
from tests.trainer.train_utils import concept_dataset
from tools.migrate import plan_migration
from tools.migrate.match import dataset_names, key


def test_names_compare_loosely_without_the_words_lora_files_add():
    assert key("My-Style_LoRA v2") == "my_style"
    assert key("ltx-2-19b-zorbly_style_final") == "zorbly_style"
    assert key("Zorbly Style") == key("zorbly-style") == "zorbly_style"


def test_dataset_names_come_from_kohya_and_ai_toolkit_metadata_never_as_paths_to_follow():
    md = {"ss_dataset_dirs": json.dumps({"10_hero shots": {"n_repeats": 10, "img_count": 3}}),
          "ss_datasets": json.dumps([{"subsets": [{"image_dir": "/home/me/data/side_angle"}]}]),
          "config": json.dumps({"process": [{"datasets": [{"folder_path": "C:\\train\\close_ups"}]}]}),
          "ss_output_name": "my_char"}
    assert dataset_names(md) == ["hero shots", "side_angle", "close_ups", "my_char"]
    assert dataset_names({"ss_dataset_dirs": "{not json"}) == []


@pytest.fixture
def library(tmp_path):
    """Six files: two LTX-2 LoRAs with clips (by stem, by metadata), one without, one native 2.3, one Flux, one
    broken; and the clip folders."""
    loras, clips = tmp_path / "loras", tmp_path / "clips"
    loras.mkdir()
    make_ltx2_lora(loras / "zorbly_style.safetensors", n_blocks=2,
                   metadata={**ltx2_metadata(), "modelspec.trigger_phrase": "zorbly style"})
    make_ltx2_lora(loras / "character_v3.safetensors", n_blocks=2, metadata={
        **ltx2_metadata(), "modelspec.trigger_phrase": "ohwx man",
        "ss_dataset_dirs": json.dumps({"10_hero shots": {"n_repeats": 10, "img_count": 3}})})
    make_ltx2_lora(loras / "lonely.safetensors", n_blocks=2, metadata={**ltx2_metadata(), "ss_output_name": "x"})
    make_ltx23_lora(loras / "already_new.safetensors", n_blocks=2, metadata=loraport_metadata("ltx-2.3"))
    make_lora(loras / "flux_thing.safetensors", flux_modules())
    (loras / "broken.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    for name in ("zorbly-style", "Hero_Shots", "misc"):
        concept_dataset(clips / name, n=3)
    return loras, clips


@pytest.mark.slow
def test_plan_matches_each_lora_to_its_clips_and_skips_the_rest_with_the_reason(library):
    loras, clips = library
    plan = plan_migration(loras, clips, overrides={"steps": 10})
    items = {i.name: i for i in plan.items}
    assert [i.name for i in plan.items] == sorted(items, key=str.lower)
    z, c = items["zorbly_style"], items["character_v3"]
    assert (z.action, z.matched_by, z.clips, z.trigger) == ("migrate", "stem", str(clips / "zorbly-style"),
                                                            "zorbly style")
    assert (c.action, c.matched_by, c.clips, c.trigger) == ("migrate", "metadata", str(clips / "Hero_Shots"),
                                                            "ohwx man")
    assert z.config["data"]["dataset_dir"] != c.config["data"]["dataset_dir"] and z.steps == c.steps == 10
    assert z.config["data"]["trigger_word"] == "zorbly style" and z.recipe and c.recipe
    assert items["lonely"].action == "skip" and "--match 'lonely=FOLDER'" in items["lonely"].reason
    assert plan.unmatched == ["lonely"]
    assert items["already_new"].reason.startswith("already native ltx-2.3")
    assert items["flux_thing"].reason.startswith("not an LTX-2 LoRA (made for flux)")
    assert items["broken"].reason.startswith("cannot be read")
    assert plan.total_seconds == pytest.approx(z.seconds + c.seconds, abs=0.2) and plan.gpu_hours == 0
    assert "Retrain 2 of 6" in plan.summary and "0 GPU-hours" in plan.summary


@pytest.mark.slow
def test_the_users_answer_matches_the_rest_and_a_folder_that_does_not_exist_stays_a_skip(library):
    loras, clips = library
    plan = plan_migration(loras, clips, overrides={"steps": 10}, matches={"lonely": "misc"})
    lonely = next(i for i in plan.items if i.name == "lonely")
    assert (lonely.action, lonely.matched_by, lonely.clips) == ("migrate", "user", str(clips / "misc"))
    assert plan.unmatched == [] and len(plan.to_migrate) == 3
    again = plan_migration(loras, clips, overrides={"steps": 10}, matches={"lonely": "nowhere"})
    assert next(i for i in again.items if i.name == "lonely").action == "skip"


def test_a_folder_without_loras_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(LoraportError, match="holds no .safetensors LoRA"):
        plan_migration(tmp_path / "empty", tmp_path)


@pytest.mark.slow
def test_cli_without_yes_launches_nothing_and_prints_the_plan_as_json(library, capsys):
    loras, clips = library
    with pytest.raises(SystemExit) as exit_:
        main(["migrate", str(loras), "--datasets", str(clips), "--set", "steps=10", "--json"])
    assert exit_.value.code == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["batch"] is None and len(doc["plan"]["items"]) == 6
    from core.store import open_db
    from core.workspace import Workspace
    from trainer import jobs

    assert jobs.list_jobs(open_db(Workspace.from_settings())) == []


@pytest.mark.slow
def test_a_batch_that_cannot_fit_on_the_disk_queues_nothing(library, workspace, monkeypatch):
    from core import disk
    from core.store import open_db
    from tools.migrate.service import launch_migration
    from tools.train import disk as train_disk

    loras, clips = library
    plan = plan_migration(loras, clips, overrides={"steps": 10}, workspace=workspace)
    monkeypatch.setattr(disk, "free_space", lambda folder: 1024)
    monkeypatch.setattr(train_disk, "free_space", lambda folder: 1024)
    with pytest.raises(LoraportError, match="Not enough disk space for this batch of 2 trainings"):
        launch_migration(plan, workspace=workspace)
    assert open_db(workspace).execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 0
