"""The sidekick's tools: thin wrappers over tools/ (the same functions the CLI and REST call).

Each wrapper adapts the thread state to the real function and returns JSON plus the state it changes. None of
them re-implements a tool.
"""

from typing import Any

import tools.caption
import tools.dataset
import tools.evaluate
import tools.inspect
import tools.plan.estimate
import tools.plan.explain
import tools.plan.glossary
import tools.plan.service
import tools.recipes
import tools.train.disk
import tools.train.launch
import tools.train.retrain
from agent import answers, evaluation, history, migrate, options
from agent.ltx25 import as_is_preview, evaluate_as_is, thread_target
from agent.state import latest_job
from agent.toolkit import Tool, ToolContext, ToolOutput, jsonable, make_tool
from core.errors import LoraportError
from tools.evaluate.checkpoints import export_target
from trainer.config import TrainConfig


def inspect_lora(ctx: ToolContext, path: str, target: str | None = None) -> ToolOutput:
    """Inspect a LoRA .safetensors file: its format, base model, rank, health and whether it is valid on LTX-2.3.

    ``target`` judges it for another model (ltx-2.5); default: the model this conversation migrates to.
    """
    report = jsonable(tools.inspect.inspect_lora(ctx.user_path(path), target=target or thread_target(ctx.state)))
    return ToolOutput(report, {"old_lora": report, **_replan(ctx, old_lora=report)})


def list_recipes(ctx: ToolContext) -> list:
    """List the training recipes (character, style, motion, face, object, ...) with what each is for."""
    return tools.recipes.list_recipes()


def choose_recipe(ctx: ToolContext, name: str) -> ToolOutput:
    """Choose the recipe for this LoRA by name (e.g. character, style, motion, face, object)."""
    recipe = tools.recipes.load_recipe(name.strip().lower())
    data = jsonable(recipe)
    result = {"recipe": name.strip().lower(), "title": data.get("title"), "description": data.get("purpose")}
    return ToolOutput(result, {"recipe": result["recipe"], **_replan(ctx, recipe=result["recipe"])})


def import_dataset(ctx: ToolContext, source: str, name: str | None = None) -> ToolOutput:
    """Import the user's clips (a folder, a zip or a file path) into the workspace and check them."""
    report = jsonable(tools.dataset.import_dataset(ctx.user_path(source), name=name,
                                                   recipe=ctx.state.get("recipe"), workspace=ctx.workspace))
    return ToolOutput(report, {"dataset": report, **_replan(ctx, dataset=report)})


def check_dataset(ctx: ToolContext, dataset: str | None = None) -> ToolOutput:
    """Check the dataset (counts, sizes, frames, captions, duplicates) against the chosen recipe."""
    ref = _named_dataset(ctx, dataset) if dataset else _dataset_ref(ctx.state.get("dataset"))
    report = jsonable(tools.dataset.check_dataset(ref, recipe=ctx.state.get("recipe"), workspace=ctx.workspace))
    return ToolOutput(report, {"dataset": report} if not dataset else {})


def caption_preview(ctx: ToolContext, backend: str = "auto", n: int = 3) -> Any:
    """Caption a few clips as a preview for the user to check (the trigger word is added at training)."""
    return tools.caption.caption_preview(_dataset_ref(ctx.state.get("dataset")), backend=backend,
                                         trigger_word=_trigger(ctx), n=n, recipe=ctx.state.get("recipe"),
                                         workspace=ctx.workspace)


def caption_all(ctx: ToolContext, backend: str = "auto", overwrite: bool = False) -> ToolOutput:
    """Caption every clip of the dataset as a background job (needs approval; overwrite replaces existing captions)."""
    job_id = tools.caption.enqueue_caption_job(_dataset_ref(ctx.state.get("dataset")), backend=backend,
                                               trigger_word=_trigger(ctx), overwrite=overwrite,
                                               thread_id=ctx.thread_id, workspace=ctx.workspace)
    return ToolOutput({"job_id": job_id, "status": "queued"}, {"job_ids": [job_id]})


