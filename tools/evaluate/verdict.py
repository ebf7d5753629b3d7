"""The verdict (weak | good | over-fit | broken) and the advice, decided from the measurements only.

The step count is never an input to the status: two runs with the same metrics get the same verdict whatever
their labels say. It is used only to word the advice (a weak *long* run wants capacity, not more steps). Every
threshold is a ratio (a share of the base model's loss, a share of the pixel range, a correlation), so it means
the same on the tiny model and on LTX-2.3. Checks run in order of harm: broken, over-fit, weak, good.
- broken: NaN / Inf / all-zero weights, a non-finite or exploding held-out loss, a diverged training loss;
- over-fit: held-out loss rising from its best checkpoint while training loss falls, and/or memorisation
  (generations that copy training clips, or a loss gap between training and held-out clips);
- weak: a small held-out improvement over the base AND a low strength;
- good: otherwise.
"""

import math

from tools.evaluate.models import EvalReport, Suggestion, Verdict

# Loss of the LoRA on held-out clips above twice the base's: the adapter has wrecked the model, not learned.
EXPLODE_RATIO = 2.0
# Training loss in the last fifth of the run over 3x the first fifth: divergence (usually a learning rate too high).
TRAIN_EXPLODE_RATIO = 3.0
# Held-out loss this far (5%) above its best checkpoint: beyond the checkpoint-to-checkpoint noise of a run
# that is still improving (measured on the tiny model: monotone curves within 2%), so the LoRA got worse.
OVERFIT_RISE = 0.05
# ... while the training loss kept falling (2% lower at the end than around the best checkpoint): the classic
# "val up, train down" of the musubi LTX fork, which tells over-fitting from a run that is simply unstable.
TRAIN_FALL = 0.02
# Generations on new / held-out prompts correlate this much more with a training clip than the base's do,
# and reach MEMORISATION_LEVEL overall: the LoRA pastes its training clips into unrelated prompts.
MEMORISATION_GAIN = 0.25
MEMORISATION_LEVEL = 0.9
# The LoRA removes this much more of the base's loss on its training clips than on held-out ones (a share of
# the base loss): memorisation measured by the loss, the generalisation gap. A LoRA that learned the concept
# scores both alike (measured on the tiny model: gap ~0.00 for a 6-clip concept run); two clips trained hard at
# a high learning rate leave a gap of ~0.26-0.28 whatever the schedule. Held-out clips can be a little harder
# even for a good LoRA, hence a bar well above noise.
FIT_GAP = 0.20
# A LoRA that removes under 10% of the base model's held-out loss has barely learned the data ...
WEAK_IMPROVEMENT = 0.10
# ... and one that moves pixels by under 1% of their range (mean over prompts and seeds) barely shows.
WEAK_STRENGTH = 0.01
# A run of at least this many steps is "already long" when no recipe says otherwise: more steps are then
# unlikely to help, capacity (rank) is the next lever.
LONG_RUN_STEPS = 3000
HIGHER_RANK = {4: 8, 8: 16, 16: 32, 32: 64, 64: 128}


def decide(report: EvalReport, *, long_run_steps: int | None = None) -> Verdict:
    """Judge a report from its metrics; evidence lists each measurement that decided it."""
    for check in (_broken, _overfit, _weak):
        verdict = check(report, long_run_steps or LONG_RUN_STEPS)
        if verdict is not None:
            return verdict
    return _good(report)


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def _broken(r: EvalReport, long_run: int) -> Verdict | None:
    evidence = []
    health = r.metrics.get("weight_health")
    if health and health.value == "broken":
        evidence.append("weight_health: " + ("; ".join(health.detail.get("findings", [])) or "broken weights"))
    ho = r.metrics.get("holdout_loss")
    if ho and not ho.skipped:
        if not _finite(ho.value):
            evidence.append(f"holdout_loss: the LoRA's held-out loss is {ho.value} (not a number)")
        elif _finite(ho.base) and ho.value > EXPLODE_RATIO * ho.base:
            evidence.append(f"holdout_loss: {ho.value:.4f} is over {EXPLODE_RATIO:g}x the base's {ho.base:.4f}")
    tl = r.metrics.get("training_loss")
    if tl and not tl.skipped:
        if not tl.detail.get("finite", True):
            evidence.append("training_loss: NaN or Inf in the training losses")
        elif (tl.detail.get("end_over_start") or 0) > TRAIN_EXPLODE_RATIO:
            evidence.append(f"training_loss: the last fifth averages {tl.detail['end_over_start']:.1f}x the first "
                            "fifth (diverged)")
    if not evidence:
        return None
    suggestions = [
        Suggestion(action="Check the run: the dataset's clips decode (loraport dataset check), the captions are "
                          "not empty, and the run used fp32 LoRA weights; then retrain with half the learning rate.",
                   why="; ".join(evidence), retrain_with={"learning_rate": "-50%"},
                   confirm="weight_health is ok (no NaN/Inf/zero layers) and holdout_loss is finite and below the "
                           "base's"),
    ]
    return Verdict(status="broken", evidence=evidence, suggestions=suggestions)


