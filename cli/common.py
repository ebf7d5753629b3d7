"""What every command shares: JSON output and the `--json` flag."""

import json
import sys
from typing import Annotated, Any

import typer
from pydantic import BaseModel

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of a summary.")]


def print_json(obj: Any) -> None:
    if isinstance(obj, BaseModel):
        obj = obj.model_dump(mode="json")
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")
