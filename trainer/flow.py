"""Rectified flow for LTX-2.x: the timestep sampler, the noising rule and the masked loss.

The recipe of record (Lightricks' ltx-trainer, LTX_FACTS.md): x_t = (1 - s) x0 + s e, the model predicts the
velocity e - x0, the loss is an MSE over the tokens that are not conditioning (a clean first frame, IC-LoRA
reference tokens). s is drawn from a shifted logit-normal whose shift grows with the token count, because
longer sequences keep more signal at a given noise level and need more noise to be hard; a share of uniform
draws keeps the ends of [0, 1] trained.
"""

import torch

from trainer.config import TimestepConfig

# The transformer embeds timesteps in [0, 1000] (`timestep_scale_multiplier`), like the scheduler's `timesteps`.
TIMESTEP_SCALE = 1000.0


def shift_mu(tokens: int, cfg: TimestepConfig) -> float:
    """Mean of the logit-normal: linear in tokens from (min_tokens, mu_min) to (max_tokens, mu_max), clamped."""
    frac = (tokens - cfg.min_tokens) / (cfg.max_tokens - cfg.min_tokens)
    frac = min(max(frac, 0.0), 1.0)
    return cfg.mu_at_min_tokens + frac * (cfg.mu_at_max_tokens - cfg.mu_at_min_tokens)


def sample_sigmas(batch_size: int, tokens: int, cfg: TimestepConfig, generator: torch.Generator | None = None
                  ) -> torch.Tensor:
    """Noise levels s in (0, 1), shape (B,): sigmoid(N(mu(tokens), 1)), with `uniform_fraction` drawn U(0, 1)."""
    mu = shift_mu(tokens, cfg)
    logit_normal = torch.sigmoid(torch.randn(batch_size, generator=generator) + mu)
    uniform = torch.rand(batch_size, generator=generator)
    use_uniform = torch.rand(batch_size, generator=generator) < cfg.uniform_fraction
    return torch.where(use_uniform, uniform, logit_normal)


def add_noise(x0: torch.Tensor, noise: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """x_t = (1 - s) x0 + s e for token tensors (B, T, C) and s of shape (B,)."""
    s = sigma.view(-1, 1, 1).to(x0.dtype)
    return (1 - s) * x0 + s * noise


def velocity_target(x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """What the transformer predicts under rectified flow: d x_t / d s = e - x0."""
    return noise - x0


def masked_mse(pred: torch.Tensor, target: torch.Tensor, loss_mask: torch.Tensor) -> torch.Tensor:
    """Per-sample MSE (B,) over the tokens where loss_mask (B, T) is true, averaged over channels.

    Each sample is normalised by its own count of loss tokens, so a sample whose first frame was conditioning
    weighs the same as one without.
    """
    err = (pred.float() - target.float()).pow(2).mean(dim=-1)  # (B, T)
    mask = loss_mask.to(err.dtype)
    return (err * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
