"""The next run: an earlier run's resolved config with changes (``{"steps": "+20%"}``), shown before it launches.

``retrain_with`` only proposes: it returns the new config and what changed, old -> new. Launching costs GPU time,
so it happens in ``launch_retrain`` after the user's approval (the agent's approval interrupt, a CLI prompt or a
button). Changes use tools.plan.overrides' syntax (names and aliases of tools.plan.glossary.SETTINGS; absolute,
``+20%``, ``-50%``, ``+500``, ``x1.5``; ``resolution``/``frames``), and relative values apply to the earlier run's
values, not the recipe's: "20% more steps" means 20% more than the run being improved.
"""

import copy
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from core.errors import LoraportError
from core.workspace import Workspace
from tools.plan.glossary import SETTINGS, config_value
from tools.plan.overrides import resolve_overrides
from tools.recipes import bucket_str, parse_bucket
from trainer.config import Bucket, TrainConfig


class Change(BaseModel):
    name: str
    old: Any
    new: Any


class RetrainProposal(BaseModel):
    based_on: str | None = Field(description="The job id of the run being improved (None for a bare run folder).")
    config: TrainConfig = Field(description="The new resolved config: pass it to tools.train.launch after approval.")
    changes: list[Change]
    overrides: dict[str, str]
    summary: str


def retrain_with(job_id_or_report: Any, overrides: dict[str, Any] | None = None, *,
                 workspace: Workspace | None = None) -> RetrainProposal:
    """Propose a retrain of an earlier run with changes, e.g. {"steps": "+20%"}; nothing launches until approved."""
    from tools.evaluate.models import EvalReport, Suggestion

    if isinstance(overrides, Suggestion):
        overrides = overrides.retrain_with
    if not overrides:
        raise LoraportError("no changes given: say what to change, e.g. steps=+20% or rank=16.")
    base_id, config = _base_config(job_id_or_report, EvalReport, workspace or Workspace.from_settings())
    new = apply_overrides(config, overrides)
    changes = config_diff(config, new)
    if not changes:
        raise LoraportError(f"{overrides} leaves the run's settings as they were: nothing to retrain.")
    text = "; ".join(f"{c.name} {_show(c.old)} -> {_show(c.new)}" for c in changes)
    return RetrainProposal(based_on=base_id, config=TrainConfig.model_validate(new), changes=changes,
                           overrides={k: str(v) for k, v in overrides.items()},
                           summary=f"Retrain from {f'job {base_id}' if base_id else 'the run'} with {text}.")


def launch_retrain(proposal: RetrainProposal, thread_id: str | None = None, *, workspace: Workspace | None = None):
    """Queue the approved retrain as a new training job linked to the run it improves; returns its JobRef."""
    from tools.train.launch import launch

    return launch(proposal.config, thread_id, workspace=workspace, parent_job_id=proposal.based_on)


def latest_run(recipe: str | None = None, thread_id: str | None = None, *, workspace: Workspace | None = None) -> str:
    """The id of the latest training run (of a recipe, of a conversation thread): "retrain my style LoRA"."""
    from core.store import open_db

    where, params = "kind = 'train'", []
    if recipe:
        where, params = where + " and recipe = ?", [*params, recipe.lower()]
    if thread_id:
        where, params = where + " and thread_id = ?", [*params, thread_id]
    # A finished run is what "my style LoRA" means; a failed or unfinished one is only a fallback.
    order = "case status when 'finished' then 0 else 1 end, created_at desc, rowid desc"
    rows = list(open_db(workspace or Workspace.from_settings())["jobs"].rows_where(
        where, params, order_by=order, limit=1, select="id"))
    if not rows:
        what = f"{recipe} " if recipe else ""
        raise LoraportError(f"I found no earlier {what}training run to start from: train one first, or name a job id.")
    return rows[0]["id"]


def apply_overrides(config: dict[str, Any] | TrainConfig, overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of a resolved config (JSON) with the changes; relative ones against this config's own values.
    Alpha follows a new rank when it was equal to the old one (alpha = rank: every loader agrees on the scale)."""
    cfg = json.loads(config.model_dump_json()) if isinstance(config, TrainConfig) else copy.deepcopy(config)
    current = {name: config_value(cfg, info.path) for name, info in SETTINGS.items() if info.path}
    current["buckets"] = [bucket_str(Bucket(**b)) for b in cfg["data"]["buckets"]]
    resolved = resolve_overrides(overrides, current)
    for name, value in resolved.items():
        if name == "buckets":
            cfg["data"]["buckets"] = [parse_bucket(b).model_dump() for b in value]
            continue
        *parents, leaf = SETTINGS[name].path
        node = cfg
        for part in parents:
            node = node.setdefault(part, {})
        if name == "rank" and "alpha" not in resolved and node.get("alpha") == node.get("rank"):
            node["alpha"] = float(value)
        node[leaf] = value
    try:
        TrainConfig.model_validate(cfg)
    except ValueError as err:
        raise LoraportError(f"these changes do not make a valid run: {err}") from None
    return cfg


def config_diff(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Settings (glossary names) whose value differs, plus the buckets."""
    out = [Change(name=name, old=config_value(old, info.path), new=config_value(new, info.path))
           for name, info in SETTINGS.items()
           if info.path and config_value(old, info.path) != config_value(new, info.path)]
    if old["data"]["buckets"] != new["data"]["buckets"]:
        fmt = lambda c: [bucket_str(Bucket(**b)) for b in c["data"]["buckets"]]  # noqa: E731
        out.append(Change(name="buckets", old=fmt(old), new=fmt(new)))
    return out


def _base_config(ref: Any, report_cls, workspace: Workspace) -> tuple[str | None, dict[str, Any]]:
    if isinstance(ref, dict) and "verdict" in ref:
        ref = report_cls.model_validate(ref)
    if isinstance(ref, report_cls):
        if ref.job_id and _job_exists(ref.job_id, workspace):
            return _job_config(ref.job_id, workspace)
        if ref.run_dir and (Path(ref.run_dir) / "config.json").is_file():
            return ref.job_id, _read_config(Path(ref.run_dir) / "config.json")
        raise LoraportError("this evaluation is of a LoRA trained elsewhere, so there is no run to retrain: plan a "
                            "new run with `loraport plan` instead.")
    path = Path(str(ref)).expanduser()
    if path.is_dir() and (path / "config.json").is_file():
        return path.name, _read_config(path / "config.json")
    return _job_config(str(ref), workspace)


def _job_exists(job_id: str, workspace: Workspace) -> bool:
    from core.store import open_db

    return bool(open_db(workspace)["jobs"].count_where("id = ?", [job_id]))


def _job_config(job_id: str, workspace: Workspace) -> tuple[str, dict[str, Any]]:
    from core.store import open_db
    from trainer.jobs import get_job

    job = get_job(open_db(workspace), job_id)
    if job.kind != "train":
        raise LoraportError(f"job {job_id} is a {job.kind} job: retrain from a training job's id.")
    return job_id, json.loads(TrainConfig.model_validate(job.config).model_dump_json())


def _read_config(path: Path) -> dict[str, Any]:
    try:
        return json.loads(TrainConfig.model_validate_json(path.read_text()).model_dump_json())
    except ValueError as err:
        raise LoraportError(f"{path} is not a loraport training config ({err}).") from None


def _show(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
