"""Checkpoints that never lose a run: atomic, self-describing, rotated, and refused when settings changed.

A checkpoint is one directory `checkpoints/step-XXXXXX/` holding all that resume needs:
- `lora.safetensors`: the adapter (peft keys, fp32);
- `optimizer.pt`: the optimizer's state_dict (tensors, numbers, tuples only; loaded with weights_only=True);
- `rng.pt`: torch's global CPU (and CUDA) RNG states, which drive LoRA dropout. Data order, noise and
  timesteps are pure functions of (seed, step), and so is the learning rate (`lr_at`): the step *is* the
  scheduler's state;
- `state.json` (written last): step, config fingerprint, loss history, time.
It is written in a hidden `.tmp-*` sibling and renamed into place in one step, so a kill at any moment leaves
either no new checkpoint or a whole one; `latest_checkpoint` never looks at hidden or incomplete directories.
"""

import json
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from core.atomic import atomic_replace_dir, atomic_write_json
from core.disk import writing
from core.errors import LoraportError
from trainer.config import TrainConfig
from trainer.lora import target_regex

STEP_DIR = re.compile(r"^step-(\d{6,})$")


@dataclass
class Checkpoint:
    path: Path
    step: int
    lora: dict[str, torch.Tensor]
    optimizer: dict
    rng: dict
    losses: list[tuple[int, float]] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


def fingerprint(cfg: TrainConfig) -> dict:
    """The settings a checkpoint cannot survive a change of (ltx-trainer keeps the same kind of record)."""
    return {
        "model": cfg.model.id,
        "rank": cfg.lora.rank,
        "alpha": cfg.lora.alpha,
        "targets": target_regex(cfg.lora),
        "optimizer": cfg.optim.optimizer,
        "schedule": cfg.optim.schedule,
        "learning_rate": cfg.optim.learning_rate,
        "strategy": cfg.strategy.name,
        # IC-LoRA references encoded at another scale are other inputs; only named when not 1, so checkpoints
        # written before the setting existed still resume
        **({"reference_downscale_factor": cfg.strategy.reference_downscale_factor}
           if cfg.strategy.reference_downscale_factor != 1 else {}),
    }


def check_fingerprint(saved: dict, current: dict, where: Path) -> None:
    changed = [f"{k}: {saved.get(k)!r} -> {current.get(k)!r}" for k in sorted(set(saved) | set(current))
               if saved.get(k) != current.get(k)]
    if changed:
        raise LoraportError(f"cannot resume from {where}: the settings changed since it was written ("
                            + "; ".join(changed) + "). Put the old values back to resume, or start a new run.")


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(root: Path, step: int, *, lora: dict[str, torch.Tensor], optimizer: dict, rng: dict,
                    losses: list[tuple[int, float]], fp: dict, keep: int, extra: dict | None = None) -> Path:
    """Write step-XXXXXX atomically, then drop all but the newest `keep` checkpoints. `extra`: JSON to keep."""
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:06d}"
    tmp = root / f".tmp-{final.name}-{time.time_ns()}"
    tmp.mkdir()
    try:
        with writing(root, f"checkpoint {final.name}"):
            save_file({k: v.contiguous() for k, v in lora.items()}, str(tmp / "lora.safetensors"))
            torch.save(optimizer, tmp / "optimizer.pt")
            torch.save(rng, tmp / "rng.pt")
            atomic_write_json(tmp / "state.json", {"step": step, "fingerprint": fp, "losses": losses,
                                                   "extra": extra or {}, "created_at": time.time()})
            atomic_replace_dir(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _rotate(root, keep)
    return final


def list_checkpoints(root: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints (state.json present), oldest first."""
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := STEP_DIR.match(p.name))]
    return sorted((s, p) for s, p in found if (p / "state.json").is_file())


def latest_checkpoint(root: Path) -> Path | None:
    found = list_checkpoints(root)
    return found[-1][1] if found else None


def checkpoint_step(path: Path) -> int:
    """The step of a checkpoint directory that list_checkpoints / latest_checkpoint returned (step-XXXXXX)."""
    return int(STEP_DIR.match(Path(path).name).group(1))


def load_checkpoint(path: Path, fp: dict, device: torch.device | str = "cpu") -> Checkpoint:
    """Load a checkpoint written by save_checkpoint after checking it was made with the same settings."""
    try:
        state = json.loads((path / "state.json").read_text())
    except (OSError, ValueError) as err:
        raise LoraportError(f"checkpoint {path} is unreadable ({err}): delete it to resume from the one "
                            "before") from err
    check_fingerprint(state["fingerprint"], fp, path)
    return Checkpoint(
        path=path,
        step=int(state["step"]),
        lora=load_file(str(path / "lora.safetensors"), device=str(device)),
        optimizer=torch.load(path / "optimizer.pt", map_location=device, weights_only=True),
        rng=torch.load(path / "rng.pt", map_location="cpu", weights_only=True),
        losses=[(int(s), float(v)) for s, v in state.get("losses", [])],
        extra=state.get("extra", {}),
    )


def _rotate(root: Path, keep: int) -> None:
    for _, old in list_checkpoints(root)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    for stale in root.glob(".tmp-*"):  # left by a process killed mid-write
        shutil.rmtree(stale, ignore_errors=True)
