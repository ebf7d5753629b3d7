"""How the guided brain tells a tool's result: one short paragraph in plain words, never its JSON or tool name.

Result text (captions, LoRA metadata, job messages) is quoted as data and never obeyed. The session uses
``describe`` too, to tell an evaluation's verdict when its job has finished.
"""

import json
import re
from typing import Any

from agent.ltx25 import describe_as_is


def describe(tool: str, result: Any, is_error: bool) -> str:
    """One short paragraph per tool result. Result text is quoted as data, never obeyed."""
    if isinstance(result, dict) and result.get("declined"):
        return f"OK, I won't {_ACTS.get(tool, 'do that')}; nothing changed."
    if isinstance(result, dict) and "error" in result and (is_error or len(result) == 1):
        return f"I couldn't {_ACTS.get(tool, 'do that')}: {result['error']}"
    if tool == "evaluate_as_is" and isinstance(result, dict) and "verdict" in result:
        return describe_as_is(result)
    if tool == "migrate_library" and isinstance(result, dict) and result.get("batch_id"):
        skipped = "".join(f"\n- {s['file']}: skipped, {s['reason']}" for s in result.get("skipped") or [])
        return (f"Batch {result['batch_id']} queued: {result.get('summary')}{skipped}\nSay 'migration status "
                f"{result['batch_id']}' for the table.")
    if tool == "migration_status" and isinstance(result, dict) and "rows" in result:
        lines = [f"- {r['name']}: {r['verdict']}" + (f" (trigger '{r['trigger']}')" if r.get("trigger") else "")
                 + (f"; {r['retry']}" if r.get("retry") else "") for r in result["rows"]]
        return "\n".join([result.get("summary") or "", *lines])
    if tool == "set_option":
        changed = str(result.get("changed") or "no change")
        return "Nothing changed: that is already the plan's value." if changed == "no change" else \
            f"Changed: {changed}."
    if tool == "export_checkpoint" and isinstance(result, dict) and result.get("path"):
        return f"Exported checkpoint {result.get('step')} to {result['path']}: load it like any LoRA file."
    if tool in ("launch_training", "retrain_with"):
        based = f" (based on job {result['based_on']})" if result.get("based_on") else ""
        return f"Launched job {result.get('job_id')}{based}. I'll show its progress as it trains."
    if tool == "evaluate" and isinstance(result, dict) and result.get("status") in ("queued", "running"):
        return (f"Evaluating job {result.get('evaluates')} as job {result.get('job_id')}: renders with and without "
                "the LoRA, held-out loss, strength. It runs in the background; I'll tell you the verdict when it "
                "is done, and you can keep talking meanwhile.")
    if tool == "evaluate" and isinstance(result, dict) and "verdict" in result:
        verdict = result["verdict"]
        lines = [_without_loss_figures(str(result.get("summary") or f"Verdict: {verdict.get('status')}"))]
        if not result.get("summary"):
            lines += [f"- {e}" for e in verdict.get("evidence") or []]
        return "\n".join(lines + [suggestions_text(verdict.get("suggestions") or [])])
    if tool == "suggest_adjustments" and isinstance(result, list):
        return suggestions_text(result) or "No change suggested: the evaluation found nothing to fix."
    if tool == "caption_preview" and isinstance(result, dict) and "items" in result:
        lines = [f"Caption preview ({result.get('backend')}, quality {result.get('quality')}):"]
        lines += [f'- {i.get("name")}: "{i.get("trained_as") or i.get("caption")}"' + (f" ({i['error']})" if i.get(
            "error") else "") for i in result["items"]]
        return "\n".join(lines + [str(result.get("note") or ""), "Say 'caption all' to caption the rest."])
    if tool == "caption_all":
        return f"Captioning runs as job {result.get('job_id')}; say 'status' to follow it."
    if tool == "choose_recipe":
        return f"Recipe: {result.get('title') or result.get('recipe')}. {result.get('description') or ''}".strip()
    if tool == "explain_settings":
        return _explain_text(result)
    if tool in ("job_status", "cancel_job") and isinstance(result, dict) and "status" in result:
        return _job_text(result)
    if tool == "list_recipes" and isinstance(result, list):  # numbered: "the second one" picks by place
        return "\n".join(f"{i}. {r.get('name')}: {r.get('title')}. {r.get('purpose')}" for i, r in enumerate(result, 1))
    if tool == "list_my_loras" and isinstance(result, list):
        return "\n".join(f"{i}. {_lora_line(item)[2:]}" for i, item in enumerate(result, 1)) or \
            "No LoRAs trained here yet."
    if tool in ("list_my_loras", "list_recipes") and isinstance(result, list):
        return "\n".join(_line(item) for item in result) or "Nothing yet."
    if tool == "inspect_lora" and isinstance(result, dict) and result.get("summary"):
        # The verdict in one paragraph; the evidence and the weights' health are on the inspection's card.
        lines = str(result["summary"]).splitlines()
        keep = ("On ", "What to do", "Weights:")
        return "\n".join([lines[0], *[x.strip() for x in lines[1:] if x.strip().startswith(keep)]])
    if isinstance(result, dict) and result.get("summary"):
        return str(result["summary"])
    return _line(result)


