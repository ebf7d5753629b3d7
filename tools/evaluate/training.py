"""Metrics read from the run's own record (report.json): the training-loss curve and the held-out curve.

The trainer scores the held-out clips at every checkpoint with the same fixed noise and timesteps as
``trainer.losses.holdout_loss`` (even for checkpoints rotated off disk), so the curve is comparable point to
point. The per-step training loss is noisy (one random timestep a step), so it is compared over windows.
"""

import math

from tools.evaluate.models import Metric

WINDOW_SHARE = 0.2  # a fifth of the run: wide enough to average out the per-step timestep noise


def _window_mean(losses: list[tuple[int, float]], end_step: int, width: int) -> float | None:
    vals = [v for s, v in losses if end_step - width < s <= end_step and math.isfinite(v)]
    return sum(vals) / len(vals) if vals else None


def training_loss(losses: list[tuple[int, float]], meaning: str, skipped: str | None) -> Metric:
    """Finite or not, and the last fifth's mean over the first fifth's (above 3 = diverged)."""
    if skipped or not losses:
        return Metric(name="training_loss", meaning=meaning, skipped=skipped or "the run recorded no losses")
    finite = all(math.isfinite(v) for _, v in losses)
    n = max(1, int(len(losses) * WINDOW_SHARE))
    first = [v for _, v in losses[:n] if math.isfinite(v)]
    last = [v for _, v in losses[-n:] if math.isfinite(v)]
    ratio = (sum(last) / len(last)) / (sum(first) / len(first)) if first and last and sum(first) > 0 else None
    end = sum(last) / len(last) if last else None
    return Metric(name="training_loss", meaning=meaning, value=end,
                  detail={"finite": finite, "end_over_start": ratio, "steps": len(losses)})


def heldout_trend(curve: list[tuple[int, float]], losses: list[tuple[int, float]], meaning: str,
                  skipped: str | None) -> Metric:
    """Rise of the held-out loss from its best checkpoint to the last, and how much training loss fell meanwhile.

    value = (final - best) / best (0 when the last point is the best); detail.train_drop = relative fall of the
    windowed training loss from around the best step to the end.
    """
    if skipped:
        return Metric(name="heldout_trend", meaning=meaning, skipped=skipped)
    points = [(s, v) for s, v in curve if math.isfinite(v)]
    if len(points) < 2:
        return Metric(name="heldout_trend", meaning=meaning, skipped="fewer than two checkpoints scored on held-out "
                      "clips (train longer than checkpoint_every, with a held-out clip)")
    best_step, best = min(points, key=lambda p: (p[1], p[0]))
    final_step, final = points[-1]
    rise = (final - best) / best if best > 0 else 0.0
    width = max(1, int((losses[-1][0] if losses else final_step) * WINDOW_SHARE))
    at_best, at_end = _window_mean(losses, best_step, width), _window_mean(losses, final_step, width)
    drop = (at_best - at_end) / at_best if at_best and at_end is not None else 0.0
    return Metric(name="heldout_trend", meaning=meaning, value=rise,
                  detail={"best_step": best_step, "best_loss": best, "final_step": final_step, "final_loss": final,
                          "train_at_best": at_best, "train_at_end": at_end, "train_drop": drop})
