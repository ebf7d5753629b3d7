"""A whole migration in another user's words: lower case, an unquoted path with spaces, a corrected recipe guess,
number words, a negated launch, a question about the trigger, a no to the first approval, then yes; the new
LoRA keeps the old trigger ("ohwx dog") and is evaluated. The test plays the worker."""

from pathlib import Path

import pytest

from agent.brains.guided import GuidedBrain
from agent.events import ApprovalRequest, TextEvent, ToolEnd, ToolStart
from tests.agent.conftest import job_rows


def _inputs(tmp_path: Path) -> tuple[Path, Path]:
    from tests.tools.lora_factory import ltx2_metadata, make_ltx2_lora
    from tests.trainer.clips import make_clip

    folder = tmp_path / "My LoRAs"
    folder.mkdir()
    lora = make_ltx2_lora(folder / "rex the dog v2.safetensors",
                          metadata={**ltx2_metadata(), "modelspec.trigger_phrase": "ohwx dog"})
    clips = tmp_path / "dog clips"
    for i in range(5):
        make_clip(clips / f"rex{i}.mp4", frames=17, size=(64, 64), color=(30 * i, 120, 90), pattern="moving")
        (clips / f"rex{i}.txt").write_text(f"a brown dog running on a beach, take {i}")
    return lora, clips


@pytest.mark.slow
def test_a_dog_owner_migrates_in_their_own_words(sidekick_factory, workspace, tmp_path):
    from tools.jobs import JOB_KINDS
    from trainer.worker import run_job

    lora, clips = _inputs(tmp_path)
    kick = sidekick_factory(GuidedBrain(), thread_id="rex")
    turns = 0

    def say(text):
        nonlocal turns
        turns += 1
        events = list(kick.send(text))
        return events, "\n".join(e.text for e in events if isinstance(e, TextEvent))

    events, _ = say(f"hiya my ltx2 lora of my dog stopped working, its at {lora} and the clips r in {clips}")
    assert [e.tool for e in events if isinstance(e, ToolStart)][:2] == ["inspect_lora", "import_dataset"]
    events, _ = say("no its not a style, its my dog")
    assert kick.state()["recipe"] == "character"
    assert kick.state()["config"]["data"]["trigger_word"] == "ohwx dog"  # the old trigger, verbatim
    events, text = say("rank sixteen pls and just ten steps. dont start yet, whats the trigger?")
    config = kick.state()["config"]
    assert config["lora"]["rank"] == 16 and config["optim"]["steps"] == 10
    assert not any(isinstance(e, ApprovalRequest) for e in events) and "ohwx dog" in text
    events, _ = say("ok go for it")
    assert any(isinstance(e, ApprovalRequest) for e in events) and job_rows(workspace) == []
    events, _ = say("hang on")  # a no: nothing runs
    assert kick.pending_approval() is None and job_rows(workspace) == []
    events, _ = say("fine lets do it")
    assert any(isinstance(e, ApprovalRequest) for e in events)
    [launched] = [e for e in say("yep")[0] if isinstance(e, ToolEnd) and e.tool == "launch_training"]
    record = run_job(workspace, launched.result["job_id"])
    assert record.status == "finished", record.error
    assert record.config["data"]["trigger_word"] == "ohwx dog"

    [queued] = [e for e in say("sure")[0] if isinstance(e, ToolEnd) and e.tool == "evaluate"]  # the offered step
    assert queued.result["status"] == "queued"
    assert run_job(workspace, queued.result["job_id"], runners=JOB_KINDS).status == "finished"
    _, text = say("where's the file n how do i use it in comfy")
    assert record.lora_path in text and '"ohwx dog"' in text
    assert turns <= 9
