"""Building a training config: from a recipe's plan, or from the defaults (``none``), with the user's flags and
``--set`` overrides on top, validated as a whole. Queueing it is ``tools.train.launch``'s job.
"""

from pathlib import Path

from core.errors import LoraportError
from core.settings import get_settings
from core.workspace import Workspace
from trainer.config import CheckpointConfig, DataConfig, LoraConfig, ModelConfig, OptimConfig, TrainConfig


def build_config(
    recipe: str, dataset: str | Path, *, model: str | None = None, steps: int | None = None,
    rank: int | None = None, lr: float | None = None, trigger: str | None = None,
    checkpoint_every: int | None = None, workspace: Workspace | None = None, sets: dict[str, str] | None = None,
) -> TrainConfig:
    """Resolve a training config from a recipe (or ``none``: the defaults) and the user's overrides: the flags,
    then ``sets`` (``{"targets": "to_q,ff.net.2", "resolution": "768x512"}``, what ``--set`` gives ``plan``), read
    by the one override applier (tools.plan.overrides) whichever way the config is built."""
    settings = get_settings()
    dataset_dir = resolve_dataset(dataset, workspace=workspace)
    sets, set_model = _split_model(sets)
    model_id = set_model or model or settings.default_model
    overrides = {k: v for k, v in {
        "model.id": model_id, "optim.steps": steps, "lora.rank": rank, "lora.alpha": rank,
        "optim.learning_rate": lr, "data.trigger_word": trigger, "checkpoints.every": checkpoint_every,
    }.items() if v is not None}
    if recipe != "none":
        return _planned(recipe, dataset_dir, model_id, {**{name: value for name, value in {
            "steps": steps, "rank": rank, "learning_rate": lr, "trigger": trigger,
            "checkpoint_every": checkpoint_every}.items() if value is not None}, **sets}, workspace)
    from trainer.models import get_model_spec

    spec = get_model_spec(model_id)
    if not spec.tiny:
        _refuse_unrunnable(model_id)
    first = spec.default_buckets[0]
    base = TrainConfig(
        model=ModelConfig(id=model_id, path=settings.model_path, text_encoder_path=settings.text_encoder_path),
        lora=LoraConfig(), optim=OptimConfig(), checkpoints=CheckpointConfig(),
        data=DataConfig(dataset_dir=dataset_dir, buckets=list(spec.default_buckets)),
    )
    if spec.tiny:  # validation samples at the tiny model's own size: noise, but cheap and the same code path
        base.validation = base.validation.model_copy(update={
            "width": first.width, "height": first.height, "frames": first.frames, "inference_steps": 4})
    config = _apply(base, overrides)
    if not sets:
        return config
    from tools.train.retrain import apply_overrides

    return TrainConfig.model_validate(apply_overrides(config, sets))


def _split_model(sets: dict[str, str] | None) -> tuple[dict[str, str], str | None]:
    """``--set model=...`` picks the model (and with it the buckets and the plan's tier), not just a field."""
    from tools.plan.glossary import SETTINGS, find_setting

    rest, model = {}, None
    for key, value in (sets or {}).items():
        info = SETTINGS.get(key.strip().lower()) or find_setting(key)
        if info is not None and info.name == "model":
            model = str(value).strip()
        else:
            rest[key] = value
    return rest, model


def _planned(recipe: str, dataset_dir: Path, model_id: str, overrides: dict,
             workspace: Workspace | None) -> TrainConfig:
    """The recipe's plan, with the flags as the user's overrides (the plan validates and explains them)."""
    from tools.plan.service import plan

    p = plan(recipe, dataset_dir, overrides=overrides, model_id=model_id, workspace=workspace)
    _refuse_wrong_weights(p.requested_model)
    if p.model_id != p.requested_model:  # the plan may offer the tiny twin; training never silently swaps it in
        raise _cannot_train(p.requested_model, p.tier_reason, p.model_id)
    if p.memory is not None and not p.memory.fits:
        raise LoraportError(f"{p.requested_model} does not fit this GPU with these settings: "
                            f"{' '.join(p.memory.reasons)}")
    if p.tier != "demo" and p.config.model.path is None:
        raise _no_weights(p.model_id)
    return p.config


def _refuse_unrunnable(model_id: str) -> None:
    """A real model needs a CUDA GPU that can hold it and local weights: say which is missing, offer the tiny."""
    from tools.plan.hardware import detect_hardware, pick_tier
    from tools.plan.versions import weights_for

    _refuse_wrong_weights(model_id)
    tier = pick_tier(detect_hardware(), model_id)
    if tier.fallback:
        raise _cannot_train(model_id, tier.reason, tier.model_id)
    if weights_for(model_id)[0] is None:
        raise _no_weights(model_id)


def _refuse_wrong_weights(model_id: str) -> None:
    """Weights that are set but cannot load as ``model_id`` (a LoRA, another version, a missing shard) stop the
    run before it is queued, on any machine."""
    from tools.plan.versions import weights_problem

    problem = weights_problem(model_id)
    if problem:
        raise LoraportError(problem)


def _cannot_train(model_id: str, reason: str, tiny: str) -> LoraportError:
    """``model_id`` cannot train on this machine: the tier's reason (without its fallback sentence), and the tiny
    model to try the flow with instead."""
    return LoraportError(f"{model_id} cannot train here. {reason.split(' Here,')[0]} To try the whole flow on this "
                         f"machine instead, train the tiny model: --model {tiny} (its output is noise).")


def _no_weights(model_id: str) -> LoraportError:
    from tools.plan.versions import tiny_twin
    from trainer.models import get_model_spec

    setting = get_model_spec(model_id).weights_setting()
    return LoraportError(f"{model_id} needs its weights on this machine: set {setting} to a "
                         "diffusers-format folder or Lightricks' single .safetensors file; nothing is downloaded. "
                         f"Without weights, --model {tiny_twin(model_id)} trains the tiny model.")


def _apply(config: TrainConfig, overrides: dict) -> TrainConfig:
    """Set ``section.field`` values on a config and validate the result as a whole (flags win over a recipe)."""
    data = config.model_dump()
    for dotted, value in overrides.items():
        section, name = dotted.split(".")
        data[section][name] = value
    try:
        return TrainConfig.model_validate(data)
    except ValueError as err:
        raise LoraportError(f"these settings do not fit together: {err}") from None


def resolve_dataset(dataset: str | Path, *, workspace: Workspace | None = None) -> Path:
    """A folder path, or the id of a dataset imported into the workspace."""
    path = Path(dataset).expanduser()
    if path.is_dir():
        return path.resolve()
    if "/" not in str(dataset) and not str(dataset).startswith("."):
        candidate = (workspace or Workspace.from_settings()).dataset_dir(str(dataset))
        if candidate.is_dir():
            return candidate
    raise LoraportError(f"dataset {str(dataset)!r} is neither a folder nor a dataset id of this workspace: "
                        "pass a folder of clips, or import one with `loraport dataset import`.")
