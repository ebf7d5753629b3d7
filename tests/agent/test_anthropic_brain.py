"""The anthropic brain through the real SDK against a loopback fake Messages API (SSE streaming)."""

import json

import pytest

from agent.events import ApprovalRequest, TextEvent, ToolEnd, ToolStart, TurnEnd
from agent.session import Sidekick
from core.settings import get_settings
from tests.agent.conftest import job_rows, tiny_config
from tests.agent.fake_anthropic import FakeAnthropic


@pytest.fixture
def claude(workspace):
    def make(replies, thread_id="c1"):
        fake = FakeAnthropic(replies).__enter__()
        settings = get_settings(anthropic_api_key="sk-test", anthropic_base_url=fake.url, llm_model="claude-test-1")
        return fake, Sidekick(workspace, thread_id, settings=settings, surface="cli")

    made = []
    yield lambda replies, thread_id="c1": made.append(make(replies, thread_id)) or made[-1]
    for fake, _ in made:
        fake.__exit__(None, None, None)


@pytest.mark.slow
def test_tool_use_then_final_text_is_streamed(claude):
    fake, kick = claude([
        [{"text": "Let me check what rank means here."}, {"tool": "explain_settings", "input": {"setting": "rank"}}],
        [{"text": "Rank is the LoRA's capacity; start at 32."}],
    ])
    assert kick.brain.name == "anthropic"
    events = list(kick.send("what does rank do?"))
    kinds = [e.type for e in events]
    assert kinds.index("tool_start") < kinds.index("tool_end") < len(kinds) - 1 and kinds[-1] == "turn_end"
    texts = [e.text for e in events if isinstance(e, TextEvent)]
    assert len(texts) > 2  # streamed as deltas, not one block
    assert "".join(texts) == "Let me check what rank means here.Rank is the LoRA's capacity; start at 32."
    [start] = [e for e in events if isinstance(e, ToolStart)]
    assert start.args == {"setting": "rank"}  # reassembled from input_json_delta chunks
    [end] = [e for e in events if isinstance(e, ToolEnd)]
    assert end.ok and "capacity" in end.result["explanation"]

    first, second = (r["body"] for r in fake.requests)
    assert first["model"] == "claude-test-1" and first["stream"] is True
    assert first["system"][0]["cache_control"] == {"type": "ephemeral"} and "LTX-2.3" in first["system"][0]["text"]
    assert {t["name"] for t in first["tools"]} >= {"inspect_lora", "launch_training", "retrain_with", "evaluate"}
    tool_use = second["messages"][1]["content"][-1]
    tool_result = second["messages"][2]["content"][0]
    assert tool_use["type"] == "tool_use" and tool_result["type"] == "tool_result"
    assert tool_result["tool_use_id"] == tool_use["id"] and "capacity" in tool_result["content"]


@pytest.mark.slow
def test_claude_launch_waits_for_the_users_yes(claude, workspace, tmp_path):
    fake, kick = claude([[{"tool": "launch_training", "input": {}}], [{"text": "Training is queued."}]])
    kick.graph.update_state(kick._config, {"config": tiny_config(tmp_path).model_dump(mode="json")})
    events = list(kick.send("go"))
    assert isinstance(events[-2], ApprovalRequest) and isinstance(events[-1], TurnEnd)
    assert job_rows(workspace) == [] and len(fake.requests) == 1
    list(kick.approve(events[-2].id))
    assert len(job_rows(workspace)) == 1 and len(fake.requests) == 2


def test_api_failure_is_an_error_event_not_a_crash(workspace):
    settings = get_settings(anthropic_api_key="sk-test", anthropic_base_url="http://127.0.0.1:9")
    kick = Sidekick(workspace, "c2", settings=settings)
    kick.brain.client = kick.brain.client.with_options(max_retries=0, timeout=2)
    events = list(kick.send("hello"))
    assert [e.type for e in events] == ["error", "turn_end"]
    assert "guided" in events[0].message


def test_message_conversion_merges_tool_results_into_one_user_turn():
    from agent.brains.anthropic import to_anthropic

    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "a", "name": "x", "args": {}},
                                                            {"id": "b", "name": "y", "args": {"k": 1}}]},
        {"role": "tool", "tool_call_id": "a", "name": "x", "content": {"ok": 1}, "is_error": False},
        {"role": "tool", "tool_call_id": "b", "name": "y", "content": {"error": "no"}, "is_error": True},
        {"role": "user", "content": "and?"},
    ]
    out = to_anthropic(messages)
    assert [m["role"] for m in out] == ["user", "assistant", "user"]
    assert [b["type"] for b in out[2]["content"]] == ["tool_result", "tool_result", "text"]
    assert out[2]["content"][1]["is_error"] is True and json.loads(out[2]["content"][0]["content"]) == {"ok": 1}


@pytest.mark.slow
def test_claude_drives_the_same_migration_through_the_same_tools(claude, workspace, tmp_path):
    from tests.agent.test_migration import _inputs

    lora, clips = _inputs(tmp_path)
    fake, kick = claude([
        [{"tool": "inspect_lora", "input": {"path": str(lora)}}],
        [{"text": "Your LoRA was made for LTX-2: it loads on 2.3 but is not valid there. What did it teach?"}],
        [{"tool": "choose_recipe", "input": {"name": "style"}}],
        [{"text": "Where are the source clips?"}],
        [{"tool": "import_dataset", "input": {"source": str(clips)}}],
        [{"tool": "set_option", "input": {"changes": {"steps": "10"}}}],
        [{"text": "Ready: 10 steps on the tiny demo model."}, {"tool": "launch_training", "input": {}}],
        [{"text": "Training is queued."}],
    ], thread_id="claude-migrate")
    list(kick.send(f"my old LoRA is {lora}"))
    assert kick.state()["old_lora"]["verdict"]["status"] == "loads-but-invalid"
    list(kick.send("a style"))
    events = list(kick.send(f"clips are in {clips}"))
    [request] = [e for e in events if isinstance(e, ApprovalRequest)]
    assert job_rows(workspace) == [] and "steps 10" in request.summary
    list(kick.approve(request.id))
    [row] = job_rows(workspace)
    config = json.loads(row["config"])
    assert (config["recipe"], config["optim"]["steps"], config["model"]["id"]) == ("style", 10, "tiny-ltx-2.3")
    results = [b for r in fake.requests for m in r["body"]["messages"] for b in m["content"]
               if b["type"] == "tool_result"]
    assert any('"n_files": 5' in b["content"] for b in results)


def test_a_call_left_without_result_gets_one_so_the_history_stays_valid():
    from agent.brains.anthropic import to_anthropic

    out = to_anthropic([{"role": "user", "content": "go"},
                        {"role": "assistant", "content": "", "tool_calls": [{"id": "a", "name": "x", "args": {}}]},
                        {"role": "user", "content": "hello?"}])
    assert [m["role"] for m in out] == ["user", "assistant", "user"]
    assert out[2]["content"][0] == {"type": "tool_result", "tool_use_id": "a", "is_error": True,
                                    "content": "Not run: the turn was interrupted."}
    assert out[2]["content"][1] == {"type": "text", "text": "hello?"}