def set_option(ctx: ToolContext, changes: dict[str, str | int | float]) -> ToolOutput:
    """Change training settings, e.g. {"rank": 16, "steps": "+20%", "learning_rate": "2e-4", "frames": 49}.

    Other names: resolution ("768x512"), trigger ("zorbly"), alpha, batch_size, schedule, checkpoint_every, seed.
    """
    if not changes:
        raise LoraportError("Tell me which setting to change, e.g. 'rank 16' or '20% more steps'.")
    names = {key: _setting_key(key) for key in changes}
    config = ctx.state.get("config")
    update = _replan(ctx, strict=True, overrides={**(ctx.state.get("overrides") or {}), **changes})
    new_config = update.get("config")
    if not new_config:  # no plan yet: keep the words; the plan resolves them once recipe and clips are known
        return ToolOutput({"set": changes, "changed": "saved; applied once a recipe and the clips are chosen"},
                          {"overrides": changes})
    # Store what the plan made of each change ("+20%" -> 2400), so a later re-plan does not apply it twice.
    absolute = {key: options.current_value(new_config, names[key]) if names[key] in options.SHOWN else value
                for key, value in changes.items()}
    before = {key: options.current_value(config, names[key]) for key in changes if names[key] in options.SHOWN}
    result = {"set": absolute, "changed": options.describe_diff(options.diff(config, new_config)),
              "before": {k: v for k, v in before.items() if v is not None}}  # what "undo" puts back
    return ToolOutput(result, {**update, "overrides": absolute})


def explain_settings(ctx: ToolContext, setting: str | None = None) -> Any:
    """Explain in plain English one setting (e.g. "rank") or, without a name, every setting of the current plan."""
    plan = ctx.state.get("plan")
    if setting:
        key = _setting_key(setting)
        key = "buckets" if key in ("resolution", "frames") else key
        text = tools.plan.explain.explain_setting(key, recipe=ctx.state.get("recipe"))
        entry = ((plan or {}).get("settings") or {}).get(key)
        if entry:  # this plan's value, where it came from and why
            return {"setting": key, "value": entry["value"], "source": entry["source"],
                    "explanation": f"{text} In your plan: {entry['explanation']}"}
        return {"setting": key, "explanation": text}
    if not plan:
        raise LoraportError("There is no plan yet: choose a recipe and import the clips first.")
    return {"summary": tools.plan.explain.explain(tools.plan.service.Plan.model_validate(plan))}


def estimate(ctx: ToolContext) -> Any:
    """Estimate the training time and the disk the cache and checkpoints will take, for the current plan."""
    est = jsonable(tools.plan.estimate.estimate(_config(ctx), workspace=ctx.workspace))
    return {**est, "summary": estimate_summary(est)}


def launch_training(ctx: ToolContext) -> ToolOutput:
    """Launch training with the current plan on this machine's engine (needs the user's approval)."""
    ref = jsonable(tools.train.launch.launch(_config(ctx), thread_id=ctx.thread_id, workspace=ctx.workspace))
    return ToolOutput(ref, {"job_ids": [ref["job_id"]]})


def job_status(ctx: ToolContext, job_id: str | None = None) -> Any:
    """Show a training job's status: step, loss, speed, ETA, and the LoRA file once it has finished."""
    return tools.train.launch.job_status(_job_id(ctx, job_id), workspace=ctx.workspace)


def cancel_job(ctx: ToolContext, job_id: str | None = None) -> Any:
    """Cancel a training job; it stops at the next step and keeps its checkpoints (needs approval)."""
    return tools.train.launch.cancel_job(_job_id(ctx, job_id), workspace=ctx.workspace)


def suggest_adjustments(ctx: ToolContext) -> Any:
    """Suggest the next run from the latest evaluation (a hypothesis, with the metric that would confirm it)."""
    evaluations = ctx.state.get("evaluations") or []
    if not evaluations:
        raise LoraportError("Nothing evaluated yet: say 'evaluate' once a training run has finished.")
    return tools.evaluate.suggest(_strip(evaluations[-1]))


def retrain_with(ctx: ToolContext, changes: dict[str, str | int | float] | None = None, recipe: str | None = None,
                 job_id: str | None = None) -> ToolOutput:
    """Retrain from an earlier run's config with changes, e.g. {"steps": "+20%"} (needs approval)."""
    proposal = _retrain_proposal(ctx, changes, recipe, job_id)
    ref = jsonable(tools.train.retrain.launch_retrain(proposal, ctx.thread_id, workspace=ctx.workspace))
    config = proposal.config.model_dump(mode="json")
    # The thread's config is now this run's; the old plan (estimate, reasons) no longer describes it.
    return ToolOutput({**ref, "based_on": proposal.based_on, "changes": jsonable(proposal.changes)},
                      {"job_ids": [ref["job_id"]], "config": config, "plan": None})


def export_checkpoint(ctx: ToolContext, job_id: str | None = None) -> Any:
    """Export the earlier checkpoint the evaluation recommends as its own LoRA file beside the run (needs approval)."""
    report = _evaluation(ctx, job_id)
    path = tools.evaluate.export_best(report)
    return {"job_id": report.job_id, "step": report.best_checkpoint, "path": str(path)}


def list_my_loras(ctx: ToolContext, recipe: str | None = None) -> list:
    """List the LoRAs trained in this workspace (newest first), optionally only one recipe's."""
    return answers.my_loras(ctx, recipe)


