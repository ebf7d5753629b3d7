"""Settings as the conversation shows them: read a value from a resolved config and diff two configs.

Parsing a spoken value ("+20%", "x2", "768x512") and the settings' names, aliases and bounds belong to
``tools.plan.overrides`` / ``tools.plan.glossary``; applying changes belongs to the plan (``set_option``) and to
``tools.train.retrain`` (a retrain). This module only reads ``TrainConfig`` JSON.
"""

from typing import Any

from tools.plan.glossary import SETTINGS, config_value

# What the plan review and a setting change show; where each lives in TrainConfig JSON is the glossary's.
_SHOWN_NAMES = ("model", "rank", "alpha", "steps", "learning_rate", "batch_size", "schedule", "trigger",
                "checkpoint_every", "seed", "optimizer", "quantize_base")
SHOWN: dict[str, str] = {**{n: ".".join(SETTINGS[n].path) for n in _SHOWN_NAMES if n in SETTINGS},
                         "resolution": "data.buckets", "frames": "data.buckets"}


def current_value(config: dict[str, Any] | None, name: str) -> Any:
    if not config:
        return None
    if name in ("resolution", "frames"):
        buckets = (config.get("data") or {}).get("buckets") or []
        if not buckets:
            return None
        first = buckets[0]
        return f"{first['width']}x{first['height']}" if name == "resolution" else first["frames"]
    return config_value(config, SHOWN[name].split("."))


def diff(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, tuple[Any, Any]]:
    """{name: (old, new)} for every shown setting whose value differs."""
    pairs = {name: (current_value(old, name), current_value(new, name)) for name in SHOWN}
    return {name: pair for name, pair in pairs.items() if pair[0] != pair[1]}


def describe_diff(changes: dict[str, tuple[Any, Any]]) -> str:
    return "; ".join(f"{name.replace('_', ' ')} {before} -> {after}"
                     for name, (before, after) in changes.items()) or "no change"
