"""`loraport backup DEST`: a consistent copy of the workspace, taken while the service runs."""

from pathlib import Path
from typing import Annotated

import typer

from cli.common import JsonFlag, print_json, workspace


def register(app: typer.Typer) -> None:
    @app.command()
    def backup(
        dest: Annotated[Path, typer.Argument(help="A new or empty folder outside the workspace.")],
        files: Annotated[bool, typer.Option(
            "--files/--databases-only", help="Copy datasets, runs and uploads too (default), or only the databases.",
        )] = True,
        json_: JsonFlag = False,
    ) -> None:
        """Back up the workspace (SQLite's online backup for the databases; the cache is left out). Safe while
        `loraport serve` runs; restore by pointing LORAPORT_HOME at the copy."""
        from core.backup import backup_workspace

        report = backup_workspace(workspace(), dest, files=files)
        if json_:
            print_json(report)
            return
        typer.echo(f"backed up {', '.join(report.databases) or 'no database'} and {report.files} files "
                   f"({report.bytes / 2**20:.1f} MiB) to {report.dest} in {report.seconds:.1f} s")
