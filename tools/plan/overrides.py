"""The user's overrides: ``rank=16``, ``steps=+20%``, ``lr=2e-4``, ``resolution=768x512``, ``frames=49``.

Parsed against tools.plan.glossary.SETTINGS (names and aliases, types, bounds); relative values apply to the value
the plan resolved before the override. Every mistake is one LoraportError that says what to write instead.
"""

import re
from typing import Any

from core.errors import LoraportError
from tools.plan.glossary import SETTINGS, SettingInfo, clean_trigger, find_setting
from tools.recipes import bucket_str, parse_bucket

_RELATIVE = re.compile(r"^([+-])\s*(\d+(?:\.\d+)?)\s*(%?)$")
_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


def parse_override_args(items: list[str] | None) -> dict[str, str]:
    """``["rank=16", "steps=+20%"]`` -> ``{"rank": "16", "steps": "+20%"}``."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise LoraportError(f"override {item!r} is not NAME=VALUE, e.g. rank=16 or steps=+20%.")
        out[key.strip()] = value.strip()
    return out


def resolve_overrides(overrides: dict[str, Any] | None, current: dict[str, Any]) -> dict[str, Any]:
    """Turn raw overrides into setting values, relative to ``current`` (setting name -> resolved value)."""
    resolved: dict[str, Any] = {}
    for raw_key, raw in (overrides or {}).items():
        key = raw_key.strip().lower().replace("-", "_")
        if key in ("resolution", "size"):
            resolved["buckets"] = _with_resolution(resolved.get("buckets", current["buckets"]), raw)
        elif key == "frames":
            resolved["buckets"] = _with_frames(resolved.get("buckets", current["buckets"]), raw)
        else:
            info = _lookup(raw_key)
            resolved[info.name] = _parse(info, raw, current.get(info.name))
    return resolved


def _lookup(key: str) -> SettingInfo:
    key = key.strip()
    by_path = {".".join(i.path): i for i in SETTINGS.values() if i.path}  # "optim.steps" from tools.train.config
    info = SETTINGS.get(key.lower()) or by_path.get(key) or find_setting(key)
    if info is None:
        names = ", ".join(sorted(n for n, i in SETTINGS.items() if i.overridable))
        raise LoraportError(f"unknown setting {key!r}; settings you can change: {names}, resolution, frames.")
    if not info.overridable:
        raise LoraportError(f"{info.name} is fixed for LTX-2.x LoRA training and cannot be overridden.")
    return info


def _parse(info: SettingInfo, raw: Any, current: Any) -> Any:
    text = str(raw).strip()
    if info.kind in ("int", "float"):
        value = _number(info, text, current)
        if info.kind == "int":
            value = int(round(value))
        _check_bounds(info, value)
        return value
    if info.kind == "bool":
        if isinstance(raw, bool):
            return raw
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise LoraportError(f"{info.name}={text!r}: write true or false.")
    if info.kind == "list":
        items = raw if isinstance(raw, list) else [p.strip() for p in text.split(",") if p.strip()]
        if info.name == "validation_seeds":
            try:
                return [int(i) for i in items]
            except ValueError:
                raise LoraportError(f"validation_seeds={text!r}: write whole numbers, e.g. 42,7.") from None
        if not items:
            raise LoraportError(f"{info.name} needs at least one value.")
        return [str(i) for i in items]
    if info.kind == "buckets":
        return _buckets(raw)
    if info.choices and text not in info.choices:
        raise LoraportError(f"{info.name}={text!r}: choose one of {', '.join(info.choices)}.")
    if info.name == "trigger":
        phrase = clean_trigger(text.strip("\"'`"))
        if phrase is None:
            raise LoraportError(f"trigger={text!r}: use a short phrase of one to six words of letters, digits, "
                                "'-' or '_' (e.g. zorbly or \"zorbly style\").")
        return phrase
    if not text:
        raise LoraportError(f"{info.name} needs a value.")
    return text


def _number(info: SettingInfo, text: str, current: Any) -> float:
    """'16' absolute; '+20%' / '-10%' relative to the resolved value; '+500' adds; 'x1.5' multiplies."""
    rel = _RELATIVE.match(text)
    if rel or text.lower().startswith("x"):
        if current is None:
            raise LoraportError(f"{info.name}={text!r} is relative but {info.name} has no value yet; give a number.")
        if rel:
            sign, amount, pct = rel.groups()
            delta = float(current) * float(amount) / 100 if pct else float(amount)
            return float(current) + (delta if sign == "+" else -delta)
    try:
        return float(current) * float(text[1:]) if text.lower().startswith("x") else float(text)
    except ValueError:
        raise LoraportError(f"{info.name}={text!r} is not a number: write e.g. {info.name}=16, "
                            f"{info.name}=+20% or {info.name}=-10%.") from None


def _check_bounds(info: SettingInfo, value: float) -> None:
    if (info.low is not None and value < info.low) or (info.high is not None and value > info.high):
        raise LoraportError(f"{info.name}={value:g} is out of range: it must be between {info.low:g} and "
                            f"{info.high:g}.")


def _buckets(raw: Any) -> list[str]:
    items = raw if isinstance(raw, list) else str(raw).split(",")
    try:
        return [bucket_str(parse_bucket(i)) for i in items if str(i).strip()]
    except ValueError as err:
        raise LoraportError(f"buckets: {err}.") from None


def _with_resolution(buckets: list[str], raw: Any) -> list[str]:
    m = re.fullmatch(r"\s*(\d+)\s*[x*]\s*(\d+)\s*", str(raw))
    if not m:
        raise LoraportError(f"resolution={raw!r} is not WIDTHxHEIGHT, e.g. resolution=768x512.")
    frames = parse_bucket(buckets[0]).frames
    return _buckets([f"{m.group(1)}x{m.group(2)}x{frames}"])


def _with_frames(buckets: list[str], raw: Any) -> list[str]:
    try:
        frames = int(str(raw).strip())
    except ValueError:
        raise LoraportError(f"frames={raw!r} is not a whole number; use 8k+1, e.g. 49 or 97.") from None
    if frames < 1 or frames > 257:
        raise LoraportError(f"frames={frames} is out of range: use 8k+1 between 1 and 257, e.g. 49.")
    return _buckets([f"{b.width}x{b.height}x{frames}" for b in map(parse_bucket, buckets)])