# -- approval previews: what will happen and what it costs, shown before the user's yes ---------------------

def _launch_preview(ctx: ToolContext) -> str:
    config = _config(ctx)
    return f"Train a new LoRA: {_describe_config(config.model_dump(mode='json'))}. {_estimate_text(ctx, config)}"


def _retrain_preview(ctx: ToolContext, changes=None, recipe=None, job_id=None) -> str:
    proposal = _retrain_proposal(ctx, changes, recipe, job_id)
    return (f"{proposal.summary} New run: {_describe_config(proposal.config.model_dump(mode='json'))}. "
            f"{_estimate_text(ctx, proposal.config)}")


def _export_preview(ctx: ToolContext, job_id=None) -> str:
    report = _evaluation(ctx, job_id)
    chosen, dest = export_target(report)
    loss = f", held-out loss {chosen.holdout_loss:.4f}" if chosen.holdout_loss is not None else ""
    what = f"REPLACING the existing {dest}" if dest.exists() else f"as a new file {dest}"
    return f"Export checkpoint step {chosen.step} of {report.job_id or report.lora_path}{loss}, {what}."


def _caption_preview(ctx: ToolContext, backend="auto", overwrite=False) -> str:
    dataset = ctx.state.get("dataset") or {}
    count = dataset.get("n_files") or "every"
    kept = "REPLACING the existing captions" if overwrite else "keeping captions you already approved or wrote"
    return (f"Caption {count} files of dataset {_dataset_ref(dataset)} with the {backend} captioner as a "
            f"background job, {kept}.")


def _retrain_pin(ctx: ToolContext, changes=None, recipe=None, job_id=None) -> dict[str, Any]:
    return {"changes": changes or {}, "recipe": recipe, "job_id": history.base_job(ctx, recipe=recipe, job_id=job_id)}


def _export_pin(ctx: ToolContext, job_id=None) -> dict[str, Any]:
    return {"job_id": _evaluation(ctx, job_id).job_id}


def _cancel_pin(ctx: ToolContext, job_id=None) -> dict[str, Any]:
    return {"job_id": _job_id(ctx, job_id)}


def _cancel_preview(ctx: ToolContext, job_id=None) -> str:
    return f"Stop job {_job_id(ctx, job_id)} at its next step; its checkpoints are kept and it can be resumed."


# -- helpers ---------------------------------------------------------------------------------------------------

def _replan(ctx: ToolContext, strict: bool = False, **changed: Any) -> dict[str, Any]:
    """Re-run tools.plan.service when recipe and dataset are both known; returns the state keys the plan sets.

    A plan that cannot be made does not undo the step that triggered it (the clips stay imported): the reason
    is kept in ``plan_error`` for the brain to tell. ``strict`` (a user's setting change) raises instead.
    """
    state = {**ctx.state, **changed}
    if not (state.get("recipe") and state.get("dataset")):
        return {}
    try:
        plan = tools.plan.service.plan(state["recipe"], _strip(state["dataset"]),
                                       old_lora=_strip(state.get("old_lora")) or None,
                                       overrides=dict(state.get("overrides") or {}), workspace=ctx.workspace)
    except LoraportError as err:
        if strict:
            raise
        return {"plan_error": err.message}
    data = jsonable(plan)
    return {"config": data.get("config"), "plan": data, "plan_error": None}


