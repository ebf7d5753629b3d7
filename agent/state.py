"""Per-thread state, kept by LangGraph's SQLite checkpointer (a restart loses nothing).

Everything here is plain JSON (dicts, lists, strings) so the checkpoint survives library upgrades and never
holds pickled objects. Messages use a neutral shape both brains understand:

- ``{"role": "user", "content": str}``
- ``{"role": "assistant", "content": str, "tool_calls": [{"id", "name", "args"}]}``
- ``{"role": "tool", "tool_call_id", "name", "content": <JSON result>, "is_error": bool}``
"""

import operator
from typing import Annotated, Any, TypedDict


def merge_dict(old: dict | None, new: dict | None) -> dict:
    """Reducer for ``overrides``: a tool returns only the keys it changed; ``None`` values remove a key."""
    merged = dict(old or {})
    for key, value in (new or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


class ThreadState(TypedDict, total=False):
    messages: Annotated[list[dict[str, Any]], operator.add]
    old_lora: dict[str, Any] | None  # InspectReport of the user's old LoRA, as JSON
    recipe: str | None
    dataset: dict[str, Any] | None  # DatasetReport as JSON (id, path, counts, problems)
    overrides: Annotated[dict[str, Any], merge_dict]  # the user's changes, by option name (agent/options.py)
    config: dict[str, Any] | None  # the resolved TrainConfig as JSON (from tools.plan.service)
    plan: dict[str, Any] | None  # the whole tools.plan.service Plan as JSON: settings {name: {value, source,
    # explanation}}, estimate, warnings, recommendations
    plan_error: str | None  # why no plan could be made from recipe + dataset (told to the user)
    job_ids: Annotated[list[str], operator.add]
    evaluations: Annotated[list[dict[str, Any]], operator.add]
    as_is: dict[str, Any] | None  # the old LoRA tested as it is on the new model (agent.ltx25): verdict, evidence
    decisions: dict[str, dict[str, Any]]  # tool-call id -> {answer: yes|no|error, args shown, error}
    rounds: int  # brain calls since the last user message (a guard against tool loops)


def pending_calls(state: ThreadState) -> list[dict[str, Any]]:
    """Tool calls of the last assistant message, if it is the newest message (not yet answered)."""
    messages = state.get("messages") or []
    if not messages or messages[-1]["role"] != "assistant":
        return []
    return list(messages[-1].get("tool_calls") or [])


def latest_job(state: ThreadState, kind: str | None = None) -> str | None:
    """The thread's newest job id, optionally of one kind (job ids start with it: ``train-20260124-...``)."""
    jobs = [j for j in state.get("job_ids") or [] if kind is None or j.startswith(kind + "-")]
    return jobs[-1] if jobs else None
