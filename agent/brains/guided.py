"""The guided brain: a deterministic migration wizard (inspect -> recipe -> dataset -> review -> launch ->
evaluate) that reads requests with `parse` and answers from tool results. No network, no model.

It only ever turns the USER's words into tool calls. Text inside tool results (captions, LoRA metadata, job
messages) is shown as data and never parsed for commands.
"""

import re
from typing import Any

from agent import options, words
from agent.brains import Emit, new_call_id
from agent.brains.asking import ask_value, keep_old_trigger, pick_from_list
from agent.brains.parse import RECIPES, Intent, parse
from agent.brains.target import agreed_as_is, as_is_offer, target_calls
from agent.brains.telling import describe
from agent.state import latest_job
from agent.tools import estimate_summary

HELP = ("I move a LoRA from LTX-2 to LTX-2.3: I check your old file, pick a recipe, take your clips, explain and "
        "change any setting (\"rank 16\", \"a bit more steps\", \"768 by 512\"), train when you say so, then "
        "evaluate it and tell you how to use it.")
UNKNOWN = "I'm not sure what you mean, and I'd rather not guess."


class GuidedBrain:
    name = "guided"

    def respond(self, state: dict[str, Any], ctx: Any, emit: Emit) -> dict[str, Any]:
        last = state["messages"][-1]
        if last["role"] == "tool":
            text, calls = self.after_tools(state), []
        else:
            text, calls = self.on_user(last["content"], state)
        if text:
            emit({"type": "text", "text": text})
        return {"role": "assistant", "content": text, "tool_calls": calls}

    def on_user(self, text: str, state: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        if (target := target_calls(text, state)) is not None:  # LTX-2.5: pick the target, test as-is first
            return "", target
        intents = parse(text, last_setting(state))
        calls = [_call(i) for i in intents if i.kind == "tool"]
        if [c["name"] for c in calls] == ["launch_training"] and (not state.get("config") or _only_agrees(text)):
            # "ok start" before there is a plan, or a plain "sure, go ahead": agree to the one open question
            # (the launch at the review step; the evaluation once trained), never a second run by accident
            return self.on_agree(state)
        for call in calls:
            if call["name"] == "estimate" and _training(state):  # "how long will it take?" while it trains: the
                call.update(name="job_status", args={})  # job's own ETA from its measured speed, not a forecast
            if call["name"] == "retrain_with" and _before_first_run(call["args"], state):
                # "same settings but 2000 steps" at the review step: this thread has no run to redo yet, so it
                # is a change to the plan (its earlier runs elsewhere are named by recipe: "my style LoRA")
                call.update(name="set_option", args={"changes": call["args"]["changes"]})
            elif call["name"] == "retrain_with" and (problem := _fill_from_suggestion(call["args"], state)):
                return problem, []
        if calls:
            heavy = [c for c in calls if c["name"] == "launch_training"]
            if heavy and len(calls) > 1:  # change first, launch on the next "start": the approval shows the new plan
                calls = [c for c in calls if c["name"] != "launch_training"]
            return "", calls
        intent = intents[0]
        if intent.kind == "yes":
            return self.on_agree(state)
        if intent.kind == "pick":  # "the second one": of the list just shown
            text, calls = pick_from_list(intent.args["n"], state)
            if calls and calls[0]["name"] == "retrain_with" and (problem := _fill_from_suggestion(calls[0]["args"],
                                                                                                  state)):
                return problem, []
            return text, calls
        if intent.kind == "keep_trigger":
            text, calls = keep_old_trigger(state)
            return (f"{text} {next_step(state)}" if text else ""), calls
        if intent.kind == "undo":
            call = undo_call(state)
            return ("", [call]) if call else ("There is no setting change of mine to undo. " + next_step(state), [])
        return talk(intent.kind, intent.args, state), []

    def on_agree(self, state: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        """"sure" / "go for it" outside an approval: agree to the one question next_step asked."""
        call = agreed_call(state)
        return ("", [call]) if call else (next_step(state), [])

    def after_tools(self, state: dict[str, Any]) -> str:
        results = _results_since_assistant(state["messages"])
        lines = [describe(m["name"], m["content"], m.get("is_error", False)) for m in results]
        if any(m["name"] in _PLAN_CHANGERS and not m.get("is_error") for m in results):
            if state.get("plan_error"):
                lines.append(f"I couldn't make the training plan yet: {state['plan_error']}")
            elif state.get("config"):
                brief = not any(m["name"] in ("choose_recipe", "import_dataset", "inspect_lora") for m in results)
                lines.append(plan_text(state, brief=brief))
        lines.append(next_step(state))
        return "\n".join(line for line in lines if line)


_PLAN_CHANGERS = {"choose_recipe", "import_dataset", "set_option", "inspect_lora"}


def talk(kind: str, args: dict[str, Any], state: dict[str, Any]) -> str:
    """The brain's own reply to a conversational move: short, and always ending on the next step."""
    if kind == "help":
        return f"{HELP} {next_step(state)}"
    if kind == "skip":
        return "Fine, we'll start fresh without the old LoRA. " + next_step({**state, "old_lora": {}})
    if kind == "greeting":
        return "Hi! I move a LoRA from LTX-2 to LTX-2.3, one step at a time. " + next_step(state)
    if kind == "thanks":
        return "You're welcome. " + next_step(state)
    if kind == "next":
        return next_step(state)
    if kind == "migrate_help":
        return ("I can migrate a whole folder of LTX-2 LoRAs at once: give me the folder with the LoRA files and the "
                "folder whose sub-folders hold each LoRA's clips (named like the files), e.g. 'migrate all the "
                "LoRAs in /data/loras with the clips in /data/clips'. You approve the batch once.")
    if kind == "story":
        guess = f" It sounds like a {args['recipe']} LoRA; I'll check." if args.get("recipe") else ""
        return ("LTX-2 LoRAs load on LTX-2.3 without an error but no longer work as trained, so the way back is a "
                f"new LoRA trained on 2.3 from your clips.{guess} " + next_step(state))
    if kind == "no":
        return "OK, nothing changes. " + next_step(state)
    if kind == "ask_value":
        return ask_value(args, state)
    if kind == "why_retrain":
        return ("A LoRA only works with the model it was trained on. LTX-2.3 has different base weights, text inputs "
                "and latent space than LTX-2, so an LTX-2 LoRA loads without an error but its output is wrong or weak. "
                "A new LoRA trained on 2.3 from your clips fixes that; it keeps your old trigger, so your prompts keep "
                "working. " + next_step(state))
    if kind == "how_it_runs":
        return ("Everything runs here, on this machine's engine: your files stay in loraport's workspace and nothing "
                "is uploaded or paid for. Training is a background job, so you can close the page and come back; "
                "the conversation and its progress are kept. " + next_step(state))
    if kind == "restart":
        return ("To start over, open a new conversation (the New button in the panel, or `loraport chat` without "
                "--thread); this one keeps its plan and runs. Or change anything here: the recipe, the clips, a "
                "setting.")
    return f"{UNKNOWN} {likely_steps(state)}"


def _training(state: dict[str, Any]) -> bool:
    """A training run of this thread that has not been evaluated yet (running, or just ended)."""
    job = latest_job(state, "train")
    return bool(job) and job not in {e.get("job_id") for e in state.get("evaluations") or []}


def _before_first_run(args: dict[str, Any], state: dict[str, Any]) -> bool:
    return bool(state.get("config") and args.get("changes") and not latest_job(state, "train")
                and not args.get("recipe") and not args.get("job_id") and args.get("suggestion") is None)


def _only_agrees(text: str) -> bool:
    """A plain yes ("sure go ahead", "yep let's go") that names no launch ("start", "train", "launch")."""
    return words.answer(text) == "yes" and not _LAUNCH_WORD.search(text.lower())


_LAUNCH_WORD = re.compile(r"\b(?:start|launch|train|kick|fire|begin|run)")


def likely_steps(state: dict[str, Any]) -> str:
    """Two or three things the user most likely wants next, for where the thread stands."""
    if state.get("old_lora") is None and not state.get("recipe"):
        options_ = ["attach your old LoRA (or paste its path)", "say what it taught (\"it's a person\")",
                    "say 'skip' to start without one"]
    elif not state.get("recipe"):
        options_ = ["name the recipe (character, style, motion, face or object)", "ask 'which recipes are there?'"]
    elif not state.get("dataset"):
        options_ = ["attach your clips (a folder or a zip)", "ask 'what does rank do?'"]
    elif not latest_job(state, "train"):
        options_ = ["say 'start'", "change a setting (\"rank 16\", \"a bit more steps\")", "ask 'why rank 32?'"]
    elif not state.get("evaluations"):
        options_ = ["ask 'how is it going?'", "say 'evaluate' once it has finished", "ask 'where is my file?'"]
    else:
        options_ = ["say 'retrain'", "ask 'how do I use it in ComfyUI?'", "ask 'how does it compare?'"]
    return "You could " + ", ".join(options_[:-1]) + f" or {options_[-1]}."


def agreed_call(state: dict[str, Any]) -> dict[str, Any] | None:
    """The call a plain yes agrees to: the suggested recipe, the launch, the evaluation or the retrain."""
    if as_is := agreed_as_is(state):  # a 2.3 LoRA, a 2.5 target: "yes" to testing it before training
        return as_is
    if suggested := _suggested_recipe(state):
        return {"id": new_call_id(), "name": "choose_recipe", "args": {"name": suggested}}
    job = latest_job(state, "train")
    if state.get("config") and state.get("dataset") and not job:
        return {"id": new_call_id(), "name": "launch_training", "args": {}}
    if job and job not in {e.get("job_id") for e in state.get("evaluations") or []}:
        return {"id": new_call_id(), "name": "evaluate", "args": {}}
    if job and any(s.get("retrain_with") for s in _suggestions(state)):
        args: dict[str, Any] = {}
        _fill_from_suggestion(args, state)
        return {"id": new_call_id(), "name": "retrain_with", "args": args}
    return None


def undo_call(state: dict[str, Any]) -> dict[str, Any] | None:
    """"undo" / "put it back": the last setting change's values from before it, as a new change."""
    for message in reversed(state.get("messages") or []):
        if message.get("role") == "tool" and message.get("name") == "set_option" and not message.get("is_error"):
            before = (message.get("content") or {}).get("before")
            return {"id": new_call_id(), "name": "set_option", "args": {"changes": before}} if before else None
    return None


def last_setting(state: dict[str, Any]) -> str | None:
    """The setting the conversation was last about (a change or a question): "back to 32" means it."""
    for message in reversed(state.get("messages") or []):
        for call in reversed(message.get("tool_calls") or []):
            args = call.get("args") or {}
            if call.get("name") == "set_option" and args.get("changes"):
                return list(args["changes"])[-1]
            if call.get("name") == "explain_settings" and args.get("setting"):
                return args["setting"]
    return None


def _suggestions(state: dict[str, Any]) -> list[dict[str, Any]]:
    evaluations = state.get("evaluations") or []
    return list(((evaluations[-1].get("verdict") or {}).get("suggestions") or [])) if evaluations else []


def _fill_from_suggestion(args: dict[str, Any], state: dict[str, Any]) -> str | None:
    """"retrain" / "try suggestion 2" after an evaluation: the numbered suggestion's changes (the approval shows
    the exact diff before anything runs). Returns a reply instead when there is nothing to fill in."""
    pick = args.pop("suggestion", None)
    if pick is None and (args.get("changes") or args.get("recipe") or args.get("job_id")):
        return None
    suggestions = _suggestions(state)
    if pick is None and not suggestions:
        return None  # plain "retrain": tools.train.retrain says what it needs (a change to make)
    index = (pick or 1) - 1
    if not 0 <= index < len(suggestions):
        return f"There is no suggestion {pick}: the last evaluation made {len(suggestions)}."
    chosen = suggestions[index]
    if not chosen.get("retrain_with"):
        return f"Suggestion {index + 1} needs no new run: {chosen.get('action')} {_export_offer(state)}".strip()
    args["changes"] = dict(chosen["retrain_with"])
    return None


def _call(intent: Intent) -> dict[str, Any]:
    return {"id": new_call_id(), "name": intent.tool, "args": intent.args}


def _results_since_assistant(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    results = []
    for message in reversed(messages):
        if message["role"] != "tool":
            break
        results.append(message)
    return results[::-1]


def next_step(state: dict[str, Any]) -> str:
    """The wizard's one question for where this thread stands (one question at a time)."""
    if state.get("old_lora") is None and not state.get("recipe"):
        return ("First, attach your old LTX-2 LoRA (.safetensors) or paste its path, so I can check it. "
                "No old file? Say 'skip'.")
    if not state.get("recipe"):
        if suggested := _suggested_recipe(state):
            return (f"It looks like a {suggested} LoRA. Use the {suggested} recipe? Say 'yes', or name another "
                    "(character, style, motion, face, object).")
        return ("What did this LoRA teach? character, style, motion, face (IC-LoRA) or object; "
                "or describe it (\"it's a person\").")
    if not state.get("dataset"):
        return "Now the source clips: attach them (a zip, or several videos) or paste a folder path."
    job = latest_job(state, "train")
    if not job and not state.get("config"):
        return "There is no training plan yet: fix what I listed above, or tell me another recipe or clips."
    if not job and (offer := as_is_offer(state)):
        return offer
    if not job:
        return "Say 'start' to train with this plan, 'explain' for the reason behind each value, or change a setting."
    evaluated = {e.get("job_id") for e in state.get("evaluations") or []}
    if job not in evaluated and latest_job(state, "evaluate"):
        return "The evaluation is running in the background: ask 'how did it turn out?' any time."
    if job not in evaluated:
        return (f"Job {job} is on its way: ask 'how is it going?' any time; once it has finished, say 'evaluate' "
                "and I'll check how it turned out.")
    if any(s.get("retrain_with") for s in _suggestions(state)):
        return (f"{_export_offer(state)} Say 'retrain' to try suggestion 1 (or 'try suggestion 2'), or "
                "'retrain with ...' for your own change.").strip()
    return (f"{_export_offer(state)} Say 'retrain with ...' (e.g. '20% more steps') to launch another run, or "
            "'list my loras'.").strip()


def _export_offer(state: dict[str, Any]) -> str:
    """When the evaluation found an earlier checkpoint better than the final LoRA, offer to export it."""
    step = next((s["checkpoint"] for s in _suggestions(state) if s.get("checkpoint") is not None), None)
    if step is None:
        return ""
    return f"Say 'export' to save checkpoint {step} (the evaluation's pick) as its own LoRA file."


def _suggested_recipe(state: dict[str, Any]) -> str | None:
    """The inspector's recipe guess (one of the five recipe names, never free text) while none is chosen."""
    if state.get("recipe"):
        return None
    guess = ((state.get("old_lora") or {}).get("migration") or {}).get("recipe")
    return guess if guess in RECIPES else None


def plan_text(state: dict[str, Any], brief: bool = False) -> str:
    """The review step: the values that matter, what the user changed, the estimate, and the plan's warnings."""
    config, plan = state["config"], state.get("plan") or {}
    parts = [f"{name.replace('_', ' ')} {options.current_value(config, name)}"
             for name in ("model", "rank", "steps", "learning_rate", "resolution", "frames", "trigger")]
    lines = [f"The plan ({plan.get('recipe_title') or state.get('recipe')}): " + ", ".join(parts) + "."]
    if brief:  # a setting change: its diff was said already; only the new estimate is news
        return estimate_summary(plan["estimate"]) if plan.get("estimate") else ""
    carried = [n for n, e in (plan.get("settings") or {}).items() if e.get("source") == "old_lora"]
    if carried:
        lines.append(f"Carried over from your old LoRA: {', '.join(carried)}.")
    trigger = (plan.get("settings") or {}).get("trigger") or {}
    if trigger.get("source") == "old_lora":
        lines.append(f"Trigger \"{trigger.get('value')}\" is your old LoRA's own, so prompts written for it keep "
                     "working.")
    audio = (plan.get("settings") or {}).get("audio") or {}
    if audio.get("value", "off") != "off":  # the sound trains: say why, and how to turn it off
        lines.append(f"Sound: {audio.get('explanation')} Say 'audio off' to train the picture only.")
    if plan.get("estimate"):
        lines.append(estimate_summary(plan["estimate"]))
    lines += [f"Note: {w}" for w in plan.get("warnings") or []]
    lines += [f"Tip: {r}" for r in plan.get("recommendations") or []]
    if plan and not plan.get("ready", True):
        lines.append("The dataset is below this recipe's minimum: training will run, but expect a weak LoRA.")
    return "\n".join(lines)
