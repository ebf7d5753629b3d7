"""Sound in an evaluation: held-out audio loss with and without the LoRA, how far the LoRA moves the generated
sound, and a verdict that names the sound when the sound is what is weak.

Only runs that trained the sound get these measurements (a video-only LoRA leaves the audio branch untouched,
so there is nothing to judge). The thresholds are the picture's (``tools.evaluate.verdict``), as ratios.
"""

import numpy as np

from tools.evaluate import metrics as M
from tools.evaluate.models import EvalReport, Metric, SamplePair, Suggestion, Verdict
from tools.evaluate.verdict import WEAK_IMPROVEMENT

MEANINGS = {
    "holdout_audio_loss": ("Flow-matching loss of the sound of clips the LoRA never trained on, with vs without "
                           "it: lower = it learned the voice or sound, not only the look."),
    "audio_strength": ("How far the LoRA moves the generated sound from the base model's at the same seed: mean "
                       "log-mel difference as a share of the log-mel range (0 = the same sound)."),
}
# log(1) - log(1e-5): the range of the log-mel the audio VAE reads (magnitudes are clamped at 1e-5 before the log)
LOG_MEL_RANGE = float(np.log(1e5))
# Moving the sound by under 1% of that range (mean over samples) barely changes what one hears.
WEAK_AUDIO_STRENGTH = 0.01


def audio_loss_metric(report: EvalReport) -> Metric:
    """From holdout_loss's split (detail.audio / audio_base): the held-out loss of the sound alone."""
    ho = report.metrics.get("holdout_loss")
    lora = ho.detail.get("audio") if ho and not ho.skipped else None
    base = ho.detail.get("audio_base") if ho and not ho.skipped else None
    if lora is None or base is None:
        return Metric(name="holdout_audio_loss", meaning=MEANINGS["holdout_audio_loss"],
                      skipped="no held-out clip trained its sound (a video-only run, or no held-out clip has sound)")
    improvement = M.relative_improvement(base, lora) if M.finite(lora) else None
    return Metric(name="holdout_audio_loss", meaning=MEANINGS["holdout_audio_loss"], value=lora, base=base,
                  detail={"improvement": improvement, "clips": ho.detail.get("audio_clips")})


def audio_strength(lora: np.ndarray | None, base: np.ndarray | None, sample_rate: int | None) -> float | None:
    """Mean |log-mel(LoRA) - log-mel(base)| / LOG_MEL_RANGE over the shorter of the two tracks; None without sound."""
    from trainer.audio import log_mel

    if lora is None or base is None or not sample_rate:
        return None
    n = min(lora.shape[-1], base.shape[-1])
    if n == 0:
        return None
    hop, bins = max(1, sample_rate // 100), 64  # 100 frames a second, as the audio VAE's mel
    a, b = (log_mel(np.atleast_2d(x)[:, :n], sample_rate, hop, bins) for x in (lora, base))
    return float(np.abs(a - b).mean() / LOG_MEL_RANGE)


def audio_strength_metric(samples: list[SamplePair], trained: bool) -> Metric:
    values = [s.audio_strength for s in samples if s.audio_strength is not None]
    if not trained or not values:
        why = "the run did not train the sound" if not trained else "no sample had a sound track"
        return Metric(name="audio_strength", meaning=MEANINGS["audio_strength"], skipped=why)
    return Metric(name="audio_strength", meaning=MEANINGS["audio_strength"], value=float(np.mean(values)),
                  detail={"per_sample": values})


def judge_audio(report: EvalReport, verdict: Verdict) -> Verdict:
    """A run that trained the sound but barely learned it gets the sound named as what is weak. Broken and
    over-fit verdicts stand as they are (they are about harm, not about what is missing)."""
    audio = report.metrics.get("holdout_audio_loss")
    if verdict.status in ("broken", "over-fit") or audio is None or audio.skipped:
        return verdict
    improvement = audio.detail.get("improvement")
    strength = report.metrics.get("audio_strength")
    s = strength.value if strength is not None and not strength.skipped else None
    if improvement is None or improvement >= WEAK_IMPROVEMENT or (s is not None and s >= WEAK_AUDIO_STRENGTH):
        return verdict
    evidence = [f"holdout_audio_loss: the sound is what is weak: the LoRA removes {improvement * 100:.1f}% of the "
                f"base model's held-out audio loss ({audio.base:.4f} -> {audio.value:.4f}; under "
                f"{WEAK_IMPROVEMENT * 100:.0f}% is weak)"]
    if s is not None:
        evidence.append(f"audio_strength: the generated sound moves {s * 100:.2f}% of the log-mel range from the "
                        f"base's (under {WEAK_AUDIO_STRENGTH * 100:.0f}% is hard to hear)")
    confirm = "holdout_audio_loss improvement above 10% and audio_strength above 1%"
    advice = [
        Suggestion(action="Check that the clips kept their sound (the dataset report lists clips trained without "
                          "it) and that every caption says who speaks and what is said, in quotes.",
                   why="the voice or sound was barely learned", confirm=confirm),
        Suggestion(action="Retrain with 30% more steps: the voice is often learned after the look.",
                   why="the sound lags behind the picture", retrain_with={"steps": "+30%"}, confirm=confirm),
    ]
    status = "weak" if verdict.status == "good" else verdict.status
    return Verdict(status=status, evidence=evidence + verdict.evidence, suggestions=advice + verdict.suggestions)
