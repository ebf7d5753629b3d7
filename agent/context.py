"""Runtime settings of one sidekick run: passed to the graph as LangGraph's run context, never checkpointed."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.settings import Settings, get_settings
from core.workspace import Workspace

if TYPE_CHECKING:
    from agent.brains import Brain


@dataclass
class AgentContext:
    workspace: Workspace
    thread_id: str
    brain: "Brain"
    settings: Settings = field(default_factory=get_settings)
    # True only on the terminal surface: the local user may name any file (see ToolContext.user_path).
    any_path: bool = False
    # A brain may chain tool calls (inspect, then plan); past this many calls in one user turn it must answer.
    max_rounds: int = 6
    # Seconds between polls of trainer.jobs.events while a surface watches a job.
    job_poll_s: float = 0.5
    # Where nodes send the events a surface shows (text, tool_start, tool_end); set per turn by the Sidekick
    # (agent/runner.py). None drops them.
    emit: Callable[[dict[str, Any]], None] | None = None
