"""Try before retraining: an old LoRA, as it is, on a new base model, beside the new base alone.

A 2.3 LoRA has 2.5's keys and shapes, so it loads; whether it still does its job there is a measurement, not a
rule (Lightricks: a LoRA works only with its own model; users: many 2.3 character LoRAs still work on 2.5, IC-LoRAs
do not). This renders the user's prompts on the new base with and without the LoRA (same prompts, same seeds),
measures its strength and its held-out flow loss there, and, when the old model's weights are here too, the same
loss on the old model (how much of its effect it keeps) and the old-on-old renders. The verdict:
- "it still works: no retrain needed": on the new base it removes at least ``WORKS_IMPROVEMENT`` of the base's
  held-out loss, visibly changes the renders (strength >= ``WORKS_STRENGTH``), and keeps at least ``KEEP_SHARE``
  of the improvement it had on its own model where that was measured;
- "retrain": any of those fails, or the file is an IC-LoRA, broken, or built for another architecture;
- "undecided": the loss could not be measured (no clip to measure on); nothing is claimed.
"""

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from core.workspace import Workspace
from tools.evaluate.models import EvalReport
from tools.evaluate.verdict import WEAK_IMPROVEMENT, WEAK_STRENGTH

WORKS_IMPROVEMENT = WEAK_IMPROVEMENT  # the bar a freshly trained LoRA must clear not to be called weak
WORKS_STRENGTH = WEAK_STRENGTH
KEEP_SHARE = 0.5  # keeps at least half of the held-out improvement it had on the model it was trained on
HEADLINES = {"works": "it still works: no retrain needed", "retrain": "retrain",
             "undecided": "undecided: nothing to measure it on"}


class AsIsReport(BaseModel):
    """The as-is test: the old LoRA on the new base vs the new base alone, and the verdict with its evidence."""

    lora_path: str
    trained_on: str = Field(description="The model family the inspector found the LoRA was made for.")
    target: str = Field(description="The model id it was tested on.")
    old_model: str | None = Field(None, description="The model id the old-on-old measurements used, if any.")
    verdict: Literal["works", "retrain", "undecided"]
    headline: str
    evidence: list[str]
    improvement: float | None = Field(None, description="Share of the new base's held-out loss the LoRA removes.")
    old_improvement: float | None = Field(None, description="The same on the model it was trained on.")
    strength: float | None = None
    evaluation: EvalReport = Field(description="The full evaluation on the new base: samples with and without it.")
    summary: str = ""


def evaluate_as_is(lora: str | Path, dataset: str | Path | None = None, *, model: str = "ltx-2.5",
                   old_model: str | None = None, seeds: Sequence[int] = (42,), sample_steps: int | None = None,
                   out_dir: Path | None = None, on_progress: Callable[[str], None] | None = None,
                   workspace: Workspace | None = None) -> AsIsReport:
    """Does this LoRA still work on ``model`` as it is? Renders and measures it there; says works or retrain."""
    workspace = workspace or Workspace.from_settings()
    from tools.evaluate.service import evaluate
    from tools.inspect import inspect_lora
    from tools.inspect.safetensors_header import read_header, resolve_source

    header = read_header(resolve_source(lora).weights)  # read once: inspection, run config and health share it
    found = inspect_lora(lora, target=model, header_only=True, header=header)
    old_model = old_model or own_model(found.base_model.family, found.base_model.variant, model)
    ev = evaluate(lora, dataset, checkpoints=False, out_dir=out_dir, seeds=seeds, sample_steps=sample_steps,
                  old_lora=lora if old_model else None, old_model=old_model or "ltx-2", model=model,
                  on_progress=on_progress, workspace=workspace, header=header)
    old_imp = _old_improvement(lora, dataset, old_model, on_progress, workspace, header) if old_model else None
    verdict, evidence = decide_as_is(found, ev, old_imp, old_model)
    imp = _improvement(ev)
    report = AsIsReport(lora_path=str(lora), trained_on=found.base_model.family, target=model, old_model=old_model,
                        verdict=verdict, headline=HEADLINES[verdict], evidence=evidence, improvement=imp,
                        old_improvement=old_imp, strength=ev.value("strength"), evaluation=ev)
    report.summary = (f"{Path(str(lora)).name} as it is on {model}: {report.headline}.\n"
                      + "\n".join(f"- {e}" for e in evidence))
    return report


