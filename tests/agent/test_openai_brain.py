"""The openai brain through the real SDK against a loopback fake /v1/chat/completions (streamed deltas)."""

import socket

import pytest

from agent.events import ApprovalRequest, TextEvent, ToolEnd, ToolStart, TurnEnd
from agent.session import Sidekick
from core.settings import get_settings
from tests.agent.conftest import job_rows, tiny_config
from tests.agent.fake_openai import FakeOpenAI


@pytest.fixture
def local_llm(workspace):
    made = []

    def make(replies, thread_id="o1", timeout_s=5.0, url=None):
        fake = FakeOpenAI(replies).__enter__()
        made.append(fake)
        settings = get_settings(llm_provider="openai", llm_base_url=url or fake.url, llm_model="qwen-test",
                                llm_timeout_s=timeout_s)
        return fake, Sidekick(workspace, thread_id, settings=settings, surface="cli")

    yield make
    for fake in made:
        fake.__exit__(None, None, None)


def _text(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextEvent))


@pytest.mark.slow
def test_model_drives_inspect_lora_through_streamed_tool_call_deltas(local_llm, tmp_path):
    from tests.tools.lora_factory import ltx2_metadata, make_ltx2_lora

    lora = make_ltx2_lora(tmp_path / "old.safetensors", metadata=ltx2_metadata())
    fake, kick = local_llm([[{"text": "Let me look."}, {"tool": "inspect_lora", "input": {"path": str(lora)}}],
                            [{"text": "It is an LTX-2 LoRA: it loads on 2.3 but will not work as trained."}]])
    assert kick.brain.name == "openai"
    events = list(kick.send(f"my old lora is {lora}"))
    [start] = [e for e in events if isinstance(e, ToolStart)]
    assert start.tool == "inspect_lora" and start.args == {"path": str(lora)}  # reassembled from 5-char chunks
    [end] = [e for e in events if isinstance(e, ToolEnd)]
    assert end.ok and end.result["verdict"]["status"] == "loads-but-invalid"
    assert kick.state()["old_lora"]["path"] == str(lora)
    assert isinstance(events[-1], TurnEnd) and len([e for e in events if isinstance(e, TextEvent)]) > 3
    first, second = (r["body"] for r in fake.requests)
    assert fake.requests[0]["path"] == "/v1/chat/completions"
    assert first["model"] == "qwen-test" and first["stream"] is True
    assert first["messages"][0]["role"] == "system" and "LTX-2.3" in first["messages"][0]["content"]
    assert {t["function"]["name"] for t in first["tools"]} >= {"inspect_lora", "launch_training", "set_option"}
    call = second["messages"][2]["tool_calls"][0]
    result = second["messages"][3]
    assert result["role"] == "tool" and result["tool_call_id"] == call["id"] and "loads-but-invalid" in result["content"]


@pytest.mark.slow
def test_plain_reply_streams_as_text_deltas(local_llm):
    _, kick = local_llm([[{"text": "Hello! Attach your old LoRA and I will check it."}]])
    events = list(kick.send("hi"))
    assert _text(events) == "Hello! Attach your old LoRA and I will check it."
    assert len([e for e in events if isinstance(e, TextEvent)]) > 3 and not any(isinstance(e, ToolStart) for e in events)


@pytest.mark.slow
def test_malformed_tool_arguments_become_a_tool_error_the_model_reads(local_llm):
    fake, kick = local_llm([[{"tool": "explain_settings", "raw": "{setting: rank"}],
                            [{"text": "Sorry, let me try again."}]])
    events = list(kick.send("what does rank do?"))
    [end] = [e for e in events if isinstance(e, ToolEnd)]
    assert not end.ok and "Bad arguments for explain_settings" in end.result["error"]
    assert "Bad arguments" in fake.requests[1]["body"]["messages"][-1]["content"]
    assert "Sorry" in _text(events)


@pytest.mark.slow
def test_heavy_tool_from_the_model_waits_for_approval_and_sure_approves(local_llm, workspace, tmp_path):
    fake, kick = local_llm([[{"tool": "launch_training", "input": {}}], [{"text": "Training is queued."}]])
    kick.graph.update_state(kick._config, {"config": tiny_config(tmp_path).model_dump(mode="json")})
    events = list(kick.send("train it"))
    assert isinstance(events[-2], ApprovalRequest) and job_rows(workspace) == []
    events = list(kick.send("sure"))
    assert [e.tool for e in events if isinstance(e, ToolEnd) and e.ok] == ["launch_training"]
    assert len(job_rows(workspace)) == 1 and "queued" in _text(events)


@pytest.mark.slow
@pytest.mark.parametrize(("reply", "reason"), [([{"status": 500}], "HTTP 500"), ([{"sleep": 1.5}], "timed out")])
def test_failing_endpoint_hands_the_turn_to_the_guided_brain_and_says_so(local_llm, reply, reason):
    _, kick = local_llm([reply, reply], timeout_s=0.5)
    events = list(kick.send("hello"))
    text = _text(events)
    assert "did not answer" in text and reason in text and "guided" in text
    assert "attach your old LTX-2 LoRA" in text  # the guided brain's own next step
    assert isinstance(events[-1], TurnEnd) and not any(e.type == "error" for e in events)


@pytest.mark.slow
def test_unreachable_endpoint_falls_back_and_tools_still_run(local_llm, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again at once: nothing listens there
    _, kick = local_llm([], url=f"http://127.0.0.1:{port}/v1")
    events = list(kick.send("what does rank do?"))
    assert "could not be reached" in _text(events)
    assert [e.tool for e in events if isinstance(e, ToolEnd) and e.ok] == ["explain_settings"]


def test_openai_brain_without_a_model_name_is_a_clear_error(workspace):
    from agent.brains import make_brain
    from core.errors import LoraportError

    with pytest.raises(LoraportError, match="LORAPORT_LLM_MODEL"):
        make_brain(get_settings(llm_provider="openai"))
