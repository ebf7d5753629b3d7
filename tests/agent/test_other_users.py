"""Other people's ways of saying things, in the real conversation: the guided sidekick at the review step of a
real plan (an LTX-2 style LoRA whose trigger is "zorbly style", five clips), driven the way different users type:
lower case, no punctuation, number words, corrections, negations, and yes / no in many forms.

What must hold for every one of them: nothing trains without a clear yes, a negated request changes nothing,
a vague one is asked about, and a change of setting is a change (never a launch).
"""

import uuid
from pathlib import Path

import pytest

from agent.brains.guided import GuidedBrain
from agent.events import ApprovalRequest, TextEvent, ToolEnd
from tests.agent.conftest import job_rows


@pytest.fixture(scope="module")
def review(tmp_path_factory):
    """A workspace and the state of a thread at the review step, made once through the real tools."""
    from agent.session import Sidekick
    from core.workspace import Workspace
    from tests.tools.lora_factory import ltx2_metadata, make_ltx2_lora
    from tests.trainer.clips import make_clip

    root = tmp_path_factory.mktemp("users")
    workspace = Workspace(root / "home").ensure()
    lora = make_ltx2_lora(root / "old zorbly.safetensors",
                          metadata={**ltx2_metadata(), "modelspec.trigger_phrase": "zorbly style"})
    clips = root / "clips"
    for i in range(5):
        make_clip(clips / f"clip{i}.mp4", frames=17, size=(64, 64), color=(40 * i, 90, 200 - 30 * i),
                  pattern="moving")
        (clips / f"clip{i}.txt").write_text(f"a square sliding over a painted wall, take {i}")
    kick = Sidekick(workspace, "template", brain=GuidedBrain(), surface="cli")
    for text in (f"my old lora is here ({lora})", "yes", f"the clips are in '{clips}'"):
        list(kick.send(text))
    state = kick.state()
    kick.close()
    assert state["config"] and state["dataset"], state.get("plan_error")
    return workspace, {k: state[k] for k in ("old_lora", "recipe", "dataset", "config", "plan", "overrides")}


@pytest.fixture
def user(review):
    """A fresh thread at the review step: ``say(text) -> (events, text)``, plus the sidekick and the workspace."""
    from agent.session import Sidekick

    workspace, values = review
    kick = Sidekick(workspace, uuid.uuid4().hex[:8], brain=GuidedBrain(), surface="cli")
    kick.graph.update_state(kick._config, values)

    def say(text):
        events = list(kick.send(text))
        return events, "\n".join(e.text for e in events if isinstance(e, TextEvent))

    yield say, kick, workspace
    kick.close()


def _config(kick, *path):
    node = kick.state()["config"]
    for part in path:
        node = node[part]
    return node


def _asked(events) -> bool:
    return any(isinstance(e, ApprovalRequest) for e in events)


def _jobs(workspace, kick) -> list:
    return [j for j in job_rows(workspace) if j.get("thread_id") in (None, kick.thread_id)]


def test_a_lowercase_user_who_writes_numbers_in_words(user):
    say, kick, workspace = user
    steps = _config(kick, "optim", "steps")
    for text in ("rank sixteen", "twenty percent more steps", "half the learning rate please"):
        events, _ = say(text)
        assert not _asked(events)  # a change is a change, never a launch
    assert _config(kick, "lora", "rank") == 16
    assert _config(kick, "optim", "steps") == round(steps * 1.2)
    events, text = say("actually make it a couple thousand steps")
    assert _config(kick, "optim", "steps") == 2000 and "2000" in text
    say("lr .0001")
    assert _config(kick, "optim", "learning_rate") == pytest.approx(1e-4)
    say("learning rate 2 x 10^-4")
    assert _config(kick, "optim", "learning_rate") == pytest.approx(2e-4)
    assert _jobs(workspace, kick) == []


def test_nothing_trains_until_a_clear_yes(user):
    say, kick, workspace = user
    for text in ("don't start yet", "do not start training", "hold on", "not so fast", "let me think about it",
                 "i dont want to train yet"):
        events, reply = say(text)
        assert not _asked(events), text
        assert "start" in reply.lower() or "nothing" in reply.lower()
    events, _ = say("sure go ahead")
    assert _asked(events)  # the one open question at the review step was the launch
    events, _ = say("wait")  # a no while the approval is open declines it
    assert not _asked(events) and kick.pending_approval() is None
    events, _ = say("ok start")
    assert _asked(events)
    events, _ = say("no don't launch it")
    assert kick.pending_approval() is None and not _asked(events)
    events, _ = say("yes but change the rank to 8 first")  # not a yes: the change, and still nothing runs
    assert _config(kick, "lora", "rank") == 8 and not _asked(events)
    assert _jobs(workspace, kick) == []
    say("let's do it")
    [launched] = [e for e in say("yep")[0] if isinstance(e, ToolEnd) and e.tool == "launch_training"]
    assert launched.ok and len(_jobs(workspace, kick)) == 1


