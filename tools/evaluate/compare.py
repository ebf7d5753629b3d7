"""Optional: the old LoRA on LTX-2 next to the new LoRA on LTX-2.3, same prompts and seeds.

Only when the user still has both the old LoRA and LTX-2's weights (a local folder, setting ``ltx2_model_path``
/ ``LORAPORT_LTX2_MODEL_PATH``); otherwise the report says which one is missing. Nothing is downloaded.
"""

from pathlib import Path

from tools.evaluate.models import Comparison, EvalReport


def ltx2_weights() -> Path | None:
    from core.settings import get_settings

    path = get_settings().ltx2_model_path
    return Path(path).expanduser() if path else None


def compare_old(old_lora: str | Path | None, report: EvalReport, *, components_dir: Path) -> Comparison:
    """Render the report's prompts with the old LoRA on LTX-2; pairs old clip -> the new LoRA's clip."""
    if old_lora is None:
        return Comparison(skipped="no old LoRA given (pass old_lora= to compare old-on-old with new-on-new)")
    if not Path(old_lora).is_file():
        return Comparison(skipped=f"the old LoRA {old_lora} is not a file")
    weights = ltx2_weights()
    if weights is None or not weights.exists():
        return Comparison(skipped="LTX-2 weights are not on this machine (set LORAPORT_LTX2_MODEL_PATH to a local "
                                  "diffusers folder of LTX-2 to render the old LoRA on its own model)")
    from trainer.config import ModelConfig
    from trainer.models import load_components
    from trainer.sample import generate

    components = load_components(ModelConfig(id="ltx-2", path=weights))
    pairs = []
    for i, sample in enumerate(report.samples):
        old = generate(components, sample.prompt, lora_path=Path(old_lora), seed=sample.seed,
                       out_dir=components_dir, name=f"old-p{i}-s{sample.seed}")
        pairs.append({"prompt": sample.prompt, "old_mp4": str(old.mp4_path), "old_sheet": str(old.sheet_path),
                      "new_mp4": sample.lora_mp4, "new_sheet": sample.lora_sheet})
    return Comparison(done=True, pairs=pairs)
