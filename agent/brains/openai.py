"""The openai brain: any OpenAI-compatible chat-completions endpoint, through the official ``openai`` SDK.

Ollama, vLLM, llama.cpp's server, LM Studio, OpenAI and OpenRouter all speak this API. Settings:
``LORAPORT_LLM_PROVIDER=openai``, ``LORAPORT_LLM_BASE_URL`` (e.g. ``http://localhost:11434/v1``),
``LORAPORT_LLM_API_KEY`` (local servers need none) and ``LORAPORT_LLM_MODEL``. The tools, the approvals and the
system facts are the Claude brain's. Replies and tool calls stream; a weak model's malformed tool arguments reach
the tool as arguments it refuses (a tool error the model reads); an endpoint that cannot be reached, times out or
fails hands that one turn to the guided brain, which says so.
"""

import json
import logging
from typing import Any

import openai

from agent.brains import Emit
from agent.prompts import SYSTEM_PROMPT, state_block
from agent.tools import TOOLS
from core.errors import LoraportError
from core.settings import Settings

log = logging.getLogger(__name__)
MAX_RESULT_CHARS = 20_000  # a tool result larger than this is cut: the model needs its gist, not every byte
BAD_ARGS = "arguments_not_json"  # the key malformed arguments travel under, so the tool refuses them by name
_DEFAULT_CLAUDE = "claude-"


class OpenAIBrain:
    name = "openai"

    def __init__(self, settings: Settings, client: openai.OpenAI | None = None, max_tokens: int = 2048):
        if not settings.llm_model or settings.llm_model.startswith(_DEFAULT_CLAUDE):
            raise LoraportError("The openai brain needs a model name: set LORAPORT_LLM_MODEL (e.g. qwen3:14b for "
                                "Ollama, or the model your server serves).")
        if client is None:
            key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
            client = openai.OpenAI(base_url=settings.llm_base_url, api_key=key, timeout=settings.llm_timeout_s,
                                   max_retries=1)
        self.client, self.model, self.max_tokens = client, settings.llm_model, max_tokens
        self.where = settings.llm_base_url or "api.openai.com"
        self.tools = [to_function(tool.schema()) for tool in TOOLS]

    def respond(self, state: dict[str, Any], ctx: Any, emit: Emit) -> dict[str, Any]:
        messages = [{"role": "system", "content": f"{SYSTEM_PROMPT}\n\n{state_block(state)}"},
                    *to_openai(state["messages"])]
        try:
            text, calls = self._stream(messages, emit)
        except openai.OpenAIError as err:
            log.warning("openai-compatible endpoint %s failed: %s", self.where, err)
            return self._fallback(state, ctx, emit, err)
        return {"role": "assistant", "content": text, "tool_calls": calls}

    def _stream(self, messages: list[dict[str, Any]], emit: Emit) -> tuple[str, list[dict[str, Any]]]:
        stream = self.client.chat.completions.create(model=self.model, messages=messages, tools=self.tools,
                                                     max_tokens=self.max_tokens, stream=True)
        text: list[str] = []
        parts: dict[int, dict[str, Any]] = {}  # tool calls arrive as deltas, keyed by their index
        for chunk in stream:
            for choice in chunk.choices or []:
                delta = choice.delta
                if delta is None:
                    continue
                if delta.content:
                    text.append(delta.content)
                    emit({"type": "text", "text": delta.content})
                for piece in delta.tool_calls or []:
                    slot = parts.setdefault(piece.index or 0, {"id": None, "name": "", "arguments": ""})
                    slot["id"] = piece.id or slot["id"]
                    if piece.function is not None:
                        slot["name"] += piece.function.name or ""
                        slot["arguments"] += piece.function.arguments or ""
        calls = [_call(parts[i], i) for i in sorted(parts)]
        return "".join(text), calls

    def _fallback(self, state: dict[str, Any], ctx: Any, emit: Emit, err: Exception) -> dict[str, Any]:
        from agent.brains.guided import GuidedBrain

        note = (f"(The language model at {self.where} did not answer: {_reason(err)}. The built-in guided "
                "assistant answers this turn.)")
        emit({"type": "text", "text": note + "\n"})
        message = GuidedBrain().respond(state, ctx, emit)
        return {**message, "content": f"{note}\n{message['content']}".strip()}


def _call(part: dict[str, Any], index: int) -> dict[str, Any]:
    raw = part["arguments"].strip() or "{}"
    try:
        args = json.loads(raw)
    except ValueError:
        args = None
    if not isinstance(args, dict):  # the tool says what was wrong; the model can try again
        args = {BAD_ARGS: raw[:500]}
    return {"id": part["id"] or f"call_{index}", "name": part["name"], "args": args}


def _reason(err: Exception) -> str:
    if isinstance(err, openai.APITimeoutError):
        return "it timed out"
    if isinstance(err, openai.APIConnectionError):
        return "it could not be reached"
    if isinstance(err, openai.APIStatusError):
        return f"it answered with HTTP {err.status_code}"
    return type(err).__name__


def to_function(schema: dict[str, Any]) -> dict[str, Any]:
    """A tool's Anthropic-style schema -> the chat-completions ``function`` tool."""
    return {"type": "function", "function": {"name": schema["name"], "description": schema["description"],
                                             "parameters": schema["input_schema"]}}


def to_openai(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Our neutral messages -> chat-completions messages; a call a crash left unanswered gets an error result."""
    out: list[dict[str, Any]] = []
    answered = {m["tool_call_id"] for m in messages if m["role"] == "tool"}
    for message in messages:
        if message["role"] == "user":
            out.append({"role": "user", "content": message["content"] or "(empty message)"})
        elif message["role"] == "assistant":
            calls = message.get("tool_calls") or []
            entry: dict[str, Any] = {"role": "assistant", "content": message.get("content") or (None if calls else "")}
            if calls:
                entry["tool_calls"] = [{"id": c["id"], "type": "function", "function": {
                    "name": c["name"], "arguments": json.dumps(c.get("args") or {})}} for c in calls]
            out.append(entry)
            out += [{"role": "tool", "tool_call_id": c["id"], "content": "Not run: the turn was interrupted."}
                    for c in calls if c["id"] not in answered]
        else:
            content = json.dumps(message["content"], default=str)
            if len(content) > MAX_RESULT_CHARS:
                content = content[:MAX_RESULT_CHARS] + " ...(cut)"
            out.append({"role": "tool", "tool_call_id": message["tool_call_id"], "content": content})
    return out
