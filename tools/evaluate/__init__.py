"""Evaluation and advice: measure a trained LoRA, judge it (weak | good | over-fit | broken), suggest the next run."""

from tools.evaluate.checkpoints import export_best
from tools.evaluate.jobs import enqueue_evaluate_job, run_evaluate_job
from tools.evaluate.models import CheckpointScore, EvalPrompt, EvalReport, Metric, SamplePair, Suggestion, Verdict
from tools.evaluate.service import evaluate


def suggest(report: EvalReport | dict) -> list[Suggestion]:
    """Suggest the next run from an evaluation: each a hypothesis, with the metric that would confirm it."""
    if isinstance(report, dict):
        report = EvalReport.model_validate(report)
    return list(report.verdict.suggestions)


__all__ = ["CheckpointScore", "EvalPrompt", "EvalReport", "Metric", "SamplePair", "Suggestion",
           "Verdict", "enqueue_evaluate_job", "evaluate", "export_best", "run_evaluate_job",
           "suggest"]
