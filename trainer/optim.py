"""The optimizer of a LoRA run: AdamW over the adapter's parameters, 8-bit where it can be."""

from collections.abc import Callable

import torch

from trainer.config import OptimConfig


def make_optimizer(params: list, cfg: OptimConfig, emit: Callable[[dict], None]) -> torch.optim.Optimizer:
    """AdamW; bitsandbytes' AdamW8bit when asked and possible (it needs CUDA), else AdamW with a message."""
    if cfg.optimizer == "adamw8bit":
        try:
            import bitsandbytes as bnb  # noqa: PLC0415  (optional GPU dependency)
        except ImportError:
            bnb = None
        if bnb is not None and torch.cuda.is_available():
            return bnb.optim.AdamW8bit(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
        why = "CUDA is not available" if bnb is not None else "bitsandbytes is not installed"
        emit({"type": "progress", "message": f"AdamW8bit asked for but {why}: using AdamW (optimizer state "
                                             "takes 4x the memory; install bitsandbytes on a CUDA machine)"})
    return torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
