"""`loraport caption DATASET`: preview 3 captions, caption every file with a progress bar, or edit one."""

import sys
from typing import Annotated

import typer

from cli.common import JsonFlag, print_json


def register(app: typer.Typer) -> None:
    @app.command()
    def caption(
        dataset: Annotated[str, typer.Argument(help="Dataset id (or its folder in the workspace).")],
        backend: Annotated[str, typer.Option(help="auto | vlm | claude | sidecar | template.")] = "auto",
        trigger: Annotated[str | None, typer.Option("--trigger", help="Trigger word put first in every caption.")] = None,
        preview: Annotated[bool, typer.Option("--preview", help="Caption 3 files only, to check before the rest.")] = False,
        overwrite: Annotated[bool, typer.Option(help="Re-caption files that already have an approved caption.")] = False,
        edit: Annotated[str | None, typer.Option("--edit", help="Set the caption of this file (with --text).")] = None,
        text: Annotated[str | None, typer.Option("--text", help="The new caption for --edit.")] = None,
        json_: JsonFlag = False,
    ) -> None:
        """Caption a dataset's clips (trigger word first), preview 3 of them, or edit one caption."""
        from tools.caption import caption_all, caption_preview, set_caption

        if edit is not None or text is not None:
            if edit is None or text is None:
                raise typer.BadParameter("--edit FILE and --text CAPTION go together.")
            result = set_caption(dataset, edit, text)
            if json_:
                print_json(result)
            else:
                typer.echo(f"{result.name}: {result.trained_as}")
            return
        if preview:
            shown = caption_preview(dataset, backend=backend, trigger_word=trigger)
            _show_preview(shown, json_)
            return
        run = _caption_with_bar(caption_all, dataset, backend, trigger, overwrite, quiet=json_)
        if json_:
            print_json(run)
        else:
            typer.echo(f"{run.captioned} captioned, {run.skipped} kept, {len(run.errors)} failed "
                       f"(backend {run.backend}{', LOW QUALITY' if run.quality == 'low' else ''}; "
                       f"trigger {run.trigger_word or 'none'}).")
            for name, why in run.errors.items():
                typer.echo(f"  {name}: {why}")
        if run.errors:
            raise typer.Exit(1)


def _caption_with_bar(caption_all, dataset, backend, trigger, overwrite, *, quiet: bool):
    from tqdm import tqdm

    bar = None

    def progress(done: int, total: int, name: str) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="file", desc="captioning", file=sys.stderr, disable=quiet)
        bar.set_postfix_str(name, refresh=False)
        bar.update(done - bar.n)

    try:
        return caption_all(dataset, backend=backend, trigger_word=trigger, overwrite=overwrite, on_progress=progress)
    finally:
        if bar is not None:
            bar.close()


def _show_preview(preview, as_json: bool) -> None:
    if as_json:
        print_json(preview)
        return
    for item in preview.items:
        typer.echo(f"{item.name}: {item.trained_as}" if not item.error else f"{item.name}: FAILED: {item.error}")
    typer.echo("")
    typer.echo(preview.note)