def test_the_old_trigger_is_kept_changed_and_kept_again(user):
    say, kick, _ = user
    assert _config(kick, "data", "trigger_word") == "zorbly style"  # carried over verbatim from the old file
    _, text = say("what trigger will it use?")
    assert _config(kick, "data", "trigger_word") == "zorbly style" and "trigger" in text.lower()
    say("is the trigger still zorbly style")
    assert _config(kick, "data", "trigger_word") == "zorbly style"
    say("use ohwx as trigger")
    assert _config(kick, "data", "trigger_word") == "ohwx"
    say("hmm no, keep the old trigger")
    assert _config(kick, "data", "trigger_word") == "zorbly style"
    _, text = say("keep my old trigger")
    assert '"zorbly style"' in text and "already" in text
    say("dont change the trigger to sks")
    assert _config(kick, "data", "trigger_word") == "zorbly style"
    say("could we make the trigger ohwx man please")
    assert _config(kick, "data", "trigger_word") == "ohwx man"


def test_corrections_and_negated_settings(user):
    say, kick, _ = user
    say("2500 steps")
    say("actually 1500")  # corrects the setting just changed
    assert _config(kick, "optim", "steps") == 1500
    say("no wait, 1200 steps")
    assert _config(kick, "optim", "steps") == 1200
    rank = _config(kick, "lora", "rank")
    for text in ("not rank 64", "don't change the rank", "i don't want rank 64"):
        events, _ = say(text)
        assert _config(kick, "lora", "rank") == rank, text
    say("dont use 8bit adam")
    assert _config(kick, "optim", "optimizer") == "adamw"
    say("lower the rank and raise the steps")
    assert _config(kick, "lora", "rank") < rank and _config(kick, "optim", "steps") > 1200
    say("no audio")
    assert _config(kick, "data", "audio") == "off"


def test_a_vague_request_is_asked_about_not_guessed(user):
    say, kick, _ = user
    before = kick.state()["config"]
    _, text = say("actually 1500")
    assert "1500 of what" in text and kick.state()["config"] == before
    _, text = say("change the rank")
    assert "What should the rank be" in text and f"It is {before['lora']['rank']} now" in text
    _, text = say("resolution 512")
    assert "resolution" in text and kick.state()["config"] == before
    _, text = say("lol my cat just walked over the keyboard")
    assert len(text) < 300 and kick.state()["config"] == before


def test_a_plain_yes_after_training_agrees_to_the_evaluation_not_a_second_run(review):
    _, values = review
    state = {**values, "messages": [], "job_ids": ["train-20260101-aaaa"]}
    brain = GuidedBrain()
    for text in ("sure go ahead", "yeah go for it", "let's go", "ok"):
        _, calls = brain.on_user(text, state)
        assert [c["name"] for c in calls] == ["evaluate"], text
    _, calls = brain.on_user("start", {**values, "messages": [], "job_ids": []})
    assert [c["name"] for c in calls] == ["launch_training"]


def test_questions_are_answered_and_change_nothing(user):
    say, kick, _ = user
    before = kick.state()["config"]
    for text, needle in (("what does rank do?", "capacity"), ("whats the learning rate for", "update"),
                         ("what does 8-bit adam mean", "8-bit"), ("what is block swap", "GPU"),
                         ("what are we training with", "rank"), ("how many steps are we doing", "steps")):
        events, reply = say(text)
        assert needle.lower() in reply.lower(), (text, reply)
        assert not _asked(events) and kick.state()["config"] == before, text


def test_the_plan_tells_where_the_trigger_came_from(review):
    _, values = review
    from agent.brains.guided import plan_text

    text = plan_text(values)
    assert "zorbly style" in text and "old LoRA" in text and Path(values["old_lora"]["path"]).name


def test_keep_the_old_trigger_without_an_old_lora_asks_for_it():
    from agent.brains.asking import keep_old_trigger

    text, calls = keep_old_trigger({"old_lora": None})
    assert calls == [] and "trigger" in text and "e.g." in text


