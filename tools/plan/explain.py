"""Plain-English explanations: every resolved setting of a plan, or one setting on its own ("what does rank do?")."""

import re
from typing import Any

from pydantic import BaseModel

from core.errors import LoraportError
from tools.plan.glossary import SETTINGS, find_setting


class SettingExplanation(BaseModel):
    name: str
    value: Any
    source: str
    text: str


SOURCE_WORDS = {"recipe": "from the recipe", "dataset": "fitted to your dataset", "old_lora": "carried over from "
                 "your old LoRA", "hardware": "adapted to your GPU", "user": "set by you"}


def explain_settings(plan) -> list[SettingExplanation]:
    """Explain every resolved setting of a plan: what it does, why this value, where the value came from."""
    out = []
    for name, s in plan.settings.items():
        info = SETTINGS.get(name)
        what = info.what if info else ""
        out.append(SettingExplanation(name=name, value=s.value, source=s.source,
                                      text=f"{what} {s.explanation}".strip()))
    return out


def explain_setting(question: str, recipe: str | None = None) -> str:
    """Explain one training setting in plain English (e.g. "what does rank do?"), with a recipe's value if named."""
    info = find_setting(question)
    if info is None:
        known = ", ".join(sorted(SETTINGS))
        raise LoraportError(f"I don't know a setting called {question!r}. Settings I can explain: {known}.")
    text = f"{info.name}: {info.what}"
    bounds = _bounds(info)
    if bounds:
        text += f" {bounds}"
    if recipe:
        from tools.recipes import load_recipe

        r = load_recipe(recipe)
        choice = r.settings.items().get(info.name)
        if choice is not None:
            text += (f" The {r.name} recipe uses {_fmt(choice.value)}: {choice.why} When to change it: "
                     f"{choice.change} (source: {plain_source(choice.source)})")
        elif info.name == "steps":
            s = r.steps
            text += (f" The {r.name} recipe uses {s.base} steps for {s.reference_items} items, {s.per_item:g} per "
                     f"item more or less, within {s.min}-{s.max}: {s.why}")
    return text


def explain(plan_or_setting) -> str:
    """One text: a whole plan's settings (one line each) or a single setting's explanation."""
    if isinstance(plan_or_setting, str):
        return explain_setting(plan_or_setting)
    lines = [f"- {e.name} = {_fmt(e.value)} ({SOURCE_WORDS.get(e.source, e.source)}): {e.text}"
             for e in explain_settings(plan_or_setting)]
    return "\n".join(lines)


def plain_source(source: str) -> str:
    """A recipe value's source for people: the trainer or table it comes from, without our docs' file names."""
    text = re.sub(r"\s*\([^()]*\.md\b[^()]*\)", "", source)  # "(docs/ltx.md)", "(docs/ltx.md, recipes)"
    text = re.sub(r";?\s*[\w/]*\.md\b:?[^;]*", "", text)  # "; docs/ltx.md: trigger at preprocessing"
    return text.strip(" ;,") or "loraport's recipe"


def _bounds(info) -> str:
    if info.choices and len(info.choices) > 1:
        return f"Choices: {', '.join(info.choices)}."
    if info.low is not None and info.high is not None:
        return f"Allowed range: {info.low:g} to {info.high:g}."
    return ""


def _fmt(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
