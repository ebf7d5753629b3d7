"""The whole migration through the guided sidekick, in at most 8 user turns: an LTX-2 LoRA and five clips in,
a trained tiny-model LoRA and its evaluation out. The test plays the worker."""

from pathlib import Path

import pytest
from safetensors import safe_open

from agent.brains.guided import GuidedBrain
from agent.events import ApprovalRequest, ToolEnd
from tests.agent.conftest import job_rows


def _inputs(tmp_path: Path) -> tuple[Path, Path]:
    from tests.tools.lora_factory import ltx2_metadata, make_ltx2_lora
    from tests.trainer.clips import make_clip

    lora = make_ltx2_lora(tmp_path / "old.safetensors", metadata=ltx2_metadata())
    clips = tmp_path / "clips"
    for i in range(5):
        make_clip(clips / f"clip{i}.mp4", frames=17, size=(64, 64), color=(50 * i, 80, 200 - 30 * i),
                  pattern="moving")
        (clips / f"clip{i}.txt").write_text(f"a bright square sliding across a coloured wall, take {i}")
    return lora, clips


def _ends(events, tool):
    return [e for e in events if isinstance(e, ToolEnd) and e.tool == tool]


@pytest.mark.slow
def test_guided_migration_in_at_most_8_turns(sidekick_factory, workspace, tmp_path):
    from trainer.worker import run_job

    lora, clips = _inputs(tmp_path)
    kick = sidekick_factory(GuidedBrain(), thread_id="migrate")
    turns = 0

    def say(text):
        nonlocal turns
        turns += 1
        return list(kick.send(text))

    [inspected] = _ends(say(f"my old LTX-2 LoRA is {lora}"), "inspect_lora")
    assert inspected.ok and inspected.result["verdict"]["status"] == "loads-but-invalid"
    assert _ends(say("it's a style"), "choose_recipe")[0].ok
    events = say(f"the clips are in {clips}")
    assert _ends(events, "import_dataset")[0].result["n_files"] == 5
    assert kick.state()["config"]["model"]["id"] == "tiny-ltx-2.3"
    assert _ends(say("steps 10"), "set_option")[0].result["set"] == {"steps": 10}

    [request] = [e for e in say("start") if isinstance(e, ApprovalRequest)]
    assert "steps 10" in request.summary and "Estimate" in request.summary
    assert job_rows(workspace) == []  # nothing heavy before the yes
    [launched] = _ends(say("yes"), "launch_training")
    job_id = launched.result["job_id"]

    record = run_job(workspace, job_id)  # the worker's part, in-process
    assert record.status == "finished", record.error
    watched = [e.event["type"] for e in kick.watch_job(job_id, timeout_s=5)]
    assert watched[0] == "queued" and "progress" in watched and watched[-1] == "finished"

    lora_path = Path(record.lora_path)
    with safe_open(str(lora_path), "pt") as f:
        keys = list(f.keys())
    assert keys and all(k.startswith("diffusion_model.") and "lora_" in k for k in keys)

    [queued] = _ends(say("evaluate"), "evaluate")  # a job the chat watches, not work inside the turn
    assert queued.ok and queued.result["status"] == "queued", queued.result
    from tools.jobs import JOB_KINDS

    assert run_job(workspace, queued.result["job_id"], runners=JOB_KINDS).status == "finished"
    events = say("so how did it turn out?")
    evaluated = _ends(events, "evaluate")[-1]  # the verdict told on return, then the answer to the question
    assert evaluated.ok, evaluated.result
    verdict = evaluated.result["verdict"]
    assert verdict["status"] in {"weak", "good", "over-fit", "broken"} and verdict["evidence"]
    assert kick.state()["evaluations"][-1]["lora_path"] == str(lora_path)
    reply = "".join(e.text for e in events if e.type == "text")
    assert verdict["status"] in reply
    assert turns <= 8
