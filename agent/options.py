"""Settings as the conversation shows them: read a value from a resolved config, diff two configs, and apply a
user's changes to an earlier run's config (for "retrain with 20% more steps").

Parsing a spoken value ("+20%", "x2", "768x512") and the settings' names, aliases and bounds belong to
``tools.overrides`` / ``tools.glossary``; this module only reads and writes ``TrainConfig`` JSON with them.
"""

import copy
from typing import Any

from agent.toolkit import real

# What the plan review and the approval diff show, and where each lives in TrainConfig JSON.
SHOWN: dict[str, str] = {
    "model": "model.id", "rank": "lora.rank", "alpha": "lora.alpha", "steps": "optim.steps",
    "learning_rate": "optim.learning_rate", "batch_size": "optim.batch_size", "schedule": "optim.schedule",
    "resolution": "data.buckets", "frames": "data.buckets", "trigger": "data.trigger_word",
    "checkpoint_every": "checkpoints.every", "seed": "seed",
}


def current_value(config: dict[str, Any] | None, name: str) -> Any:
    if not config:
        return None
    if name in ("resolution", "frames"):
        buckets = (config.get("data") or {}).get("buckets") or []
        if not buckets:
            return None
        first = buckets[0]
        return f"{first['width']}x{first['height']}" if name == "resolution" else first["frames"]
    return _get(config, SHOWN[name].split("."))


def diff(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, tuple[Any, Any]]:
    """{name: (old, new)} for every shown setting whose value differs."""
    pairs = {name: (current_value(old, name), current_value(new, name)) for name in SHOWN}
    return {name: pair for name, pair in pairs.items() if pair[0] != pair[1]}


def describe_diff(changes: dict[str, tuple[Any, Any]]) -> str:
    return "; ".join(f"{name} {before} -> {after}" for name, (before, after) in changes.items()) or "no change"


def apply_changes(config: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A copy of a resolved config with the user's changes (relative ones against this config's values)."""
    settings = real("tools.glossary", "SETTINGS")
    bucket_str, parse_bucket = real("tools.recipes", "bucket_str"), real("tools.recipes", "parse_bucket")
    bucket_cls = real("trainer.config", "Bucket")
    current = {name: _get(config, info.path) for name, info in settings.items() if info.path}
    current["buckets"] = [bucket_str(bucket_cls(**b)) for b in config["data"]["buckets"]]
    resolved = real("tools.overrides", "resolve_overrides")(changes, current)
    out = copy.deepcopy(config)
    for name, value in resolved.items():
        if name == "buckets":
            out["data"]["buckets"] = [parse_bucket(b).model_dump() for b in value]
            continue
        *parents, leaf = settings[name].path
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        if name == "rank" and "alpha" not in resolved and node.get("alpha") == node.get("rank"):
            node["alpha"] = value  # keep alpha = rank: every loader then agrees on the scale (USERS.md)
        node[leaf] = value
    return out


def _get(config: dict[str, Any], path) -> Any:
    node: Any = config
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node
