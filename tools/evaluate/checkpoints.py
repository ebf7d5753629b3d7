"""Every kept checkpoint, scored on held-out loss and memorisation; the best one recommended and exported.

Likeness often peaks before the last step (ai-toolkit #635: best at 1400 of 3000), so the final LoRA is not
assumed to be the best. A checkpoint holds raw peft weights (alpha not folded in); it becomes a user-loadable
file through the trainer's own exporter (``trainer.export.export_lora``): the adapter is put on the transformer
for the moment of the export, then removed, so the components are left as they were.
"""

from collections.abc import Callable, Sequence
from pathlib import Path

from core.errors import LoraportError
from tools.evaluate.metrics import finite, relative_improvement
from tools.evaluate.models import CheckpointScore
from tools.evaluate.verdict import MEMORISATION_GAIN
from trainer.config import TrainConfig


def kept_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, dir) of the complete checkpoints still on disk, oldest first."""
    from trainer import checkpoints as ckpts  # torch: loaded when an evaluation runs, not when the agent starts

    return ckpts.list_checkpoints(Path(run_dir) / "checkpoints")


def export_checkpoint_file(components, config: TrainConfig, ckpt_dir: Path, out_path: Path) -> Path:
    """Write a checkpoint as a ComfyUI-convention LoRA file (alpha folded in), via trainer.export."""
    from trainer import checkpoints as ckpts
    from trainer import lora
    from trainer.export import export_lora, lora_metadata
    from trainer.lora import ADAPTER

    ck = ckpts.load_checkpoint(Path(ckpt_dir), ckpts.fingerprint(config))
    transformer = components.transformer
    if getattr(transformer, "_hf_peft_config_loaded", False) and ADAPTER in transformer.peft_config:
        raise LoraportError("the model already carries a training adapter; evaluate with fresh components")
    was_training = transformer.training
    lora.add_lora(transformer, config.lora)
    try:
        lora.load_lora_state_dict(transformer, ck.lora)
        meta = lora_metadata(config, steps=ck.step, extra={"loraport.checkpoint_step": ck.step})
        return export_lora(transformer, Path(out_path), meta)
    finally:
        transformer.delete_adapters(ADAPTER)
        transformer.train(was_training)


def score_checkpoints(components, config: TrainConfig, run_dir: Path, out_dir: Path, *, holdout_items: Sequence,
                      base_loss: float | None, final_step: int | None,
                      memorisation: Callable[[Path], float | None] | None = None) -> list[CheckpointScore]:
    """Held-out loss (and, with ``memorisation(lora_path)``, the memorisation gain) of every kept checkpoint."""
    from trainer.losses import holdout_loss

    scores = []
    for step, path in kept_checkpoints(run_dir):
        file = export_checkpoint_file(components, config, path, Path(out_dir) / f"checkpoint-{step:06d}.safetensors")
        loss = holdout_loss(components, holdout_items, file) if holdout_items else None
        scores.append(CheckpointScore(
            step=step, path=str(file), holdout_loss=loss,
            improvement=relative_improvement(base_loss, loss) if finite(loss) and finite(base_loss) else None,
            memorisation=memorisation(file) if memorisation else None, final=step == final_step))
    return scores


def recommend(scores: list[CheckpointScore]) -> int | None:
    """The step with the lowest held-out loss among checkpoints that do not copy their clips (memorisation gain
    below the verdict's MEMORISATION_GAIN); marks it."""
    usable = [s for s in scores if finite(s.holdout_loss)
              and not (s.memorisation is not None and s.memorisation >= MEMORISATION_GAIN)]
    if not usable:
        return None
    best = min(usable, key=lambda s: (s.holdout_loss, -s.step))
    best.recommended = True
    return best.step


def export_target(report, path: Path | None = None) -> tuple[CheckpointScore, Path]:
    """The checkpoint ``export_best`` copies and the file it writes (shown for approval before it is written)."""
    chosen = next((c for c in report.checkpoints if c.recommended), None)
    if chosen is None:
        raise LoraportError("this evaluation recommends no checkpoint (none were kept, or none had a held-out "
                            "loss): evaluate with checkpoints and a dataset that has a held-out clip")
    if path:
        return chosen, Path(path)
    return chosen, Path(report.run_dir or Path(chosen.path).parent) / f"lora-step-{chosen.step:06d}.safetensors"


def export_best(report, path: Path | None = None) -> Path:
    """Copy the recommended checkpoint's LoRA file beside the run as ``lora-step-XXXXXX.safetensors``."""
    from core.atomic import atomic_write_bytes

    chosen, dest = export_target(report, path)
    src = Path(chosen.path)
    if not src.is_file():
        raise LoraportError(f"{src} is gone: run the evaluation again to re-export the checkpoints")
    return atomic_write_bytes(dest, src.read_bytes())
