"""'Migrate all the LoRAs in this folder' through the sidekick: one approval shows the whole batch, the yes
queues one training per LoRA, and the status tool gives the table (the tests play no worker: nothing trains)."""

import json

import pytest

from agent.events import ApprovalRequest, ToolEnd
from tests.agent.conftest import ScriptedBrain, job_rows
from tests.tools.lora_factory import ltx2_metadata, make_ltx2_lora
from tests.trainer.train_utils import concept_dataset


def _library(tmp_path):
    loras, clips = tmp_path / "loras", tmp_path / "clips"
    loras.mkdir()
    make_ltx2_lora(loras / "zorbly_style.safetensors", n_blocks=2,
                   metadata={**ltx2_metadata(), "modelspec.trigger_phrase": "zorbly"})
    make_ltx2_lora(loras / "lonely.safetensors", n_blocks=2, metadata=ltx2_metadata())
    (loras / "broken.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    concept_dataset(clips / "zorbly_style", n=3)
    concept_dataset(clips / "other", n=3)
    return loras, clips


@pytest.mark.slow
def test_one_approval_shows_the_batch_and_the_yes_queues_each_lora(sidekick_factory, workspace, tmp_path):
    loras, clips = _library(tmp_path)
    args = {"folder": str(loras), "datasets": str(clips), "overrides": {"steps": 10}}
    brain = ScriptedBrain([("Here is the plan.", [("migrate_library", args)]),
                           ("Queued.", []),
                           ("Table.", [("migration_status", {"batch_id": "PLACEHOLDER"})])])
    kick = sidekick_factory(brain)
    events = list(kick.send("migrate all the LoRAs in this folder"))
    request = next(e for e in events if isinstance(e, ApprovalRequest))
    assert job_rows(workspace) == []  # nothing runs before the yes
    assert "Retrain 1 of 3" in request.summary and "zorbly_style: retrain from" in request.summary
    assert "broken: skipped, cannot be read" in request.summary
    assert "No clips found for lonely" in request.summary

    done = list(kick.approve(request.id))
    result = next(e for e in done if isinstance(e, ToolEnd) and e.tool == "migrate_library").result
    assert result["batch_id"].startswith("migrate-") and len(result["trainings"]) == 1
    rows = job_rows(workspace)
    assert [r["kind"] for r in rows] == ["train"] and rows[0]["thread_id"] == "t1"
    assert json.loads(rows[0]["config"])["data"]["trigger_word"] == "zorbly"
    assert result["trainings"][0] in kick.job_ids()

    brain.replies[0] = ("Table.", [("migration_status", {"batch_id": result["batch_id"]})])
    status = [e for e in kick.send("how is it going?") if isinstance(e, ToolEnd)][0].result
    verdicts = {r["name"]: r["verdict"] for r in status["rows"]}
    assert verdicts == {"broken": "skipped", "lonely": "skipped", "zorbly_style": "queued"}


def test_the_guided_brain_reads_migrate_all_the_loras_in_a_folder(sidekick_factory, workspace, tmp_path):
    from agent.brains.guided import GuidedBrain
    from agent.events import TextEvent

    loras, clips = _library(tmp_path)
    kick = sidekick_factory(GuidedBrain(), thread_id="library")
    events = list(kick.send(f"please migrate all the LoRAs in {loras} with the clips in {clips}"))
    request = next(e for e in events if isinstance(e, ApprovalRequest))
    assert request.tool == "migrate_library" and "zorbly_style: retrain from" in request.summary
    assert job_rows(workspace) == []
    asked = [e.text for e in kick.send("migrate all my loras") if isinstance(e, TextEvent)]
    assert any("folder with the LoRA files" in t for t in asked)
