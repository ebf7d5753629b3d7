"""`loraport evaluate`: measure a trained LoRA, judge it, and say what to try next."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.common import JsonFlag, print_json


def register(app: typer.Typer) -> None:
    @app.command()
    def evaluate(
        lora_or_job: Annotated[str, typer.Argument(help="A training job id, its run folder, or a LoRA .safetensors.")],
        dataset: Annotated[str | None, typer.Option(
            "--dataset", "-d", help="Clips to measure on (folder or dataset id); default: the run's own.")] = None,
        json_out: JsonFlag = False,
        checkpoints: Annotated[bool, typer.Option(
            "--checkpoints/--no-checkpoints", help="Also score every kept checkpoint (slower).")] = True,
        seed: Annotated[list[int] | None, typer.Option(help="Sample seed; repeat for several.")] = None,
        out: Annotated[Path | None, typer.Option(help="Folder for the report and samples.")] = None,
        export_best: Annotated[bool, typer.Option(
            "--export-best", help="Export the recommended checkpoint as a LoRA file beside the run.")] = False,
    ) -> None:
        """Evaluate a LoRA: held-out loss, strength, memorisation, a verdict with evidence, and advice."""
        from tqdm import tqdm

        from tools.evaluate import evaluate as run_evaluation
        from tools.evaluate import export_best as export

        quiet = json_out or not sys.stderr.isatty()
        with tqdm(total=None, desc="evaluating", disable=quiet, leave=False, bar_format="{desc} {elapsed}") as bar:
            report = run_evaluation(lora_or_job, dataset, checkpoints=checkpoints, out_dir=out,
                                    seeds=tuple(seed or (42,)), on_progress=bar.set_description_str)
        exported = export(report) if export_best else None
        if json_out:
            print_json({**report.model_dump(mode="json"), "exported": str(exported) if exported else None})
            return
        typer.echo(f"verdict: {report.verdict.status}")
        for line in report.verdict.evidence:
            typer.echo(f"  - {line}")
        for s in report.verdict.suggestions:
            extra = f"  [retrain with {s.retrain_with}]" if s.retrain_with else ""
            typer.echo(f"  next: {s.action}{extra}\n        confirm: {s.confirm}")
        skipped = [m.name for m in report.metrics.values() if m.skipped]
        if skipped:
            typer.echo(f"skipped: {', '.join(skipped)}")
        if exported:
            typer.echo(f"exported checkpoint {report.best_checkpoint}: {exported}")
        typer.echo(f"report: {report.report_html}")