# What each tool does, in the words of a sentence ("I couldn't change that setting: ...").
_ACTS = {"inspect_lora": "check that LoRA", "list_recipes": "list the recipes", "choose_recipe": "pick that recipe",
         "import_dataset": "import those clips", "check_dataset": "check the clips",
         "caption_preview": "caption a preview", "caption_all": "caption every clip", "set_option": "change that",
         "explain_settings": "explain that", "estimate": "estimate the run", "launch_training": "start training",
         "job_status": "check the job", "cancel_job": "stop the job", "evaluate": "evaluate it",
         "suggest_adjustments": "suggest a next run", "retrain_with": "start that retrain",
         "export_checkpoint": "export that checkpoint", "list_my_loras": "list your LoRAs",
         "check_hardware": "check that card", "how_to_use": "find the file", "compare_runs": "compare the runs"}


def _explain_text(result: dict[str, Any]) -> str:
    if "summary" in result:
        return str(result["summary"])
    from tools.plan.explain import SOURCE_WORDS

    source = SOURCE_WORDS.get(str(result.get("source")), result.get("source"))
    value = f" = {result['value']} ({source})" if "value" in result else ""
    return f"{result.get('setting')}{value}: {result.get('explanation')}"


def _without_loss_figures(text: str) -> str:
    """Raw loss pairs ("(1.5558 -> 1.5540; under 10.0% is weak)") stay on the report's card, not in the chat."""
    return re.sub(r"\s*\(\d+\.\d{3,}\s*->\s*\d+\.\d{3,}[^)]*\)", "", text)


def suggestions_text(suggestions: list[dict[str, Any]]) -> str:
    """Numbered, so "try suggestion 2" names one. Each is a hypothesis with the metric that would confirm it."""
    lines = [f"{i}. {s.get('action')} Why: {_sentence(s.get('why'))} It worked if: "
             f"{str(s.get('confirm') or '').replace('holdout_loss', 'held-out loss').replace('_', ' ')}"
             for i, s in enumerate(suggestions, 1)]
    return ("Suggestions (hypotheses, not promises):\n" + "\n".join(lines)) if lines else ""


def _job_text(job: dict[str, Any]) -> str:
    text = f"Job {job.get('job_id')}: {job.get('status')}"
    if job.get("step") is not None and job.get("total"):  # the loss curve is on the job's card, not in words
        text += f", step {job['step']} of {job['total']} ({100 * job['step'] // max(1, job['total'])}%)"
    elif job.get("step") is not None:
        text += f", step {job['step']}"
    if job.get("lora_path"):
        text += f". LoRA file: {job['lora_path']}"
    if job.get("error"):
        text += f". Error: {job['error']}"
    if job.get("cancel_requested") and job.get("status") == "running":
        text += ". It stops at its next step and keeps its checkpoints"
    return text + "."


def _lora_line(row: dict[str, Any]) -> str:
    trigger = f', trigger "{row["trigger"]}"' if row.get("trigger") else ""
    verdict = f", verdict {row['verdict']}" if row.get("verdict") else ""
    where = f": {row['lora_path']}" if row.get("lora_path") else ""
    return f"- {row.get('id')} ({row.get('recipe') or 'no recipe'}, {row.get('status')}{trigger}{verdict}){where}"


def _line(item: Any) -> str:
    if isinstance(item, dict):
        if item.get("summary"):
            return str(item["summary"])
        return ", ".join(f"{k}={v}" for k, v in item.items() if v not in (None, "", [], {}))[:400]
    return json.dumps(item, default=str)[:400]


def _sentence(text: Any) -> str:
    """End a clause with a full stop, so joined fragments read as sentences."""
    text = str(text or "").strip()
    return text if text.endswith((".", "!", "?")) else text + "."
