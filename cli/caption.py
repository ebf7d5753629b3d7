"""`loraport caption DATASET`: preview 3 captions, caption every file with a progress bar, or edit one."""

from typing import Annotated

import typer

from cli.common import JsonFlag, print_json, workspace
from cli.dataset import FileProgress


def register(app: typer.Typer) -> None:
    @app.command()
    def caption(
        dataset: Annotated[str, typer.Argument(help="Dataset id (or its folder in the workspace).")],
        backend: Annotated[str, typer.Option(help="auto | vlm | claude | sidecar | template.")] = "auto",
        trigger: Annotated[str | None, typer.Option("--trigger", help="Trigger word put first in every caption.")] = None,
        preview: Annotated[bool, typer.Option("--preview", help="Caption 3 files only, to check before the rest.")] = False,
        overwrite: Annotated[bool, typer.Option(help="Re-caption files that already have an approved caption.")] = False,
        detach: Annotated[bool, typer.Option("--detach", help="Queue a caption job for the worker instead.")] = False,
        edit: Annotated[str | None, typer.Option("--edit", help="Set the caption of this file (with --text).")] = None,
        text: Annotated[str | None, typer.Option("--text", help="The new caption for --edit.")] = None,
        json_: JsonFlag = False,
    ) -> None:
        """Caption a dataset's clips (trigger word first), preview 3 of them, or edit one caption."""
        from tools.caption import caption_all, caption_preview, set_caption

        ws = workspace()

        if edit is not None or text is not None:
            if edit is None or text is None:
                raise typer.BadParameter("--edit FILE and --text CAPTION go together.")
            result = set_caption(dataset, edit, text, workspace=ws)
            if json_:
                print_json(result)
            else:
                typer.echo(f"{result.name}: {result.trained_as}")
            return
        if preview:
            shown = caption_preview(dataset, backend=backend, trigger_word=trigger, workspace=ws)
            _show_preview(shown, json_)
            return
        if detach:
            _queue(dataset, backend, trigger, overwrite, json_)
            return
        with FileProgress("captioning", quiet=json_) as bar:
            run = caption_all(dataset, backend=backend, trigger_word=trigger, overwrite=overwrite, on_progress=bar,
                              workspace=ws)
        _show_run(run, json_)
        if run.errors:
            raise typer.Exit(1)


def _queue(dataset: str, backend: str, trigger: str | None, overwrite: bool, as_json: bool) -> None:
    from tools.caption import enqueue_caption_job

    job_id = enqueue_caption_job(dataset, backend=backend, trigger_word=trigger, overwrite=overwrite,
                                 workspace=workspace())
    if as_json:
        print_json({"job_id": job_id})
    else:
        typer.echo(f"queued caption job {job_id}; `loraport worker` runs it, `loraport jobs show {job_id}` follows it.")


def _show_run(run, as_json: bool) -> None:
    if as_json:
        print_json(run)
        return
    typer.echo(f"{run.captioned} captioned, {run.skipped} kept, {len(run.errors)} failed "
               f"(backend {run.backend}{', LOW QUALITY' if run.quality == 'low' else ''}; "
               f"trigger {run.trigger_word or 'none'}).")
    for name, why in run.errors.items():
        typer.echo(f"  {name}: {why}")


def _show_preview(preview, as_json: bool) -> None:
    if as_json:
        print_json(preview)
        return
    for item in preview.items:
        mark = f" [{item.sound}]" if item.sound else ""  # silent-blind / from-frames: what it says of the sound
        typer.echo(f"{item.name}: {item.trained_as}{mark}" if not item.error else f"{item.name}: FAILED: {item.error}")
    typer.echo("")
    typer.echo(preview.note)
