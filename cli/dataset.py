"""`loraport dataset import|check`: bring clips into the workspace and see, per file, what to fix."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.common import JsonFlag, print_json, workspace


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Import a folder, zip or files of clips as a dataset, and check what it holds.",
                        no_args_is_help=True)

    @group.command("import")
    def import_(
        paths: Annotated[list[Path], typer.Argument(help="A folder, a .zip, or one or more media files.")],
        name: Annotated[str | None, typer.Option("--name", help="Dataset name (default: the folder's).")] = None,
        recipe: Annotated[str | None, typer.Option("--recipe", help="Check counts against this recipe.")] = None,
        holdout: Annotated[float | None, typer.Option(help="Share held out for validation (default 0.1; 0 = none).")] = None,
        seed: Annotated[int, typer.Option(help="Seed of the held-out split.")] = 0,
        json_: JsonFlag = False,
    ) -> None:
        """Import clips and images into the workspace (originals are only read) and report what to fix."""
        from tools.dataset import import_dataset

        source = paths[0] if len(paths) == 1 and not _is_single_media(paths[0]) else paths
        with FileProgress("checking files", quiet=json_) as bar:
            report = import_dataset(source, name=name, recipe=recipe, seed=seed, holdout_fraction=holdout,
                                    on_progress=bar, workspace=workspace())
        _show(report, json_)

    @group.command("check")
    def check(
        dataset: Annotated[str, typer.Argument(help="A dataset id or a folder.")],
        recipe: Annotated[str | None, typer.Option("--recipe", help="Check counts against this recipe.")] = None,
        json_: JsonFlag = False,
    ) -> None:
        """Check a dataset (an id or any folder): a per-file table and a summary of what to fix."""
        from tools.dataset import check_dataset

        with FileProgress("checking files", quiet=json_) as bar:
            report = check_dataset(dataset, recipe=recipe, on_progress=bar, workspace=workspace())
        _show(report, json_)

    app.add_typer(group, name="dataset")


class FileProgress:
    """A tqdm bar on stderr fed by a tool's ``on_progress(done, total, name)``; silent with --json."""

    def __init__(self, desc: str, *, quiet: bool):
        self.desc, self.quiet, self.bar = desc, quiet, None

    def __call__(self, done: int, total: int, name: str) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, unit="file", desc=self.desc, file=sys.stderr, disable=self.quiet)
        self.bar.set_postfix_str(name, refresh=False)
        self.bar.update(done - self.bar.n)

    def __enter__(self) -> "FileProgress":
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()


def _show(report, as_json: bool) -> None:
    if as_json:
        print_json(report)
    else:
        print_report(report)


def _is_single_media(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() != ".zip"


def print_report(report) -> None:
    """The per-file table, then warnings and the summary."""
    rows = [("file", "kind", "size", "frames", "fps", "sec", "audio", "bucket", "split", "caption / error")]
    for f in report.files:
        if f.error:
            rows.append((f.name, "-", "-", "-", "-", "-", "-", "-", "-", f"REFUSED: {f.error}"))
            continue
        tags = [f.caption_source] + ["preview"] * (f.caption_status == "preview") + ["LOW"] * (f.caption_quality == "low")
        caption = f"[{', '.join(tags)}] {f.caption}" if f.caption else "(no caption)"
        rows.append((f.name, f.kind or "?", f"{f.width}x{f.height}", str(f.frames or "-"),
                     f"{f.fps:.3g}" if f.fps else "-", f"{f.duration_s:.1f}" if f.duration_s else "-",
                     "yes" if f.has_audio else "no", f.bucket or "-", f.split or "-", _cut(caption, 60)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    head = f"dataset {report.id}" if report.id else "folder (not imported)"
    typer.echo(f"{head}: {report.path}" + (f"  trigger: {report.trigger_word}" if report.trigger_word else ""))
    for r in rows:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])
    for w in report.warnings:
        typer.echo(f"warning: {w}")
    typer.echo("")
    typer.echo(report.summary)


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
