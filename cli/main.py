"""Entry point: builds the command tree from the command modules and converts user errors in one place."""

import importlib
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.common import use_home
from core.errors import LoraportError

# Each module defines `register(app)`; order is the order of `loraport --help`.
COMMAND_MODULES = ["cli.serve", "cli.inspect", "cli.dataset", "cli.caption", "cli.plan", "cli.train", "cli.jobs", "cli.chat", "cli.evaluate", "cli.migrate", "cli.backup"]

app = typer.Typer(
    name="loraport",
    help="Move a video LoRA to LTX-2.3: inspect, plan, caption, train, evaluate, chat.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    home: Annotated[Path | None, typer.Option("--home", help="Workspace directory (default $LORAPORT_HOME).")] = None,
) -> None:
    use_home(home)  # the commands build their workspace from it (cli.common.workspace); no environment writes


def build_app() -> typer.Typer:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)
    return app


def main(argv: list[str] | None = None) -> None:
    from core.logging import setup_logging

    setup_logging()
    try:
        build_app()(args=argv, standalone_mode=True)
    except LoraportError as err:
        typer.echo(f"error: {err.message}", err=True)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
