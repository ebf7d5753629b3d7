"""The guided brain's replies when a message is clear about WHAT but not about the value, or points back to the
old LoRA: it asks (one short question) instead of guessing, and it keeps the old trigger when told to.

- "change the rank" / "set the steps" -> "What should the rank be? It is 32 now ..." (nothing changes);
- "actually 1500" with no setting in sight -> "1500 of what? ..." (nothing changes);
- "keep the old trigger" -> the old LoRA's trigger as the plan's trigger, verbatim (or says it already is);
- "the second one", "option 3", "the last one" -> that item of the list the conversation showed last (a recipe,
  a suggestion of the evaluation, one of my LoRAs), or a question when no list was shown.
"""

from typing import Any

from agent import options
from agent.brains import new_call_id
from tools.plan.glossary import SETTINGS, config_value
from tools.plan.inputs import old_lora_facts


def ask_value(args: dict[str, Any], state: dict[str, Any]) -> str:
    """One question for a change without a value, or a value without a setting."""
    if setting := args.get("setting"):
        label = setting.replace("_", " ")
        now = _current(state.get("config"), setting)
        info = SETTINGS.get(setting)
        if info and info.kind == "bool":
            choices = " Say 'on' or 'off'."
        elif info and info.choices:
            choices = " It can be " + ", ".join(info.choices[:-1]) + f" or {info.choices[-1]}."
        else:
            choices = f" Say e.g. '{label} <value>', 'a bit more' or 'halve it'."
        return f"What should the {label} be?" + (f" It is {now} now." if now is not None else "") + choices
    value = str(args.get("value") or "")
    if args.get("unit") == "epoch":
        return _epochs(value, state)
    if args.get("unit") == "fps":
        return ("Frame rate is not a setting here: each clip trains at its own frame rate. What I can change is "
                "the clip length, e.g. '49 frames' or '2 seconds'.")
    return (f"{value} of what? Name the setting with it, e.g. " + ", ".join(f"'{e}'" for e in _examples(value))
            + "; I'd rather not guess.")


def _epochs(value: str, state: dict[str, Any]) -> str:
    """loraport counts optimiser steps; one epoch is every training clip once, so it offers the step count."""
    clips = (state.get("dataset") or {}).get("n_files")
    config = state.get("config") or {}
    per_step = (config_value(config, ["optim", "batch_size"]) or 1) * (config_value(config, ["optim", "grad_accum"])
                                                                        or 1)
    text = "I count training in steps, not epochs: one step trains on " + (
        "one clip" if per_step == 1 else f"{per_step} clips") + ", so one epoch is one step per clip."
    if not clips:
        return text + f" Once your clips are in, {value} epochs is {value} x their number; or say e.g. '2000 steps'."
    steps = max(1, round(float(value) * clips / per_step))
    return text + f" {value} epochs over your {clips} clips is {steps} steps: say '{steps} steps' to use that."


def _examples(value: str) -> list[str]:
    try:
        number = float(value.rstrip("%"))
    except ValueError:
        return ["rank 16", "2000 steps"]
    if value.endswith("%"):
        return [f"{value} more steps", f"{value} lower learning rate"]
    if number < 1:
        return [f"learning rate {value}"]
    return [f"{value} steps", f"rank {value}"] if number >= 100 else [f"rank {value}", f"{value} frames"]


def _current(config: dict[str, Any] | None, name: str) -> Any:
    if not config:
        return None
    if name in options.SHOWN:
        return options.current_value(config, name)
    info = SETTINGS.get(name)
    return config_value(config, list(info.path)) if info and info.path else None


def keep_old_trigger(state: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """"keep the old trigger": the old LoRA's trigger phrase, as written, becomes the plan's (a set_option the
    user sees as a one-line diff); a reply instead when there is none or the plan already has it."""
    facts = old_lora_facts(state.get("old_lora")) if state.get("old_lora") else None
    old = facts.trigger if facts else None
    if not old:
        where = "Your old LoRA names no trigger I could read" if state.get("old_lora") else "No old LoRA is attached"
        return (f"{where}, so there is none to keep. Tell me the trigger as you write it in prompts, e.g. "
                "'trigger \"zorbly style\"'.", [])
    if _current(state.get("config"), "trigger") == old:
        return (f"The plan already uses your old LoRA's trigger \"{old}\", so prompts written for it keep working.",
                [])
    return "", [{"id": new_call_id(), "name": "set_option", "args": {"changes": {"trigger": old}}}]


def pick_from_list(n: int, state: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The n-th item (-1: the last) of the newest list in the thread, as the call that item stands for."""
    for message in reversed(state.get("messages") or []):
        if message.get("role") != "tool" or message.get("is_error"):
            continue
        name, content = message.get("name"), message.get("content")
        items = _listed(name, content)
        if items is None:
            continue
        if not items or not (-len(items) <= (n if n < 0 else n - 1) < len(items)):
            return f"That list has {len(items)} item(s); which one do you mean?", []
        item = items[n if n < 0 else n - 1]
        if name == "list_recipes":
            return "", [_call("choose_recipe", {"name": item["name"]})]
        if name == "list_my_loras":
            return "", [_call("how_to_use", {"job_id": item["id"]})]
        place = n if n > 0 else len(items)
        return "", [_call("retrain_with", {"changes": {}, "suggestion": place})]
    return ("Which list do you mean? Nothing numbered has been shown yet: ask 'which recipes are there?' or "
            "'list my loras'.", [])


def _listed(tool: str | None, content: Any) -> list[dict[str, Any]] | None:
    if tool in ("list_recipes", "list_my_loras") and isinstance(content, list):
        return [c for c in content if isinstance(c, dict)]
    if tool == "suggest_adjustments" and isinstance(content, list):
        return content
    if tool == "evaluate" and isinstance(content, dict) and "verdict" in content:
        return list((content["verdict"] or {}).get("suggestions") or [])
    return None


def _call(name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"id": new_call_id(), "name": name, "args": args}
