"""What the guided brain says: short replies that end on the next step, plain words, one-line diffs."""

import pytest

from agent.brains.guided import GuidedBrain
from agent.events import ApprovalRequest, TextEvent, ToolEnd, ToolStart
from tests.agent.conftest import tiny_config


def _say(kick, text):
    events = list(kick.send(text))
    return events, "\n".join(e.text for e in events if isinstance(e, TextEvent))


def _with_plan(kick, tmp_path, **state):
    config = tiny_config(tmp_path).model_dump(mode="json")
    kick.graph.update_state(kick._config, {"recipe": "style", "dataset": {"id": "d1", "path": str(tmp_path)},
                                           "config": config, **state})


def test_unknown_gets_a_short_reply_with_likely_next_steps(sidekick_factory):
    kick = sidekick_factory(GuidedBrain())
    _, text = _say(kick, "make me a sandwich")
    assert len(text) < 300 and "attach your old LoRA" in text and "skip" in text


def test_greeting_and_first_turn_story_end_on_the_old_file(sidekick_factory):
    kick = sidekick_factory(GuidedBrain())
    _, text = _say(kick, "hello!")
    assert text.startswith("Hi!") and "attach your old LTX-2 LoRA" in text
    _, text = _say(kick, "my old style lora stopped working after the update")
    assert "style LoRA" in text and "attach your old LTX-2 LoRA" in text and "set_option" not in text


@pytest.mark.slow
def test_sure_at_the_review_step_proposes_the_launch_and_yep_approves(sidekick_factory, tmp_path, workspace):
    from tests.agent.conftest import job_rows

    kick = sidekick_factory(GuidedBrain())
    _with_plan(kick, tmp_path)
    events, _ = _say(kick, "sure")
    assert any(isinstance(e, ApprovalRequest) and e.tool == "launch_training" for e in events)
    events, _ = _say(kick, "yep")
    assert [e.tool for e in events if isinstance(e, ToolEnd) and e.ok] == ["launch_training"]
    assert len(job_rows(workspace)) == 1


def test_ok_start_before_a_plan_asks_for_what_is_missing_instead_of_failing(sidekick_factory):
    kick = sidekick_factory(GuidedBrain())
    events, text = _say(kick, "ok start")
    assert not any(isinstance(e, ToolStart) for e in events) and "attach your old LTX-2 LoRA" in text


def test_a_tool_error_is_told_without_internal_names(sidekick_factory):
    kick = sidekick_factory(GuidedBrain())
    _, text = _say(kick, "how did it turn out?")
    assert "I couldn't evaluate it" in text and "evaluate didn't" not in text


@pytest.mark.slow
def test_hardware_question_is_answered_for_the_named_card(sidekick_factory):
    kick = sidekick_factory(GuidedBrain())
    events, text = _say(kick, "will it fit on my 4090?")
    [end] = [e for e in events if isinstance(e, ToolEnd)]
    assert end.ok and end.result["gpu"] == "RTX 4090" and end.result["vram_gb"] == 24
    assert "RTX 4090" in text and "ltx-2.3" in text
    _, text = _say(kick, "and on a 12 GB card?")
    assert "12 GB" in text
    _, text = _say(kick, "will it run on my macbook?")
    assert "Not ltx-2.3 on an Apple GPU" in text


def test_where_is_my_file_before_any_training_says_so(sidekick_factory):
    kick = sidekick_factory(GuidedBrain())
    _, text = _say(kick, "where is my file and how do I use it in ComfyUI?")
    assert "Nothing trained in this conversation yet" in text


def test_back_to_32_means_the_setting_just_changed(sidekick_factory, tmp_path):
    kick = sidekick_factory(GuidedBrain())
    kick.graph.update_state(kick._config, {"messages": [
        {"role": "user", "content": "rank 16"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "name": "set_option",
                                                             "args": {"changes": {"rank": "16"}}}]}]})
    events, _ = _say(kick, "hmm, put it back to 32")
    [start] = [e for e in events if isinstance(e, ToolStart)]
    assert start.args == {"changes": {"rank": "32"}}


def test_hardware_question_reads_the_plans_memory_block_when_there_is_one(sidekick_factory, tmp_path):
    kick = sidekick_factory(GuidedBrain())
    memory = {"vram_gib": 24.0, "peak_gib": 21.5, "fits": True, "phases": {}, "techniques": ["base weights int8"],
              "reasons": ["int8 base weights make it fit."]}
    _with_plan(kick, tmp_path, plan={"memory": memory})
    events, text = _say(kick, "will it fit on my gpu?")
    [end] = [e for e in events if isinstance(e, ToolEnd)]
    assert end.result["source"] == "plan memory"
    assert "predicted peak 21.5 GiB of 24 GB: it fits, using base weights int8" in text


def test_undo_puts_the_last_change_back(sidekick_factory, tmp_path):
    kick = sidekick_factory(GuidedBrain())
    _with_plan(kick, tmp_path)
    kick.graph.update_state(kick._config, {"messages": [
        {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "name": "set_option",
                                                             "args": {"changes": {"rank": "16"}}}]},
        {"role": "tool", "tool_call_id": "c1", "name": "set_option",
         "content": {"set": {"rank": 16}, "changed": "rank 32 -> 16", "before": {"rank": 32}}}]})
    events, _ = _say(kick, "hmm, undo that")
    [start] = [e for e in events if isinstance(e, ToolStart)]
    assert start.args == {"changes": {"rank": 32}}


def test_start_over_says_how_without_launching(sidekick_factory, tmp_path):
    kick = sidekick_factory(GuidedBrain())
    _with_plan(kick, tmp_path)
    events, text = _say(kick, "let's start over")
    assert not any(isinstance(e, (ToolStart, ApprovalRequest)) for e in events) and "new conversation" in text


def test_an_evaluation_is_told_without_raw_loss_figures():
    from agent.brains.telling import describe

    report = {"summary": "lora.safetensors is weak: the LoRA removes 0.1% of the base model's held-out loss "
                         "(1.5558 -> 1.5540; under 10.0% is weak). Next: retrain.",
              "verdict": {"status": "weak", "suggestions": [{"action": "Train longer.", "why": "weak",
                                                              "confirm": "holdout_loss improvement above 10%"}]}}
    text = describe("evaluate", report, False)
    assert "weak" in text and "1.5558" not in text and "holdout_loss" not in text and "held-out loss" in text
