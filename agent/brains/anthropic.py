"""The anthropic brain: Claude with tool use, streamed through the Anthropic SDK.

The model is ``settings.llm_model`` and the endpoint ``settings.anthropic_base_url`` (tests point it at a
loopback fake). The long system prompt and the tool list are marked for prompt caching; the thread's live state
rides in a second, uncached system block. Tool results are passed as JSON data inside ``tool_result`` blocks.
"""

import json
from typing import Any

import anthropic

from agent.brains import Emit
from agent.prompts import SYSTEM_PROMPT, state_block
from agent.tools import TOOLS
from core.errors import LoraportError
from core.settings import Settings

MAX_RESULT_CHARS = 20_000  # a tool result larger than this is cut: the model needs its gist, not every byte


class AnthropicBrain:
    name = "anthropic"

    def __init__(self, settings: Settings, client: anthropic.Anthropic | None = None, max_tokens: int = 2048):
        if client is None:
            key = settings.anthropic_api_key.get_secret_value() if settings.anthropic_api_key else None
            if not key:
                raise LoraportError("The anthropic brain needs ANTHROPIC_API_KEY; without it use the guided brain.")
            client = anthropic.Anthropic(api_key=key, base_url=settings.anthropic_base_url, max_retries=2)
        self.client, self.model, self.max_tokens = client, settings.llm_model, max_tokens
        self.tools = [tool.schema() for tool in TOOLS]
        self.tools[-1] = {**self.tools[-1], "cache_control": {"type": "ephemeral"}}

    def respond(self, state: dict[str, Any], ctx: Any, emit: Emit) -> dict[str, Any]:
        system = [{"type": "text", "text": SYSTEM_PROMPT, "cache_control": {"type": "ephemeral"}},
                  {"type": "text", "text": state_block(state)}]
        try:
            with self.client.messages.stream(model=self.model, max_tokens=self.max_tokens, system=system,
                                             tools=self.tools, messages=to_anthropic(state["messages"])) as stream:
                for event in stream:
                    if event.type == "text":
                        emit({"type": "text", "text": event.text})
                final = stream.get_final_message()
        except anthropic.APIError as err:
            raise LoraportError(f"Claude could not answer ({type(err).__name__}: {err}). Try again, or unset "
                                "ANTHROPIC_API_KEY to use the guided assistant.") from None
        text = "".join(block.text for block in final.content if block.type == "text")
        calls = [{"id": block.id, "name": block.name, "args": dict(block.input or {})}
                 for block in final.content if block.type == "tool_use"]
        return {"role": "assistant", "content": text, "tool_calls": calls}


def to_anthropic(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Our neutral messages -> Messages API turns (tool results ride in user turns; same roles merge)."""
    out: list[dict[str, Any]] = []
    answered = {m["tool_call_id"] for m in messages if m["role"] == "tool"}
    for message in messages:
        _append(out, *_blocks(message))
        # A call that a crash left without a result still needs one, or the API refuses the whole history.
        missing = [c["id"] for c in message.get("tool_calls") or [] if c["id"] not in answered]
        _append(out, "user", [{"type": "tool_result", "tool_use_id": i, "is_error": True,
                               "content": "Not run: the turn was interrupted."} for i in missing])
    return out


def _append(out: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    if not blocks:
        return
    if out and out[-1]["role"] == role:
        out[-1]["content"].extend(blocks)
    else:
        out.append({"role": role, "content": blocks})


def _blocks(message: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    if message["role"] == "user":
        return "user", [{"type": "text", "text": message["content"] or "(empty message)"}]
    if message["role"] == "assistant":
        blocks = [{"type": "text", "text": message["content"]}] if message.get("content") else []
        blocks += [{"type": "tool_use", "id": c["id"], "name": c["name"], "input": c.get("args") or {}}
                   for c in message.get("tool_calls") or []]
        return "assistant", blocks or [{"type": "text", "text": "(no reply)"}]
    content = json.dumps(message["content"], default=str)
    if len(content) > MAX_RESULT_CHARS:
        content = content[:MAX_RESULT_CHARS] + " ...(cut)"
    return "user", [{"type": "tool_result", "tool_use_id": message["tool_call_id"], "content": content,
                     "is_error": bool(message.get("is_error"))}]
