"""The guided sidekick with LTX-2.5 as target: "move it to 2.5" re-plans and re-judges the old LoRA, the as-is
test is offered before any training run, and a yes runs it (after the approval) with a verdict and renders."""

from pathlib import Path

import pytest

from agent.brains.guided import GuidedBrain
from agent.brains.target import target_calls
from agent.events import ApprovalRequest, ToolEnd
from tests.agent.conftest import job_rows


def _ends(events, tool):
    return [e for e in events if isinstance(e, ToolEnd) and e.tool == tool]


def _text(events) -> str:
    return "".join(e.text for e in events if e.type == "text")


@pytest.fixture
def old_23_lora_and_clips(tmp_path) -> tuple[Path, Path]:
    """A LoRA trained on tiny-ltx-2.3 (its export names the model) and five clips of the same concept."""
    from tests.trainer.train_utils import concept_dataset, tiny_config
    from trainer.train import run_training

    clips = concept_dataset(tmp_path / "clips", n=5)
    lora = run_training(tiny_config(clips, steps=8), tmp_path / "old-run").lora_path
    return Path(lora), clips


@pytest.mark.slow  # trains a tiny LoRA, then renders it with and without on tiny-ltx-2.5 (~40 s on one core)
def test_move_to_25_offers_the_as_is_test_before_training(sidekick_factory, workspace, old_23_lora_and_clips):
    lora, clips = old_23_lora_and_clips
    kick = sidekick_factory(GuidedBrain(), thread_id="to25")
    [inspected] = _ends(list(kick.send(f"my old LoRA is {lora}")), "inspect_lora")
    assert inspected.result["base_model"]["family"] == "ltx-2.3" and inspected.result["verdict"]["target"] == "ltx-2.3"
    list(kick.send("it's a style"))
    list(kick.send(f"the clips are in {clips}"))
    assert kick.state()["config"]["model"]["id"] == "tiny-ltx-2.3"  # 2.3 until the user picks 2.5

    events = list(kick.send("move it to 2.5"))
    assert _ends(events, "set_option")[0].ok
    [judged] = _ends(events, "inspect_lora")
    assert judged.result["verdict"]["target"] == "ltx-2.5" and judged.result["verdict"]["status"] == "test-first"
    assert kick.state()["config"]["model"]["id"] == "tiny-ltx-2.5"  # no GPU here: 2.5's own tiny twin
    assert "test it first" in _text(events).lower()  # offered before any training run

    [request] = [e for e in kick.send("yes") if isinstance(e, ApprovalRequest)]
    assert request.tool == "evaluate_as_is" and "tiny-ltx-2.5" in request.summary and "nothing is trained" in \
        request.summary
    assert job_rows(workspace) == []
    events = list(kick.approve(request.id))
    [tested] = _ends(events, "evaluate_as_is")
    assert tested.ok, tested.result
    result = tested.result
    assert result["verdict"] in ("works", "retrain") and result["evidence"]
    assert all(Path(s["base_mp4"]).is_file() and Path(s["lora_mp4"]).is_file()
               for s in result["evaluation"]["samples"])
    reply = _text(events)
    assert result["headline"] in reply and "test it first" not in reply.lower()  # offered once, not again
    assert kick.state()["as_is"]["verdict"] == result["verdict"]

    [launch] = [e for e in kick.send("start") if isinstance(e, ApprovalRequest)]
    assert launch.tool == "launch_training" and "tiny-ltx-2.5" in launch.summary


def test_target_phrasings_pick_the_model_or_the_as_is_test():
    state = {"old_lora": {"path": "/x/old.safetensors", "base_model": {"family": "ltx-2.3"}}}
    for text in ("move it to 2.5", "target 2.5", "switch to LTX-2.5", "train on ltx 2.5 instead"):
        calls = target_calls(text, state)
        assert calls[0]["name"] == "set_option" and calls[0]["args"] == {"changes": {"model": "ltx-2.5"}}, text
        assert calls[1]["args"] == {"path": "/x/old.safetensors", "target": "ltx-2.5"}
    assert target_calls("back to 2.3", state)[0]["args"] == {"changes": {"model": "ltx-2.3"}}
    for text in ("does it still work on 2.5?", "test it first", "try it as is"):
        assert target_calls(text, state)[-1]["name"] == "evaluate_as_is", text
    for text in ("rank 16", "lower the rank to 16", "set lr to 2.5e-4", "use the face recipe", "start"):
        assert target_calls(text, state) is None, text
