"""Every CLI command has help (a user's first question), and user errors never print a traceback."""

import click
from typer.testing import CliRunner

from cli.main import build_app


def _commands(group: click.Group, prefix=()):
    for name, cmd in group.commands.items():
        yield prefix + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))


def test_every_command_has_help():
    import typer.main

    app = build_app()
    root = typer.main.get_command(app)
    runner = CliRunner()
    names = list(_commands(root))
    assert names, "no commands registered"
    for path, cmd in names:
        assert (cmd.help or "").strip(), f"`loraport {' '.join(path)}` has no help text"
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, result.output
