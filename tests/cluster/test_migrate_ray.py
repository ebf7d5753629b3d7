"""`loraport migrate` end to end on a real Ray cluster (a loopback head started here): three old LoRAs, one of
them broken, become two trained and evaluated LoRAs and one clear skip, in one table."""

import json
from pathlib import Path

import pytest

pytest.importorskip("ray")

from cli.main import main  # noqa: E402
from core.store import open_db  # noqa: E402
from core.workspace import Workspace  # noqa: E402
from tests.cluster.ray_head import RayHead, joined  # noqa: E402
from tests.tools.lora_factory import ltx2_metadata, make_ltx2_lora  # noqa: E402
from tests.trainer.train_utils import concept_dataset  # noqa: E402
from trainer import jobs  # noqa: E402


@pytest.fixture(scope="module")
def ray_head():
    with joined(RayHead(num_cpus=2)) as head:
        yield head


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_migrate_a_folder_of_three_on_the_cluster_gives_two_evaluated_loras_and_a_clear_skip(
        ray_head, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LORAPORT_RAY_ADDRESS", ray_head.address)
    loras, clips = tmp_path / "loras", tmp_path / "clips"
    loras.mkdir()
    make_ltx2_lora(loras / "zorbly_style.safetensors", n_blocks=2,
                   metadata={**ltx2_metadata(), "modelspec.trigger_phrase": "zorbly"})
    make_ltx2_lora(loras / "character_v3.safetensors", n_blocks=2, metadata={
        **ltx2_metadata(), "modelspec.trigger_phrase": "ohwx man",
        "ss_dataset_dirs": json.dumps({"10_hero shots": {"n_repeats": 10, "img_count": 3}})})
    (loras / "broken.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    concept_dataset(clips / "zorbly-style", n=3)
    concept_dataset(clips / "hero_shots", n=3)

    with pytest.raises(SystemExit) as exit_:
        main(["migrate", str(loras), "--datasets", str(clips), "--set", "steps=10", "--set", "checkpoint_every=5",
              "--yes", "--json"])
    assert exit_.value.code in (0, None)
    doc = json.loads(capsys.readouterr().out)
    rows = {r["name"]: r for r in doc["batch"]["rows"]}
    assert doc["batch"]["done"] and set(rows) == {"broken", "character_v3", "zorbly_style"}
    assert rows["broken"]["verdict"] == "skipped" and rows["broken"]["retry"].startswith("cannot be read")
    db = open_db(Workspace.from_settings())
    for name, trigger in (("zorbly_style", "zorbly"), ("character_v3", "ohwx man")):
        row = rows[name]
        assert row["verdict"] in ("good", "weak", "over-fit", "broken") and row["trigger"] == trigger
        train, evaluation = jobs.get_job(db, row["train_job"]), jobs.get_job(db, row["eval_job"])
        assert train.status == "finished" and train.steps == 10 and train.device.startswith("ray:")
        assert Path(row["lora_path"]).is_file() and Path(row["lora_path"]).parent == Path(train.run_dir)
        assert train.config["data"]["trigger_word"] == trigger
        assert evaluation.status == "finished" and evaluation.parent_job_id == train.job_id
        assert evaluation.device.startswith("ray:") and Path(evaluation.result["report_json"]).is_file()
