"""Wiring only: brain -> (approval ->) tools -> brain, with an SQLite checkpointer per workspace.

The approval node asks (``interrupt``) before anything runs; the tools node acts. A resumed node re-runs from
its first line, so nothing with a side effect may sit before an ``interrupt``.
"""

import functools
import logging
import sqlite3
from pathlib import Path
from typing import Any, Literal

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from agent.context import AgentContext
from agent.state import ThreadState, pending_calls
from agent.toolkit import ToolContext, run_call
from agent.tools import TOOLS_BY_NAME
from core.errors import LoraportError

log = logging.getLogger(__name__)
DECLINED = {"declined": True, "error": "The user said no, so nothing ran."}


def brain(state: ThreadState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    ctx, rounds = runtime.context, state.get("rounds", 0)
    if rounds >= ctx.max_rounds:  # a last-step guard: answer instead of looping on tools
        text = "I've taken several steps in a row; tell me how you'd like to go on."
        _writer(ctx)({"type": "text", "text": text})
        return {"messages": [{"role": "assistant", "content": text, "tool_calls": []}], "rounds": rounds + 1}
    message = ctx.brain.respond(state, ctx, _writer(ctx))
    return {"messages": [message], "rounds": rounds + 1, "decisions": {}}


def route(state: ThreadState) -> Literal["approval", "tools", "__end__"]:
    calls = pending_calls(state)
    if not calls:
        return "__end__"
    if any(_needs_approval(call) for call in calls):
        return "approval"
    return "tools"


def approval(state: ThreadState, runtime: Runtime[AgentContext]) -> Command[Literal["tools"]]:
    """Ask the user about every heavy call; the answers travel to the tools node. Nothing runs here."""
    decisions: dict[str, dict[str, Any]] = {}
    for call in pending_calls(state):
        if not _needs_approval(call):
            continue
        tool, ctx = TOOLS_BY_NAME[call["name"]], _tool_context(state, runtime.context)
        try:
            args = tool.pinned(ctx, call.get("args") or {})
            summary = tool.describe(ctx, args)
        except LoraportError as err:  # it cannot run anyway: say why instead of asking
            decisions[call["id"]] = {"answer": "error", "error": err.message}
            continue
        except Exception as err:  # a bug in a preview must not leave the call without a result
            log.exception("approval preview of %s failed", call["name"])
            decisions[call["id"]] = {"answer": "error", "error": f"could not prepare it ({type(err).__name__})"}
            continue
        answer = interrupt({"id": call["id"], "tool": call["name"], "args": args, "summary": summary})
        approved = isinstance(answer, dict) and answer.get("approved") is True
        # Run what the request showed (the surface hands back its args), not a re-resolution made later.
        shown = answer.get("args") if approved and isinstance(answer.get("args"), dict) else args
        decisions[call["id"]] = {"answer": "yes" if approved else "no", "args": shown}
    return Command(update={"decisions": decisions}, goto="tools")


def tools(state: ThreadState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Run the calls in order; each sees the state the previous ones left. Results go back to the brain."""
    write, view = _writer(runtime.context), dict(state)
    update: dict[str, Any] = {"messages": []}
    for call in pending_calls(state):
        result, ok, changes = _run_one(call, state.get("decisions") or {}, view, runtime.context, write)
        update["messages"].append({"role": "tool", "tool_call_id": call["id"], "name": call["name"],
                                   "content": result, "is_error": not ok})
        for key, value in changes.items():
            update[key] = _combine(update.get(key), value, key)
            view[key] = _combine(view.get(key), value, key)
    return update


def _run_one(call, decisions, view, ctx: AgentContext, write) -> tuple[Any, bool, dict[str, Any]]:
    tool = TOOLS_BY_NAME.get(call["name"])
    if tool is None:
        return {"error": f"There is no tool {call['name']!r}."}, False, {}
    decision = decisions.get(call["id"]) or {}
    if tool.needs_approval and decision.get("answer") != "yes":
        return ({"error": decision["error"]} if decision.get("answer") == "error" else DECLINED), False, {}
    args = decision["args"] if tool.needs_approval else call.get("args") or {}
    write({"type": "tool_start", "tool": tool.name, "args": args})
    output, ok = run_call(tool, _tool_context(view, ctx), args)
    write({"type": "tool_end", "tool": tool.name, "result": output.result, "ok": ok})
    return output.result, ok, output.update


def _combine(old: Any, new: Any, key: str) -> Any:
    """Apply one tool's change the way the state's reducers will (lists append, overrides merge)."""
    if key in ("job_ids", "evaluations"):
        return [*(old or []), *new]
    if key == "overrides":
        return {**(old or {}), **new}
    return new


def _writer(ctx: AgentContext):
    return ctx.emit or (lambda event: None)


def _needs_approval(call: dict[str, Any]) -> bool:
    tool = TOOLS_BY_NAME.get(call["name"])
    return bool(tool and tool.needs_approval)


def _tool_context(state: dict[str, Any], ctx: AgentContext) -> ToolContext:
    return ToolContext(workspace=ctx.workspace, thread_id=ctx.thread_id, state=dict(state), any_path=ctx.any_path)


def build_graph(checkpointer: SqliteSaver):
    """The graph bound to ``checkpointer``: compiled once per process (~4 ms), each Sidekick gets a copy."""
    return _compiled().copy(update={"checkpointer": checkpointer})


@functools.cache
def _compiled():
    graph = StateGraph(ThreadState, context_schema=AgentContext)
    graph.add_node("brain", brain)
    graph.add_node("approval", approval)
    graph.add_node("tools", tools)
    graph.add_edge(START, "brain")
    graph.add_conditional_edges("brain", route)
    graph.add_edge("tools", "brain")
    return graph.compile()


def open_checkpointer(path: Path) -> SqliteSaver:
    """The checkpoint file outlives the process: a restart finds every thread and any pending approval."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False)  # SqliteSaver serialises access with its lock
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: safe against a process crash, fewer fsyncs
    return SqliteSaver(conn)
