"""Brains decide the next assistant message; both call the same tools through the same graph.

A brain is ``respond(state, ctx, emit) -> assistant message`` where ``emit(event_dict)`` streams text deltas
to the surfaces while the message is being written.
"""

import uuid
from collections.abc import Callable
from typing import Any, Protocol

from core.settings import Settings

Emit = Callable[[dict[str, Any]], None]


class Brain(Protocol):
    name: str

    def respond(self, state: dict[str, Any], ctx: Any, emit: Emit) -> dict[str, Any]: ...


def new_call_id() -> str:
    return "call_" + uuid.uuid4().hex[:16]


def make_brain(settings: Settings, name: str | None = None) -> Brain:
    """The brain asked for by name or by ``LORAPORT_LLM_PROVIDER``; else `anthropic` when an API key is set, else
    the deterministic `guided` wizard."""
    name = name or settings.llm_provider or ("anthropic" if settings.anthropic_api_key else "guided")
    if name == "anthropic":
        from agent.brains.anthropic import AnthropicBrain

        return AnthropicBrain(settings)
    if name == "openai":
        from agent.brains.openai import OpenAIBrain

        return OpenAIBrain(settings)
    if name == "guided":
        from agent.brains.guided import GuidedBrain

        return GuidedBrain()
    from core.errors import LoraportError

    raise LoraportError(f"Unknown brain {name!r}: use 'guided', 'anthropic' or 'openai'.")
