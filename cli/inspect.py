"""`loraport inspect`: what a LoRA file is, what it was made for, and whether it works on the target model."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.common import JsonFlag, print_json


def register(app: typer.Typer) -> None:
    @app.command()
    def inspect(
        path: Annotated[Path, typer.Argument(help="A LoRA .safetensors file, or a diffusers/peft LoRA folder.")],
        json_out: JsonFlag = False,
        target: Annotated[str, typer.Option(help="Model to judge it for: ltx-2.3, ltx-2.5 or ltx-2.")] = "ltx-2.3",
        header_only: Annotated[
            bool, typer.Option("--header-only", help="Read only the header: fast, but weights are not checked.")
        ] = False,
    ) -> None:
        """Inspect a LoRA: base model, rank, targets, weight health, and a verdict for the target model."""
        from tools.inspect import inspect_lora  # header-only imports no torch: `--header-only` starts fast

        if json_out or header_only or not sys.stderr.isatty():
            report = inspect_lora(path, target=target, header_only=header_only)
        else:
            from tqdm import tqdm

            total = path.stat().st_size if path.is_file() else None
            with tqdm(total=total, unit="B", unit_scale=True, desc="reading weights", leave=False) as bar:
                report = inspect_lora(path, target=target, progress=bar.update)
        if json_out:
            print_json(report)
        else:
            typer.echo(report.summary())
