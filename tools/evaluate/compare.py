"""Optional: the old LoRA on its own (old) model next to the LoRA on the new one, same prompts and seeds.

Any pair of versions works when the old model's weights are on this machine: LTX-2 from ``ltx2_model_path``
(``LORAPORT_LTX2_MODEL_PATH``), LTX-2.3 from ``model_path``, LTX-2.5 from ``ltx25_model_path``; the tiny twins
need none. Otherwise the report says which one is missing. Nothing is downloaded.
"""

from pathlib import Path

from core.errors import LoraportError
from tools.evaluate.models import Comparison, EvalReport

_SETTING = {"ltx-2": "LORAPORT_LTX2_MODEL_PATH", "ltx-2.3": "LORAPORT_MODEL_PATH",
            "ltx-2.5": "LORAPORT_LTX25_MODEL_PATH"}


def ltx2_weights() -> Path | None:
    from core.settings import get_settings

    path = get_settings().ltx2_model_path
    return Path(path).expanduser() if path else None


def old_model_config(old_model: str):
    """A ModelConfig for ``old_model`` with its local weights, or a sentence saying why it cannot be had."""
    from tools.plan.versions import weights_for
    from trainer.config import ModelConfig
    from trainer.models import get_model_spec

    spec = get_model_spec(old_model)
    path, te = weights_for(old_model)
    if old_model == "ltx-2":  # no fallback to model_path (2.3's); the Gemma 3 text encoder setting is shared
        path = ltx2_weights()
    if not spec.tiny and (path is None or not Path(path).expanduser().exists()):
        name = old_model.upper()
        return (f"{name} weights are not on this machine (set {_SETTING.get(old_model, 'its model path')} to a "
                f"local diffusers folder of {name} to render the old LoRA on its own model)")
    return ModelConfig(id=old_model, path=path, text_encoder_path=te)


def old_model_for(old_lora: str | Path | None, new_model: str) -> str:
    """The registry id of the model ``old_lora`` was made for, as the inspector finds it (its tiny twin when the
    new model is tiny); LTX-2, the model loraport migrates from, when the file does not say."""
    if old_lora is None or not Path(old_lora).is_file():
        return "ltx-2"
    from tools.inspect import inspect_lora
    from trainer.models import get_model_spec, list_model_ids

    base = inspect_lora(old_lora, header_only=True).base_model
    tiny = base.variant == "tiny" or get_model_spec(new_model).tiny
    found = f"tiny-{base.family}" if tiny else base.family
    return found if found in list_model_ids() else "ltx-2"


def compare_old(old_lora: str | Path | None, report: EvalReport, *, components_dir: Path,
                old_model: str = "ltx-2") -> Comparison:
    """Render the report's prompts with the old LoRA on ``old_model``; pairs old clip -> the report's LoRA clip."""
    if old_lora is None:
        return Comparison(skipped="no old LoRA given (pass old_lora= to compare old-on-old with new-on-new)")
    if not Path(old_lora).is_file():
        return Comparison(skipped=f"the old LoRA {old_lora} is not a file")
    cfg = old_model_config(old_model)
    if isinstance(cfg, str):
        return Comparison(skipped=cfg, old_model=old_model)
    from trainer.models import load_components
    from trainer.sample import generate

    try:
        components = load_components(cfg)
    except LoraportError as err:
        return Comparison(skipped=f"{old_model} could not be loaded: {err}", old_model=old_model)
    pairs = []
    size = dict(report.render_size)
    steps = size.pop("steps", None)
    for i, sample in enumerate(report.samples):
        old = generate(components, sample.prompt, lora_path=Path(old_lora), seed=sample.seed,
                       out_dir=components_dir, name=f"old-p{i}-s{sample.seed}", steps=steps, **size)
        pairs.append({"prompt": sample.prompt, "seed": str(sample.seed), "old_mp4": str(old.mp4_path),
                      "old_sheet": str(old.sheet_path), "new_mp4": sample.lora_mp4, "new_sheet": sample.lora_sheet})
    return Comparison(done=True, pairs=pairs, old_model=old_model)
