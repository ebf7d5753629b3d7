"""A migration told in a user's own words, through the guided sidekick: from "my old LoRA broke" to an evaluated
new LoRA in at most 8 user turns, approvals given as "yep", "sure" and "go for it". The test plays the worker."""

from pathlib import Path

import pytest

from agent.brains.guided import GuidedBrain
from agent.events import ApprovalRequest, TextEvent, ToolEnd, ToolStart
from tests.agent.conftest import job_rows


def _inputs(tmp_path: Path) -> tuple[Path, Path]:
    from tests.tools.lora_factory import ltx2_metadata, make_ltx2_lora
    from tests.trainer.clips import make_clip

    metadata = {**ltx2_metadata(), "modelspec.trigger_phrase": "zorbly style"}
    lora = make_ltx2_lora(tmp_path / "old zorbly.safetensors", metadata=metadata)
    clips = tmp_path / "my clips"
    for i in range(5):
        make_clip(clips / f"clip{i}.mp4", frames=17, size=(64, 64), color=(50 * i, 80, 200 - 30 * i),
                  pattern="moving")
        (clips / f"clip{i}.txt").write_text(f"a bright square sliding across a coloured wall, take {i}")
    return lora, clips


def _tools(events) -> list[str]:
    return [e.tool for e in events if isinstance(e, ToolStart)]


def _text(events) -> str:
    return "\n".join(e.text for e in events if isinstance(e, TextEvent))


@pytest.mark.slow
def test_broken_old_lora_to_evaluated_new_one_in_plain_words(sidekick_factory, workspace, tmp_path):
    from trainer.worker import run_job

    lora, clips = _inputs(tmp_path)
    kick = sidekick_factory(GuidedBrain(), thread_id="story")
    said: list[str] = []

    def say(text):
        said.append(text)
        return list(kick.send(text))

    events = say(f"hi! my old LTX-2 LoRA broke after the update, it's here ({lora})")
    assert _tools(events) == ["inspect_lora"] and "style recipe?" in _text(events)
    assert _tools(say("yep")) == ["choose_recipe"]
    events = say(f"my clips are in '{clips}'")
    assert _tools(events) == ["import_dataset"]
    assert kick.state()["config"]["data"]["trigger_word"] == "zorbly style"  # the old trigger, verbatim
    assert 'Trigger "zorbly style" is your old LoRA\'s own' in _text(events)

    events = say("rank 4 seems really low, why that? can we use sixteen instead, and just ten steps")
    assert _tools(events) == ["explain_settings", "set_option"]
    assert "capacity" in _text(events) and "rank 4 -> 16" in _text(events)
    assert not any(isinstance(e, ApprovalRequest) for e in events)  # a change never proposes a launch
    assert kick.state()["config"]["optim"]["steps"] == 10

    [request] = [e for e in say("sure") if isinstance(e, ApprovalRequest)]
    assert "rank 16" in request.summary and "trigger zorbly style" in request.summary
    assert job_rows(workspace) == []  # nothing heavy before the yes
    [launched] = [e for e in say("go for it") if isinstance(e, ToolEnd) and e.tool == "launch_training"]
    job_id = launched.result["job_id"]
    record = run_job(workspace, job_id)
    assert record.status == "finished", record.error
    assert record.config["data"]["trigger_word"] == "zorbly style"

    events = say("how did it turn out?")
    [queued] = [e for e in events if isinstance(e, ToolEnd) and e.tool == "evaluate"]
    assert queued.ok and queued.result["status"] == "queued", queued.result
    assert "background" in _text(events)  # the turn ends at once; the evaluation is a job
    # An aside while it runs (not a step of the migration): answered at once, and no second evaluation starts.
    again = list(kick.send("is it done? how did it turn out?"))
    [running] = [e for e in again if isinstance(e, ToolEnd) and e.tool == "evaluate"]
    assert running.result == {**running.result, "job_id": queued.result["job_id"], "status": "running"}
    assert len([j for j in kick.state()["job_ids"] if j.startswith("evaluate-")]) == 1
    from tools.jobs import JOB_KINDS

    assert run_job(workspace, queued.result["job_id"], runners=JOB_KINDS).status == "finished"
    events = say("where's the file, and how do I use it in ComfyUI?")
    text = _text(events)
    assert "The evaluation of job" in text  # the verdict is told as soon as the user is back
    assert kick.state()["evaluations"][-1]["verdict"]["status"] in {"weak", "good", "over-fit", "broken"}
    assert record.lora_path in text and "LoraLoaderModelOnly" in text and '"zorbly style"' in text
    assert len(said) <= 8
    # Told once: the next message does not bring the same verdict back.
    assert "The evaluation of job" not in _text(list(kick.send("thanks")))
    assert len(kick.state()["evaluations"]) == 1
