"""The plan: recipe + dataset + hardware + old LoRA + user overrides -> one TrainConfig, every value explained.

Resolution runs in a fixed order, each layer overriding the one before and saying so in the value's ``source``:
recipe -> dataset (steps, frames, buckets that fit the clips) -> old_lora (rank, trigger, steps, resolution) ->
hardware (low-VRAM variant, tiny buckets for the demo model) -> user (``rank=16``, ``steps=+20%``). Alpha follows
the rank unless the user sets it. Nothing here launches anything.
"""

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from core.errors import LoraportError
from core.settings import get_settings
from core.workspace import Workspace
from tools.plan.estimate import Estimate, estimate
from tools.plan import sound
from tools.plan.glossary import SETTINGS
from tools.plan.fit import fit_memory
from tools.plan.hardware import Hardware, TierChoice, detect_hardware, pick_tier, planned_hardware
from tools.plan.memory import MemoryPlan
from tools.plan.overrides import resolve_overrides
from tools.plan.inputs import DatasetFacts, OldLoraFacts, dataset_facts, old_lora_facts
from tools.plan.rules import adapt_buckets, dataset_warnings, tiny_buckets
from tools.plan.sampling import set_sampling
from tools.plan.versions import check_weights_setting, version_notes, weights_for
from tools.recipes import Recipe, load_recipe, parse_bucket
from trainer.config import TrainConfig

Source = Literal["recipe", "dataset", "old_lora", "hardware", "user"]
_MODEL_KEYS = ("model", "model.id", "model_id", "base_model", "base model", "base")


class Setting(BaseModel):
    value: Any
    source: Source
    explanation: str = Field(description="Why this value, in plain English.")
    citation: str | None = Field(None, description="Where the recipe's value comes from.")


class SettingChange(BaseModel):
    name: str
    old: Any
    new: Any
    source: Source


class Plan(BaseModel):
    recipe: str
    recipe_title: str
    model_id: str
    requested_model: str
    tier: str
    tier_reason: str
    hardware: Hardware
    dataset: DatasetFacts
    config: TrainConfig
    settings: dict[str, Setting]
    estimate: Estimate
    real_buckets: list[str] = Field(description="Buckets a real LTX-2.3 run on this recipe would use.")
    warnings: list[str] = Field(default_factory=list)
    recommendations: list[str] = Field(default_factory=list, description="What to add or fix for a better LoRA.")
    ready: bool = Field(True, description="False when the dataset is too small for the recipe's minimum.")
    memory: MemoryPlan | None = Field(None, description="Predicted GPU memory per phase and the techniques chosen "
                                      "to fit it (vram_gib, peak_gib, fits, phases, techniques, reasons).")
    model_notes: list[str] = Field(default_factory=list, description="What differs for the chosen target model "
                                   "from LTX-2.3 (empty for 2.3 itself).")

    def diff(self, other: "Plan") -> list[SettingChange]:
        """Settings whose value differs in ``other`` (this plan -> other), with the other's source."""
        out = []
        for name, new in other.settings.items():
            old = self.settings.get(name)
            if old is None or old.value != new.value:
                out.append(SettingChange(name=name, old=old.value if old else None, new=new.value,
                                         source=new.source))
        return out


class _Values:
    """The settings being resolved: each write records who set it and why."""

    def __init__(self) -> None:
        self.s: dict[str, Setting] = {}

    def set(self, name: str, value: Any, source: Source, why: str, citation: str | None = None) -> None:
        self.s[name] = Setting(value=value, source=source, explanation=why, citation=citation)

    def value(self, name: str) -> Any:
        return self.s[name].value