def test_the_second_one_picks_from_the_list_just_shown(sidekick_factory):
    kick = sidekick_factory(GuidedBrain(), thread_id="lists")
    [listed] = [e for e in kick.send("what kinds of loras can you train") if isinstance(e, ToolEnd)]
    events = list(kick.send("ok lets go with the second one"))
    [chosen] = [e for e in events if isinstance(e, ToolEnd)]
    assert chosen.tool == "choose_recipe" and chosen.result["recipe"] == listed.result[1]["name"]
    assert not _asked(events)  # "let's go with ..." picked an item; it launched nothing


def test_the_second_one_with_nothing_listed_is_asked_about():
    text, calls = GuidedBrain().on_user("the second one", {"messages": []})
    assert calls == [] and "Which list" in text


def test_a_suggestion_picked_by_its_place_fills_in_its_changes():
    suggestions = [{"action": "Train longer.", "retrain_with": {"steps": "+50%"}},
                   {"action": "Lower the learning rate.", "retrain_with": {"learning_rate": "x0.5"}}]
    evaluation = {"job_id": "train-1", "verdict": {"status": "weak", "suggestions": suggestions}}
    state = {"messages": [{"role": "tool", "name": "evaluate", "content": evaluation}],
             "evaluations": [evaluation], "job_ids": ["train-1"]}
    for text in ("the second one", "option 2", "#2", "the last one"):
        _, calls = GuidedBrain().on_user(text, state)
        assert [(c["name"], c["args"]) for c in calls] == [("retrain_with", {"changes": {"learning_rate": "x0.5"}})]


def test_compare_two_named_runs_of_the_conversation(sidekick_factory, workspace, tmp_path):
    from core.store import open_db
    from tests.agent.conftest import tiny_config
    from trainer import jobs

    db = open_db(workspace)
    ids = [jobs.enqueue(db, "train", tiny_config(tmp_path, steps=steps, rank=rank), thread_id="runs",
                        workspace=workspace) for steps, rank in ((100, 32), (200, 32), (300, 16), (400, 8))]
    db.conn.close()
    kick = sidekick_factory(GuidedBrain(), thread_id="runs")
    kick.graph.update_state(kick._config, {"job_ids": ids})
    _, text = _say_text(kick, "compare run 2 and run 3")
    assert "From run 2 to run 3: rank 32 -> 16, steps 200 -> 300." in text
    _, text = _say_text(kick, f"how does job {ids[3]} compare with job {ids[0]}")
    assert "From run 1 to run 4" in text
    _, text = _say_text(kick, "compare run 2 and run 9")
    assert "There is no run 9" in text and "4 runs" in text
    _, text = _say_text(kick, "which run was best?")
    assert "From the first run to the latest" in text


def _say_text(kick, text):
    events = list(kick.send(text))
    return events, "\n".join(e.text for e in events if isinstance(e, TextEvent))


def test_redo_with_a_change_before_any_run_changes_the_plan(user):
    say, kick, workspace = user
    events, _ = say("same settings but 1200 steps")
    assert _config(kick, "optim", "steps") == 1200 and not _asked(events)
    events, _ = say("redo it with rank 8")
    assert _config(kick, "lora", "rank") == 8 and not _asked(events)
    assert _jobs(workspace, kick) == []


def test_a_numbered_list_and_a_corrected_pick(sidekick_factory):
    kick = sidekick_factory(GuidedBrain(), thread_id="picks")
    _, text = _say_text(kick, "which recipes are there?")
    assert text.startswith("1. ") and "\n2. " in text  # numbered, so "the second one" has a meaning
    [listed] = [m for m in kick.state()["messages"] if m.get("name") == "list_recipes"]
    _say_text(kick, "the second one")
    _say_text(kick, "no not that, the third")
    assert kick.state()["recipe"] == listed["content"][2]["name"]


def test_how_long_while_training_is_the_jobs_own_eta():
    state = {"messages": [], "job_ids": ["train-20260101-000000-abcdef"], "config": {"optim": {}}}
    for text in ("how long will this take", "why is it so slow", "how much longer"):
        _, calls = GuidedBrain().on_user(text, state)
        assert [c["name"] for c in calls] == ["job_status"], text
    _, calls = GuidedBrain().on_user("how long will this take", {"messages": [], "job_ids": []})
    assert [c["name"] for c in calls] == ["estimate"]