def _overfit(r: EvalReport, long_run: int) -> Verdict | None:
    evidence = []
    trend = r.metrics.get("heldout_trend")
    best_step = None
    if trend and not trend.skipped and _finite(trend.value):
        d = trend.detail
        if trend.value >= OVERFIT_RISE and d.get("train_drop", 0) >= TRAIN_FALL:
            best_step = d["best_step"]
            evidence.append(f"heldout_trend: held-out loss rose {_pct(trend.value)} from its best "
                            f"({d['best_loss']:.4f} at step {d['best_step']}) to {d['final_loss']:.4f} at step "
                            f"{d['final_step']}, while the training loss fell {_pct(d['train_drop'])}")
    mem = r.metrics.get("memorisation")
    if mem and not mem.skipped and _finite(mem.value) and _finite(mem.base):
        gain = mem.value - mem.base
        if gain >= MEMORISATION_GAIN and mem.value >= MEMORISATION_LEVEL:
            evidence.append(f"memorisation: new-prompt generations correlate {mem.value:.2f} with a training clip "
                            f"(base {mem.base:.2f}): the LoRA reproduces its clips")
    fit = r.metrics.get("train_fit")
    gap = fit.detail.get("fit_gap") if fit and not fit.skipped else None
    if _finite(gap) and gap >= FIT_GAP:
        evidence.append(f"train_fit: the LoRA removes {_pct(gap)} more of the base's loss on its training clips "
                        "than on held-out ones: it fits those clips more than the concept")
    if not evidence:
        return None
    return Verdict(status="over-fit", evidence=evidence, suggestions=_overfit_advice(r, best_step))


def _overfit_advice(r: EvalReport, best_step: int | None) -> list[Suggestion]:
    out = []
    pick = r.best_checkpoint if r.best_checkpoint is not None else best_step
    kept = {c.step for c in r.checkpoints}
    if pick is not None and pick in kept and pick != r.steps:
        out.append(Suggestion(action=f"Use the checkpoint at step {pick} instead of the final LoRA (export it: "
                                     f"loraport evaluate ... --export-best).", checkpoint=pick,
                              why=f"it has the lowest held-out loss of the kept checkpoints",
                              confirm="holdout_loss of that checkpoint below the final LoRA's, memorisation lower"))
    if best_step is not None and r.steps:
        out.append(Suggestion(action=f"Retrain with fewer steps ({best_step}, where held-out loss was best).",
                              why="held-out loss was lowest there and rose afterwards",
                              retrain_with={"steps": str(best_step)},
                              confirm="heldout_trend below 5% (held-out loss no longer rises at the end)"))
    else:
        out.append(Suggestion(action="Retrain with 30% fewer steps.", why="the LoRA copies its training clips",
                              retrain_with={"steps": "-30%"}, confirm="memorisation closer to the base's"))
    if (r.rank or 0) > 16:
        out.append(Suggestion(action="Retrain at rank 16: less capacity to memorise single clips.",
                              why="over-fitting with a high-capacity adapter", retrain_with={"rank": "16"},
                              confirm="memorisation and heldout_trend lower at a similar holdout_loss"))
    return out


def _weak(r: EvalReport, long_run: int) -> Verdict | None:
    ho = r.metrics.get("holdout_loss")
    strength = r.metrics.get("strength")
    s = strength.value if strength and not strength.skipped else None
    improvement = ho.detail.get("improvement") if ho and not ho.skipped else None
    small_gain = improvement is None or improvement < WEAK_IMPROVEMENT
    low_strength = s is None or s < WEAK_STRENGTH
    if not (small_gain and low_strength) or (improvement is None and s is None):
        return None
    evidence = []
    if improvement is not None:
        evidence.append(f"holdout_loss: the LoRA removes {_pct(improvement)} of the base model's held-out loss "
                        f"({ho.base:.4f} -> {ho.value:.4f}; under {_pct(WEAK_IMPROVEMENT)} is weak)")
    if s is not None:
        evidence.append(f"strength: generations move {_pct(s)} of the pixel range from the base's at the same "
                        f"seed (under {_pct(WEAK_STRENGTH)} barely shows)")
    return Verdict(status="weak", evidence=evidence, suggestions=_weak_advice(r, long_run))


def _weak_advice(r: EvalReport, long_run: int) -> list[Suggestion]:
    confirm = "holdout_loss improvement over the base above 10% and strength above 1%"
    long = r.steps is not None and r.steps >= long_run
    out = []
    rank = r.rank or 0
    if long and rank in HIGHER_RANK:
        out.append(Suggestion(action=f"Retrain at rank {HIGHER_RANK[rank]}: the run was already long ({r.steps} "
                                     "steps), so more capacity is the next lever.",
                              why="little learned after a long run", retrain_with={"rank": str(HIGHER_RANK[rank])},
                              confirm=confirm))
    out.append(Suggestion(action="Retrain with 20% more steps (LTX-2.3 learns the same data more slowly than LTX-2).",
                          why="the LoRA has barely moved the model", retrain_with={"steps": "+20%"},
                          confirm=confirm))
    return out


def _good(r: EvalReport) -> Verdict:
    evidence = []
    ho = r.metrics.get("holdout_loss")
    if ho and not ho.skipped and ho.detail.get("improvement") is not None:
        evidence.append(f"holdout_loss: {ho.base:.4f} -> {ho.value:.4f} with the LoRA "
                        f"({_pct(ho.detail['improvement'])} of the base model's loss removed)")
    strength = r.metrics.get("strength")
    if strength and not strength.skipped:
        evidence.append(f"strength: generations move {_pct(strength.value)} of the pixel range from the base's")
    trend = r.metrics.get("heldout_trend")
    if trend and not trend.skipped and _finite(trend.value):
        evidence.append(f"heldout_trend: held-out loss at the end is within {_pct(max(trend.value, 0))} of its best")
    suggestions = []
    if r.best_checkpoint is not None and r.best_checkpoint != r.steps:
        suggestions.append(Suggestion(action=f"Compare with the checkpoint at step {r.best_checkpoint}, whose held-out "
                                             "loss was a little lower.", checkpoint=r.best_checkpoint,
                                      why="lowest held-out loss of the kept checkpoints",
                                      confirm="its samples look at least as good at the same seeds"))
    return Verdict(status="good", evidence=evidence, suggestions=suggestions)


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)