def plan(recipe: str | Recipe, dataset: Any, *, hardware: Hardware | None = None, old_lora: Any = None,
         overrides: dict[str, Any] | None = None, model_id: str | None = None,
         calibrate: bool | None = None, vram_gb: float | None = None, workspace: Workspace | None = None) -> Plan:
    """Resolve a training plan: every setting with its value, where it came from, and why; plus time and disk.

    ``vram_gb`` plans for a GPU of that size instead of this machine's (no weights or GPU needed)."""
    recipe = load_recipe(recipe) if isinstance(recipe, str) else recipe
    overrides = dict(overrides or {})
    asked = [overrides.pop(k) for k in list(overrides) if k.strip().lower() in _MODEL_KEYS]  # it picks the tier
    model_id = str(asked[0]) if asked else model_id
    facts = dataset_facts(dataset, recipe.name)
    old = old_lora_facts(old_lora)
    hw = hardware or detect_hardware()
    if vram_gb is not None:
        hw = planned_hardware(vram_gb, hw)
    from trainer.models import get_model_spec

    get_model_spec(model_id or get_settings().default_model)  # an unknown id is an error listing the known ones
    tier = pick_tier(hw, model_id or get_settings().default_model)
    v = _Values()
    _model_setting(v, tier, chosen=bool(model_id))
    _from_recipe(v, recipe, tier)
    _from_dataset(v, recipe, facts)
    warnings = [tier.reason] if tier.fallback else []
    if old is not None:
        _from_old_lora(v, recipe, old, tier)
        sound.from_old_lora(v, recipe, old, facts)
    _from_hardware(v, recipe, tier)
    set_sampling(v, tier.model_id)
    _from_user(v, overrides)
    _derived(v, recipe, facts)
    sound.derived(v)
    memory = fit_memory(v, recipe, tier, hw)
    config = _to_config(v, recipe, tier)
    recs, ready = dataset_warnings(recipe, facts)
    warnings += _plan_warnings(recipe, tier, old, v)
    wrong_weights, weights_note = check_weights_setting(tier.requested_model)  # headers only, no GPU needed
    warnings += [wrong_weights] if wrong_weights else []
    heard, sound_ready = sound.sound_warnings(v, facts, old)
    warnings, ready = warnings + heard, ready and sound_ready
    if not memory.fits:
        warnings.append(" ".join(memory.reasons))
    notes = version_notes(tier.requested_model, old.family if old else None, bool(old and old.ic))
    notes += [weights_note] if weights_note else []
    est = estimate(config, hw, n_items=max(1, facts.n_items), calibrate=calibrate, workspace=workspace)
    # The tier was picked at the recipe's own bucket; once the user's resolution, frames or rank are in, the
    # memory step's reasons are what this plan will really use on this GPU.
    final = tier.tier != "demo" and not tier.fallback and memory.reasons
    reason = f"{hw.name}: {' '.join(memory.reasons)}" if final else tier.reason
    return Plan(recipe=recipe.name, recipe_title=recipe.title, model_id=tier.model_id,
                requested_model=tier.requested_model, tier=tier.tier, tier_reason=reason, hardware=hw,
                dataset=facts, config=config, settings=v.s, estimate=est,
                real_buckets=_real_buckets(recipe, tier), warnings=warnings, recommendations=recs, ready=ready,
                memory=memory, model_notes=notes)


def _model_setting(v: _Values, tier: TierChoice, chosen: bool) -> None:
    if tier.fallback:
        v.set("model", tier.model_id, "hardware", f"You asked for {tier.requested_model}, which this machine cannot "
              "train; the tiny demo model runs the same flow here.")
    elif chosen:
        v.set("model", tier.model_id, "user", f"You chose {tier.model_id}. {tier.reason}")
    else:
        v.set("model", tier.model_id, "recipe", f"loraport's default model (setting default_model). {tier.reason} "
              "For a real LoRA, plan with --model ltx-2.3 and local weights (LORAPORT_MODEL_PATH).")


def _why(choice) -> str:
    return f"{choice.why} {choice.change}"


def _from_recipe(v: _Values, recipe: Recipe, tier: TierChoice) -> None:
    for name, choice in recipe.settings.items().items():
        v.set(name, choice.value, "recipe", _why(choice), choice.source)
    if recipe.ic is not None:
        c = recipe.ic.reference_suffix
        v.set("reference_suffix", c.value, "recipe", f"{_why(c)} {recipe.ic.reference_guidance}", c.source)
    t = recipe.tiers.standard
    v.set("buckets", list(t.buckets), "recipe", f"{t.why} {t.change}", t.source)
    v.set("validation_prompts", list(recipe.validation.prompts), "recipe", recipe.validation.why,
          recipe.validation.source)


