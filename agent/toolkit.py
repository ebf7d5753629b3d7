"""How an agent tool is declared and run: a plain typed function becomes a schema, a description and a flag.

A tool is ``fn(ctx: ToolContext, **args) -> ToolOutput | JSON``. Its docstring's first line is what the brain
sees, its type hints (minus ``ctx``) become the JSON schema, and ``needs_approval`` says whether the graph must
stop for the user's yes before running it. A tool that raises ``LoraportError`` gives the brain
``{"error": message}`` as its result and the conversation goes on (the log keeps the exception).
"""

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from core.errors import LoraportError
from core.workspace import Workspace

log = logging.getLogger(__name__)


@dataclass
class ToolContext:
    workspace: Workspace
    thread_id: str
    state: dict[str, Any]  # the thread state when the call started (read-only by convention)
    # The terminal's user owns this machine and may name any file; over the web or a chat app, the person typing
    # does not, so paths must lie inside the workspace (uploads, datasets, runs).
    any_path: bool = False

    def user_path(self, value: str) -> Path:
        """A file or folder the user named, refused when this surface may not reach outside the workspace."""
        if "\x00" in str(value):  # no path holds NUL (it would be a ValueError deep in a tool)
            raise LoraportError("That path holds a NUL character: name the file as it is on disk, or attach it.")
        path = Path(value).expanduser()
        if self.any_path:
            return path
        resolved, home = path.resolve(), self.workspace.home.resolve()
        if not resolved.is_relative_to(home):
            raise LoraportError(f"{path.name or value} is not one of your uploads: over the web or a chat app "
                                "I only read files you uploaded. Attach the file to your message instead.")
        return resolved


@dataclass
class ToolOutput:
    result: Any
    update: dict[str, Any] = field(default_factory=dict)  # ThreadState keys to change


@dataclass
class Tool:
    name: str
    fn: Callable[..., Any]
    description: str
    args_model: type[BaseModel]
    needs_approval: bool
    preview: Callable[..., str] | None = None  # what will happen + estimate, shown in the approval request
    # Resolves what a call refers to ("my latest style run" -> a job id) before the user is asked, so what runs
    # after the yes is exactly what the request showed, even if newer jobs appeared in between.
    pin: Callable[..., dict[str, Any]] | None = None

    def schema(self) -> dict[str, Any]:
        """The Anthropic tool definition (name, description, input_schema)."""
        params = self.args_model.model_json_schema()
        params.pop("title", None)
        return {"name": self.name, "description": self.description, "input_schema": params}

    def validate(self, args: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.args_model.model_validate(args or {}).model_dump()
        except ValidationError as err:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'args'}: {e['msg']}" for e in err.errors())
            raise LoraportError(f"Bad arguments for {self.name}: {problems}.") from None

    def run(self, ctx: ToolContext, args: dict[str, Any]) -> ToolOutput:
        out = self.fn(ctx, **self.validate(args))
        return out if isinstance(out, ToolOutput) else ToolOutput(result=jsonable(out))

    def pinned(self, ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
        valid = self.validate(args)
        return self.pin(ctx, **valid) if self.pin else valid

    def describe(self, ctx: ToolContext, args: dict[str, Any]) -> str:
        if self.preview is None:
            return f"Run {self.name} with {args}."
        return self.preview(ctx, **self.validate(args))


def make_tool(fn: Callable[..., Any], *, needs_approval: bool = False, preview=None, pin=None) -> Tool:
    doc = inspect.getdoc(fn) or ""
    if not doc:
        raise TypeError(f"tool {fn.__name__} needs a docstring: its first line is what the brain sees")
    fields = {}
    for name, param in list(inspect.signature(fn).parameters.items())[1:]:  # skip ctx
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[name] = (param.annotation, default)
    model = create_model(f"{fn.__name__}_args", __config__=ConfigDict(extra="forbid"), **fields)
    return Tool(fn.__name__, fn, doc.splitlines()[0], model, needs_approval, preview, pin)


def jsonable(obj: Any) -> Any:
    """Pydantic results become JSON; a ``summary()`` method, when present, travels along for the brains."""
    if isinstance(obj, BaseModel):
        data = obj.model_dump(mode="json")
        if callable(getattr(obj, "summary", None)) and "summary" not in data:
            data["summary"] = obj.summary()
        return data
    if isinstance(obj, (list, tuple)):
        return [jsonable(item) for item in obj]
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


def run_call(tool: Tool, ctx: ToolContext, args: dict[str, Any]) -> tuple[ToolOutput, bool]:
    """Run one call; return (output, ok). Errors become results the brain can read, never a traceback."""
    try:
        return tool.run(ctx, args), True
    except LoraportError as err:
        return ToolOutput(result={"error": err.message}), False
    except Exception as err:  # a bug in a tool must not end the conversation; the log keeps the trace
        log.exception("tool %s failed", tool.name)
        return ToolOutput(result={"error": f"{tool.name} failed unexpectedly: {type(err).__name__}: {err}"}), False
