"""`loraport evaluate`: measure a trained LoRA, judge it, and say what to try next."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.common import JsonFlag, print_json, workspace


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
        model: Annotated[str | None, typer.Option(
            help="Evaluate on this base model instead of the LoRA's own (e.g. ltx-2.5).")] = None,
        as_is: Annotated[bool, typer.Option(
            "--as-is", help="Try before retraining: the LoRA as it is on --model (default ltx-2.5) beside that "
                            "model alone; says 'it still works: no retrain needed' or 'retrain'.")] = False,
        old_lora: Annotated[Path | None, typer.Option(
            "--old-lora", help="The LoRA this one replaces: rendered on its own model beside the new one, same "
                               "prompts and seeds (old-on-old vs new-on-new), when that model's weights are "
                               "here.")] = None,
        old_model: Annotated[str | None, typer.Option(
            "--old-model", help="The model --old-lora was made for (default: what inspect finds, e.g. "
                                "ltx-2.3).")] = None,
    ) -> None:
        """Evaluate a LoRA: held-out loss, strength, memorisation, a verdict with evidence, and advice."""
        from tqdm import tqdm

        if as_is:
            _as_is(lora_or_job, dataset, model or "ltx-2.5", tuple(seed or (42,)), out, json_out)
            return

        from tools.evaluate import evaluate as run_evaluation
        from tools.evaluate import export_best as export

        quiet = json_out or not sys.stderr.isatty()
        with tqdm(total=None, desc="evaluating", disable=quiet, leave=False, bar_format="{desc} {elapsed}") as bar:
            report = run_evaluation(lora_or_job, dataset, checkpoints=checkpoints, out_dir=out,
                                    seeds=tuple(seed or (42,)), on_progress=bar.set_description_str, model=model,
                                    workspace=workspace(), old_lora=old_lora,
                                    old_model=old_model)  # None: the model inspect finds for it
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


def _as_is(lora: str, dataset: str | None, model: str, seeds: tuple[int, ...], out: Path | None,
           json_out: bool) -> None:
    from tqdm import tqdm

    from tools.evaluate.asis import evaluate_as_is

    quiet = json_out or not sys.stderr.isatty()
    with tqdm(total=None, desc="testing as is", disable=quiet, leave=False, bar_format="{desc} {elapsed}") as bar:
        r = evaluate_as_is(lora, dataset, model=model, seeds=seeds, out_dir=out, on_progress=bar.set_description_str,
                           workspace=workspace())
    if json_out:
        print_json(r)
        return
    typer.echo(r.summary)
    for s in r.evaluation.samples:
        typer.echo(f"  {s.kind} prompt, seed {s.seed}:\n    {model} alone: {s.base_mp4}\n"
                   f"    with the LoRA: {s.lora_mp4}")
    cmp = r.evaluation.comparison
    if cmp.done:
        for pair in cmp.pairs:
            typer.echo(f"  on its own model {cmp.old_model}: {pair['old_mp4']}")
    elif cmp.skipped:
        typer.echo(f"  old-on-old: skipped ({cmp.skipped})")
    typer.echo(f"report: {r.evaluation.report_html}")