def _from_dataset(v: _Values, recipe: Recipe, facts: DatasetFacts) -> None:
    rule = recipe.steps
    steps = rule.steps_for(facts.n_videos, facts.n_images)
    v.set("steps", steps, "dataset",
          f"{facts.n_videos} clip(s) and {facts.n_images} image(s): the recipe's rule gives {rule.base} steps at "
          f"{rule.reference_items} items, {rule.per_item:g} per item more or less (images count "
          f"{rule.image_weight:g}), kept within {rule.min}-{rule.max}. {rule.why} {rule.change}", rule.source)
    v.set("dataset", facts.path, "dataset", "The dataset this plan was made for.")
    buckets, why = adapt_buckets(v.value("buckets"), facts)
    if why:
        v.set("buckets", buckets, "dataset", why)


def _from_old_lora(v: _Values, recipe: Recipe, old: OldLoraFacts, tier: TierChoice) -> None:
    src = f"your old LoRA ({Path(old.path).name if old.path else 'inspected file'})"
    if old.rank:
        note = "" if old.rank == recipe.settings.rank.value else (
            f" The {recipe.name} recipe would start at {recipe.settings.rank.value}.")
        v.set("rank", old.rank, "old_lora", f"Carried over from {src}, which was trained at rank {old.rank}, so "
              f"the new LoRA has the same capacity and file size.{note}")
    if old.trigger:
        v.set("trigger", old.trigger, "old_lora", f"Carried over from {src}: prompts written for the old LoRA "
              f"keep working with '{old.trigger}'.")
    if old.steps:
        rule = v.value("steps")
        if old.steps >= rule:
            v.set("steps", min(old.steps, recipe.steps.max * 2), "old_lora",
                  f"Carried over from {src} ({old.steps} steps; the recipe's rule for this dataset gives {rule}). "
                  "LTX-2.3 learns the same data more slowly than LTX-2, so treat this as a floor: checkpoints "
                  "let the evaluation pick the best step, and a weak result means more steps, not a failure.")
        else:
            v.s["steps"].explanation += (f" Your old LoRA trained {old.steps} steps; this is more, because "
                                         "LTX-2.3 learns more slowly than LTX-2 and the dataset asks for it.")
    if old.resolution and tier.tier in ("standard", "low_vram", "demo"):
        _carry_resolution(v, old, src, tier)


def _carry_resolution(v: _Values, old: OldLoraFacts, src: str, tier: TierChoice) -> None:
    w, h = (max(32, round(x / 32) * 32) for x in old.resolution)
    longest = max(parse_bucket(b).frames for b in v.value("buckets"))  # already fitted to the clips
    frames = min(old.frames, longest) if old.frames and old.frames % 8 == 1 else longest
    bucket = f"{w}x{h}x{frames}"
    parse_bucket(bucket)
    rest = [b for b in v.value("buckets") if b != bucket and parse_bucket(b).width * parse_bucket(b).height
            <= w * h]
    v.set("buckets", [bucket, *rest], "old_lora",
          f"Carried over from {src}: it was trained at {old.resolution[0]}x{old.resolution[1]}"
          f"{f' x {old.frames} frames' if old.frames else ''}, so clips are seen at the size the old LoRA learned "
          "them (rounded to multiples of 32, frames 8k+1); the recipe's other buckets no larger than it are kept.")


def _from_hardware(v: _Values, recipe: Recipe, tier: TierChoice) -> None:
    if tier.tier in ("standard", "low_vram"):
        return  # the memory step (tools.plan.fit) chooses techniques once the buckets and rank are final
    if tier.tier in ("demo", "cannot_train"):
        real = v.value("buckets")
        v.set("buckets", tiny_buckets(real), "hardware" if tier.fallback else "recipe",
              f"The tiny demo model trains at tiny sizes so a run takes seconds on a CPU; a real LTX-2.3 run "
              f"would use {', '.join(real)}.")
        v.set("validation_steps", 4, "hardware" if tier.fallback else "recipe", "The tiny model's samples are "
              "noise whatever the step count, so 4 denoising steps show the flow without the cost of 30.")


def _from_user(v: _Values, overrides: dict[str, Any] | None) -> None:
    if not overrides:
        return
    current = {k: s.value for k, s in v.s.items()}
    for name, value in resolve_overrides(overrides, current).items():
        old = current.get(name)
        v.set(name, value, "user", f"You set this (was {_fmt(old)} from the {v.s[name].source if name in v.s else 'defaults'}).")