def _strip(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored report without the ``summary`` text jsonable() added (the models forbid unknown keys)."""
    return {k: v for k, v in data.items() if k != "summary"} if data else data


def _retrain_proposal(ctx: ToolContext, changes, recipe, job_id):
    """tools.train.retrain's proposal for the run this thread means (the pinned job id after the approval)."""
    base = history.base_job(ctx, recipe=recipe, job_id=job_id)
    return tools.train.retrain.retrain_with(base, changes or {}, workspace=ctx.workspace)


def _evaluation(ctx: ToolContext, job_id: str | None):
    """This thread's latest evaluation (of ``job_id``), as the EvalReport tools.evaluate reads."""
    reports = [e for e in ctx.state.get("evaluations") or [] if not job_id or e.get("job_id") == job_id]
    if not reports:
        raise LoraportError("Nothing evaluated yet: say 'evaluate' once a training run has finished.")
    return tools.evaluate.EvalReport.model_validate(reports[-1])


def _config(ctx: ToolContext):
    config = ctx.state.get("config")
    if not config:
        missing = [w for w, k in (("a recipe", "recipe"), ("the clips", "dataset")) if not ctx.state.get(k)]
        raise LoraportError(f"There is no training plan yet: I still need {' and '.join(missing) or 'a plan'}.")
    return TrainConfig.model_validate(config)


def _named_dataset(ctx: ToolContext, value: str) -> str:
    """A dataset the user named: an id of this workspace, or a folder this surface may read."""
    if "/" not in value and "\\" not in value and (ctx.workspace.datasets_dir / value).is_dir():
        return value
    return str(ctx.user_path(value))


def _dataset_ref(dataset: dict[str, Any] | None) -> str:
    if not dataset:
        raise LoraportError("No dataset yet: give me the folder or zip of your source clips.")
    return str(dataset.get("id") or dataset.get("path"))


def _job_id(ctx: ToolContext, job_id: str | None, kind: str | None = None) -> str:
    """The named job, else this thread's latest (of ``kind``)."""
    job_id = job_id or latest_job(ctx.state, kind)
    if not job_id:
        raise LoraportError("No job in this conversation yet: say 'start' once the plan looks right.")
    return job_id


def _trigger(ctx: ToolContext) -> str | None:
    return (ctx.state.get("overrides") or {}).get("trigger") or options.current_value(
        ctx.state.get("config"), "trigger")


def _setting_key(name: str) -> str:
    """A user's word for a setting -> the glossary's name ("lr" -> learning_rate); resolution/frames stay."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    if key in ("resolution", "size", "frames", "num_frames"):
        return "frames" if "frame" in key else "resolution"
    info = tools.plan.glossary.find_setting(name)
    if info is None:
        known = ", ".join(sorted(tools.plan.glossary.SETTINGS))
        raise LoraportError(f"I don't know a setting called {name!r}. Settings: {known}, resolution, frames.")
    return info.name


def _describe_config(config: dict[str, Any]) -> str:
    parts = [f"recipe {config.get('recipe') or '-'}", f"model {options.current_value(config, 'model')}"]
    parts += [f"{n.replace('_', ' ')} {options.current_value(config, n)}"
              for n in ("rank", "steps", "learning_rate", "resolution", "frames", "trigger")]
    return ", ".join(parts)


def _estimate_text(ctx: ToolContext, config) -> str:
    """Time range and disk from tools.plan.estimate (the plan's own estimate when the config is the plan's)."""
    plan = ctx.state.get("plan") or {}
    if plan.get("estimate") and plan.get("config") == config.model_dump(mode="json"):
        est = plan["estimate"]
    else:
        try:
            est = jsonable(tools.plan.estimate.estimate(config, workspace=ctx.workspace))
        except LoraportError as err:
            return f"No estimate: {err.message}"
    return f"{estimate_summary(est)} {tools.train.disk.check_disk(config, ctx.workspace).summary()}"


def estimate_summary(est: dict[str, Any]) -> str:
    human_range = tools.plan.estimate.human_range
    disk = est.get("disk_mb") or {}
    return (f"Estimate: {human_range(est['seconds_low'], est['seconds_high'])} for {est['steps']} steps "
            f"({est.get('basis')}); disk: cache {disk.get('cache', 0):.0f} MB, checkpoints "
            f"{disk.get('checkpoints', 0):.0f} MB, LoRA {disk.get('lora', 0):.1f} MB.")


TOOLS: list[Tool] = [
    make_tool(inspect_lora), make_tool(list_recipes), make_tool(choose_recipe), make_tool(import_dataset),
    make_tool(check_dataset), make_tool(caption_preview),
    make_tool(caption_all, needs_approval=True, preview=_caption_preview),
    make_tool(set_option), make_tool(explain_settings), make_tool(estimate),
    make_tool(launch_training, needs_approval=True, preview=_launch_preview),
    make_tool(job_status),
    make_tool(cancel_job, needs_approval=True, preview=_cancel_preview, pin=_cancel_pin),
    make_tool(evaluation.evaluate), make_tool(suggest_adjustments),
    make_tool(retrain_with, needs_approval=True, preview=_retrain_preview, pin=_retrain_pin),
    # It writes a file beside the run and replaces an earlier export of the same step: the user says yes first.
    make_tool(export_checkpoint, needs_approval=True, preview=_export_preview, pin=_export_pin),
    make_tool(list_my_loras),
    # Renders on the new base (GPU time on real weights): the user says yes first, as for training.
    make_tool(evaluate_as_is, needs_approval=True, preview=as_is_preview),
    make_tool(answers.check_hardware), make_tool(answers.how_to_use), make_tool(answers.compare_runs),
    # A whole folder of LoRAs: many trainings and evaluations, so one yes for the batch, after its plan.
    make_tool(migrate.migrate_library, needs_approval=True, preview=migrate.migrate_preview),
    make_tool(migrate.migration_status),
]
TOOLS_BY_NAME: dict[str, Tool] = {t.name: t for t in TOOLS}
