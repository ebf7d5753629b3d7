"""What every command shares: JSON output, the `--json` flag, and the workspace `--home` names."""

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import BaseModel

if TYPE_CHECKING:
    from core.settings import Settings
    from core.workspace import Workspace

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of a summary.")]
_home: Path | None = None  # `loraport --home DIR` of this invocation (set by the root callback, reset each run)


def use_home(home: Path | None) -> None:
    """Remember `--home` for this invocation's commands; the environment is left alone."""
    global _home
    _home = home


def workspace() -> "Workspace":
    """The workspace this command works in: `--home` when given, else the settings' ($LORAPORT_HOME)."""
    from core.workspace import Workspace

    return Workspace(_home.expanduser().resolve()).ensure() if _home else Workspace.from_settings()


def settings(**overrides) -> "Settings":
    """The settings, with `--home` (when given) as the workspace."""
    from core.settings import get_settings

    return get_settings(**overrides, home=_home)


def print_json(obj: Any) -> None:
    if isinstance(obj, BaseModel):
        obj = obj.model_dump(mode="json")
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")