def _derived(v: _Values, recipe: Recipe, facts: DatasetFacts) -> None:
    """Values that follow others: alpha = rank, prompts use the trigger, checkpoints fit the step count."""
    rank = v.s["rank"]
    if v.s["alpha"].source != "user" and v.value("alpha") != rank.value:
        v.set("alpha", float(rank.value), rank.source, f"Kept equal to the rank ({rank.value}) so the LoRA's "
              "scale is 1 in every loader (ComfyUI, diffusers, Lightricks').")
    trig = v.value("trigger")
    if v.s["validation_prompts"].source != "user":
        v.s["validation_prompts"].value = [p.replace("{trigger}", trig) for p in v.value("validation_prompts")]
    steps = v.value("steps")
    every = v.value("checkpoint_every")
    if v.s["checkpoint_every"].source != "user" and steps // every < 4:
        new = max(10, (steps // 4) // 10 * 10)
        v.set("checkpoint_every", new, "dataset", f"A quarter of the {steps} steps, so the run leaves about four "
              "checkpoints to compare (likeness often peaks before the last step).")
        if v.s["validation_every"].source != "user" and v.value("validation_every"):
            v.set("validation_every", new, "dataset", "Samples at every checkpoint, to see where it peaks.")
    if v.value("warmup_steps") >= steps:
        v.set("warmup_steps", 0, "dataset", f"Warmup must be shorter than the {steps} steps, so it is off.")
    first = parse_bucket(v.value("buckets")[0])
    v.set("validation_size", f"{first.width}x{first.height}x{first.frames}", v.s["buckets"].source,
          "Validation samples use the first bucket's size, so they show what training sees.")


def _fmt(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def _to_config(v: _Values, recipe: Recipe, tier: TierChoice) -> TrainConfig:
    tree: dict[str, Any] = {"recipe": recipe.name, "model": {"id": tier.model_id}, "data": {}}
    for name, s in v.s.items():
        info = SETTINGS.get(name)
        if info is None or info.path is None:
            continue
        node = tree
        for key in info.path[:-1]:
            node = node.setdefault(key, {})
        node[info.path[-1]] = s.value
    buckets = [parse_bucket(b) for b in v.value("buckets")]
    tree["data"]["buckets"] = [b.model_dump() for b in buckets]
    tree.setdefault("validation", {}).update(width=buckets[0].width, height=buckets[0].height,
                                             frames=buckets[0].frames)
    path, te = weights_for(tier.model_id)
    if path is not None or te is not None:
        tree["model"].update(path=path, text_encoder_path=te)
    try:
        return TrainConfig.model_validate(tree)
    except ValidationError as err:
        first = err.errors()[0]
        raise LoraportError(f"the plan does not make a valid training config: "
                            f"{'.'.join(map(str, first['loc']))}: {first['msg']}. Change that setting.") from None


def _real_buckets(recipe: Recipe, tier: TierChoice) -> list[str]:
    t = recipe.tiers.low_vram if tier.tier == "low_vram" else recipe.tiers.standard
    return list(t.buckets)


def _plan_warnings(recipe: Recipe, tier: TierChoice, old: OldLoraFacts | None, v: _Values) -> list[str]:
    out = []
    if tier.tier in ("demo", "cannot_train"):
        out.append(f"This plan trains the tiny demo model ({tier.model_id}): its samples are noise. It shows the "
                   "whole flow; a real LoRA needs the ltx-2.3 model on a GPU.")
    if old is not None and old.family in ("ltx-2", "ltx-2.x"):
        out.append("LTX-2.3 learns the same data more slowly than LTX-2 (community reports): do not expect the old "
                   f"step count ({old.steps or 'unknown'}) to be enough; compare the checkpoints before deciding.")
    if old is not None and old.health == "broken":
        out.append("The old LoRA's weights are broken (NaN or all-zero): its training settings may be wrong too; "
                   "check the rank and steps carried over.")
    if old is not None and old.recipe and old.recipe != recipe.name:
        out.append(f"The inspection of the old LoRA suggested the {old.recipe} recipe; this plan uses {recipe.name}.")
    return out
