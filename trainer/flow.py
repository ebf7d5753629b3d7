"""Rectified flow for LTX-2.x: the timestep sampler, the noising rule and the masked loss.

The recipe of record (Lightricks' ltx-trainer): x_t = (1 - s) x0 + s e, the model predicts the velocity
e - x0, the loss is an MSE over the tokens that are not conditioning (a clean first frame, IC-LoRA reference
tokens). s is drawn from ltx-trainer's stretched shifted logit-normal (docs/ltx.md, "Timestep sampling"): the
shift grows with the token count, because longer sequences keep more signal at a given noise level and need
more noise to be hard; the stretch spreads the draws over all of [0, 1], so low noise levels, where fine detail
and likeness are learned, are trained too; a share of uniform draws keeps every level in play.
"""

import math

import torch

from trainer.config import TimestepConfig

# The transformer embeds timesteps in [0, 1000] (`timestep_scale_multiplier`), like the scheduler's `timesteps`.
TIMESTEP_SCALE = 1000.0


# Standard-normal quantiles that the stretch maps to s = 0 and s = 1: the 0.5th and the 99.9th percentiles.
Z_LOW, Z_HIGH = -2.5758, 3.0902


def shift_mu(tokens: int, cfg: TimestepConfig) -> float:
    """Mean of the logit-normal: the line through (min_tokens, mu_at_min) and (max_tokens, mu_at_max), extended
    beyond both ends, not clamped (ltx-trainer): 768x512x121 = 6144 tokens gives mu ~2.78."""
    slope = (cfg.mu_at_max_tokens - cfg.mu_at_min_tokens) / (cfg.max_tokens - cfg.min_tokens)
    return cfg.mu_at_min_tokens + slope * (tokens - cfg.min_tokens)


def sample_sigmas(batch_size: int, tokens: int, cfg: TimestepConfig, generator: torch.Generator | None = None
                  ) -> torch.Tensor:
    """Noise levels s in [eps, 1], shape (B,), as ltx-trainer's stretched shifted logit-normal draws them.

    x = sigmoid(N(mu(tokens), 1)) is stretched linearly so that sigmoid(mu + Z_LOW) maps to 0 and
    sigmoid(mu + Z_HIGH) to 1; values below eps are reflected to 2 eps - x, then clamped to [0, 1]; a share
    `uniform_fraction` is drawn U(eps, 1) instead. At 2688 tokens the median is ~0.76 and s < 0.2 is drawn ~4.5%
    of the time (without the stretch: 0.81 and 2.2%). Computed in float64: at large token counts both bounds
    sit near 1 and float32 would lose the difference.
    """
    mu, eps = shift_mu(tokens, cfg), cfg.eps
    x = torch.sigmoid(torch.randn(batch_size, generator=generator, dtype=torch.float64) + mu)
    low, high = _sigmoid(mu + Z_LOW), _sigmoid(mu + Z_HIGH)
    stretched = (x - low) / (high - low)
    stretched = torch.where(stretched >= eps, stretched, 2 * eps - stretched).clamp(0.0, 1.0)
    uniform = eps + (1 - eps) * torch.rand(batch_size, generator=generator, dtype=torch.float64)
    use_uniform = torch.rand(batch_size, generator=generator) < cfg.uniform_fraction
    return torch.where(use_uniform, uniform, stretched).float()


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


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
