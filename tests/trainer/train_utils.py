"""Factories for training tests: a small synthetic dataset with one visual concept, and a tiny-model config."""

from pathlib import Path

from tests.trainer.clips import make_clip
from trainer.config import TrainConfig


def concept_dataset(root: Path, n: int = 6, size=(64, 64), ref: bool = False) -> Path:
    """n clips of one concept (a white square sweeping right over a warm background, shade varying by clip).

    The concept is consistent, so a LoRA that learns it lowers the flow loss on a held-out clip of it.
    With `ref`, each clip gets an IC-LoRA reference `<name>_ref.mp4` (the same motion, a cool background).
    """
    root = Path(root)
    for i in range(n):
        make_clip(root / f"clip{i}.mp4", size=size, color=(200, 60 + 15 * i, 40), pattern="moving")
        (root / f"clip{i}.txt").write_text("a white square moving over a red background")
        if ref:
            make_clip(root / f"clip{i}_ref.mp4", size=size, color=(40, 60 + 15 * i, 200), pattern="moving")
    return root


def tiny_config(dataset: Path, steps: int = 6, **overrides) -> TrainConfig:
    """A config that trains the tiny model in well under a second per 10 steps."""
    cfg = {
        "seed": 7,
        "model": {"id": "tiny-ltx-2.3"},
        "lora": {"rank": 4, "alpha": 4},
        "optim": {"steps": steps, "learning_rate": 1e-3, "gradient_checkpointing": False, "schedule": "constant"},
        "data": {"dataset_dir": str(dataset), "buckets": [{"width": 64, "height": 64, "frames": 17}],
                 "trigger_word": "sks", "holdout_fraction": 0.2},
        "checkpoints": {"every": 4, "keep": 2},
        "validation": {"every": 0},
    }
    for section, values in overrides.items():
        if isinstance(values, dict):
            cfg.setdefault(section, {}).update(values)
        else:
            cfg[section] = values
    return TrainConfig.model_validate(cfg)
