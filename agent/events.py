"""The typed events of one conversation turn: what the web, bots and terminal draw (CONTRACTS.md, "agent").

Every surface receives the same objects: `text` (a delta of the sidekick's reply), `tool_start` / `tool_end`
(cards), `approval_request` (a yes/no the user must answer), `job_event` (a trainer event of a launched job),
`error` (a message for the user) and `turn_end` (the sidekick waits for the user).
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter


class _Event(BaseModel):
    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class TextEvent(_Event):
    type: Literal["text"] = "text"
    text: str
    role: Literal["assistant", "user"] = Field("assistant", description="'user' only in history(): the user's words.")


class ToolStart(_Event):
    type: Literal["tool_start"] = "tool_start"
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)


class ToolEnd(_Event):
    type: Literal["tool_end"] = "tool_end"
    tool: str
    result: Any = None
    ok: bool = Field(True, description="False when the tool failed; result then holds {'error': message}.")


class ApprovalRequest(_Event):
    type: Literal["approval_request"] = "approval_request"
    id: str = Field(description="Pass to Sidekick.approve(id) / reject(id).")
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    summary: str = Field(description="What will happen and what it will cost (time, disk).")


class JobEventMsg(_Event):
    type: Literal["job_event"] = "job_event"
    event: dict[str, Any] = Field(description="One core.events.JobEvent as JSON.")


class ErrorEvent(_Event):
    type: Literal["error"] = "error"
    message: str


class TurnEnd(_Event):
    type: Literal["turn_end"] = "turn_end"


AgentEvent = Annotated[
    TextEvent | ToolStart | ToolEnd | ApprovalRequest | JobEventMsg | ErrorEvent | TurnEnd,
    Field(discriminator="type"),
]
_ADAPTER: TypeAdapter = TypeAdapter(AgentEvent)


def parse_event(data: dict[str, Any]) -> AgentEvent:
    """Rebuild a typed event from its JSON form (what graph nodes write to the custom stream)."""
    return _ADAPTER.validate_python(data)
