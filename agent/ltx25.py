"""The sidekick's LTX-2.5 tools: which model the thread targets, and the as-is test of an old LoRA there.

LTX-2.3 stays the target until the user picks 2.5 ("move it to 2.5": ``set_option`` with ``model``). For a 2.3
LoRA and a 2.5 target the sidekick offers ``evaluate_as_is`` before any training run: the old LoRA rendered on
2.5 beside 2.5 alone, with its held-out loss there, and the verdict "it still works: no retrain needed" or
"retrain". The result is kept in the thread state as ``as_is``.
"""

from typing import Any

from agent.toolkit import ToolContext, ToolOutput, jsonable
from core.errors import LoraportError

DEFAULT_TARGET = "ltx-2.3"


def thread_target(state: dict[str, Any]) -> str:
    """The model this thread migrates to: the user's ``model`` choice, else the plan's, else LTX-2.3."""
    chosen = (state.get("overrides") or {}).get("model")
    if chosen:
        return str(chosen)
    plan = state.get("plan") or {}
    return str(plan.get("requested_model") or DEFAULT_TARGET)


def is_25(model_id: str | None) -> bool:
    return bool(model_id) and str(model_id).removeprefix("tiny-") == "ltx-2.5"


def as_is_test_model(state: dict[str, Any]) -> str:
    """The model the as-is test renders on: the target, or its tiny twin when the plan fell back to it."""
    target = thread_target(state)
    planned = (state.get("plan") or {}).get("model_id")
    return planned if planned and is_25(planned) and planned != target else target


def evaluate_as_is(ctx: ToolContext, model: str | None = None) -> ToolOutput:
    """Test the old LoRA as it is on the new model (default LTX-2.5) beside that model alone: works, or retrain."""
    old = ctx.state.get("old_lora") or {}
    if not old.get("path"):
        raise LoraportError("There is no old LoRA in this conversation: attach it first, then I can test it on 2.5.")
    dataset = ctx.state.get("dataset") or {}
    ref = dataset.get("id") or dataset.get("path")
    if not ref:
        raise LoraportError("I need a few of your clips to measure it on: attach them (a folder or a zip) first.")
    import tools.evaluate.asis

    target = model or as_is_test_model(ctx.state)
    report = tools.evaluate.asis.evaluate_as_is(old["path"], str(ref), model=target, workspace=ctx.workspace)
    data = jsonable(report)
    data["evaluation"].pop("train_losses", None)  # the old run's curves are not this test's
    return ToolOutput(data, {"as_is": {k: data[k] for k in ("verdict", "headline", "target", "lora_path",
                                                             "improvement", "strength", "evidence")}})


def as_is_preview(ctx: ToolContext, model: str | None = None) -> str:
    target = model or as_is_test_model(ctx.state)
    name = ((ctx.state.get("old_lora") or {}).get("path") or "your old LoRA").rsplit("/", 1)[-1]
    return (f"Render {name} as it is on {target} beside {target} alone (same prompts and seeds) and measure its "
            f"held-out loss on your clips there; nothing is trained. On the tiny model this takes under a minute; "
            f"on real weights about as long as an evaluation (tens of samples on the GPU).")


def describe_as_is(result: dict[str, Any]) -> str:
    """The guided brain's words for an as-is result: the verdict first, then each piece of evidence."""
    lines = [f"As it is on {result.get('target')}: {result.get('headline')}."]
    lines += [f"- {e}" for e in result.get("evidence") or []]
    ev = result.get("evaluation") or {}
    samples = ev.get("samples") or []
    if samples:
        lines.append(f"{len(samples)} render pair(s) with and without it (same prompts and seeds) are in "
                     f"{ev.get('report_html') or ev.get('out_dir')}; the Studio shows the same comparison.")
    if result.get("verdict") == "works":
        lines.append("No retrain needed: keep using the file on 2.5.")
    elif result.get("verdict") == "retrain":
        lines.append("So a retrain on 2.5 it is: say 'start' to train with the plan.")
    return "\n".join(lines)