def own_model(family: str, variant: str | None, target: str) -> str | None:
    """The registry id of the model the LoRA was made for, tiny when the test runs on a tiny model."""
    from trainer.models import get_model_spec, list_model_ids

    if family not in ("ltx-2", "ltx-2.3", "ltx-2.5") or family == target.removeprefix("tiny-"):
        return None
    tiny = get_model_spec(target).tiny or variant == "tiny"
    candidate = f"tiny-{family}" if tiny else family
    return candidate if candidate in list_model_ids() else None


def _improvement(ev: EvalReport) -> float | None:
    for name in ("holdout_loss", "train_fit"):  # held-out clips first; the training clips when none is held out
        m = ev.metrics.get(name)
        if m is not None and not m.skipped and m.detail.get("improvement") is not None:
            return float(m.detail["improvement"])
    return None


def _old_improvement(lora, dataset, old_model: str, note, workspace: Workspace, header=None) -> float | None:
    """The LoRA's held-out improvement on its own model, when that model's weights are here (else None)."""
    from core.errors import LoraportError
    from tools.evaluate import metrics as M
    from tools.evaluate.compare import old_model_config
    from tools.evaluate.source import resolve
    from trainer.data import prepare_dataset
    from trainer.losses import holdout_loss
    from trainer.models import load_components

    cfg = old_model_config(old_model)
    if isinstance(cfg, str):
        return None
    (note or (lambda m: None))(f"measuring it on {old_model}")
    try:
        src = resolve(lora, dataset, old_model, workspace=workspace, header=header)
        components = load_components(cfg)
    except LoraportError:
        return None
    data = prepare_dataset(src.config.model_copy(update={"model": cfg}), components,
                           workspace.cache_dir(cfg.id))
    items = data.holdout or data.train[:4]
    if not items:
        return None
    base, with_lora = holdout_loss(components, items), holdout_loss(components, items, Path(str(lora)))
    return M.relative_improvement(base, with_lora) if M.finite(with_lora) else None


def decide_as_is(found, ev: EvalReport, old_imp: float | None, old_model: str | None) -> tuple[str, list[str]]:
    """works | retrain | undecided, from the inspection and the measurements; each reason is listed."""
    target, fam = ev.model_id, found.base_model.family
    evidence, fail = [], False
    if ev.value("weight_health") == "broken" or found.health.status == "broken":
        evidence.append("weight_health: the file's weights are broken (NaN, Inf or all-zero layers)")
        fail = True
    if found.verdict.status == "incompatible":
        evidence.append(f"inspect: it was made for {fam}, another architecture: its layers do not exist in {target}")
        fail = True
    if found.ic_lora:
        evidence.append("inspect: it is an IC-LoRA; users report 2.3 IC-LoRAs do not work on LTX-2.5")
        fail = True
    imp, strength = _improvement(ev), ev.value("strength")
    if imp is None:
        evidence.append("holdout_loss: not measured (no clip to measure on): pass --dataset with a few of your clips")
        return ("retrain" if fail else "undecided"), evidence
    word = "removes" if imp >= 0 else "adds"
    ok_loss = imp >= WORKS_IMPROVEMENT
    evidence.append(f"holdout_loss on {target}: it {word} {abs(imp) * 100:.1f}% of the base's loss "
                    f"({'at or above' if ok_loss else 'below'} the {WORKS_IMPROVEMENT * 100:.0f}% a working LoRA "
                    "clears)")
    ok_strength = strength is not None and strength >= WORKS_STRENGTH
    if strength is not None:
        evidence.append(f"strength on {target}: it moves the renders by {strength * 100:.2f}% of the pixel range vs "
                        f"{target} alone, same prompts and seeds ({'visible' if ok_strength else 'barely visible'}; "
                        f"the bar is {WORKS_STRENGTH * 100:.0f}%)")
    ok_keep = True
    if old_imp is not None and old_model:
        ok_keep = old_imp <= 0 or imp >= KEEP_SHARE * old_imp
        if old_imp <= 0:
            evidence.append(f"on its own model {old_model} it did not lower the held-out loss either "
                            f"({-old_imp * 100:.1f}% worse): there is no effect to keep")
        else:
            evidence.append(f"on its own model {old_model} it removes {old_imp * 100:.1f}% of the loss: on {target} "
                            f"it keeps {'at least' if ok_keep else 'less than'} {KEEP_SHARE * 100:.0f}% of that")
    works = not fail and ok_loss and ok_strength and ok_keep
    return ("works" if works else "retrain"), evidence
