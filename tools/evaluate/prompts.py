"""The sample set: what the LoRA is asked to render, as the ltx-trainer agent skill does it.

Three kinds (each deduplicated, in a fixed order so two evaluations of the same run render the same clips):
- ``train``: up to 3 training captions (in-distribution: does it reproduce what it learned?);
- ``new``: 2-3 of the recipe's validation prompts with the trigger word (out-of-distribution: does the concept
  carry to scenes it never saw, or does it paste the training clips in?);
- ``holdout``: held-out captions (clips it never trained on).
"""

from collections.abc import Sequence

from core.errors import LoraportError
from tools.evaluate.models import EvalPrompt

# When the run has no recipe: scenes far from any training set, with the trigger in front.
GENERIC_NEW = ("{trigger} a lighthouse on a rocky coast at dusk, slow push-in",
               "{trigger} a cat stretching on a sunny windowsill, close-up",
               "{trigger} a crowded city street at night, handheld camera")


def recipe_prompts(recipe: str | None) -> list[str]:
    """The recipe's validation prompts (with ``{trigger}``), or generic ones when there is no usable recipe."""
    if recipe:
        from tools.recipes import load_recipe

        try:
            return list(load_recipe(recipe).validation.prompts)
        except LoraportError:
            pass  # a run planned from a recipe file that is gone still gets evaluated, on generic prompts
    return list(GENERIC_NEW)


def with_trigger(template: str, trigger: str | None) -> str:
    text = template.replace("{trigger}", trigger or "").strip()
    return " ".join(text.split())


def pick_prompts(train_captions: Sequence[str], holdout_captions: Sequence[str], *, recipe: str | None,
                 trigger: str | None, n_train: int = 3, n_new: int = 2, n_holdout: int = 2) -> list[EvalPrompt]:
    """Training, new and held-out prompts, without duplicates (a caption shared by many clips counts once)."""
    seen: set[str] = set()
    out: list[EvalPrompt] = []

    def take(kind: str, texts: Sequence[str], n: int) -> None:
        taken = 0
        for text in texts:
            key = " ".join(text.split()).lower()
            if taken >= n or not key:
                break
            if key in seen:
                continue
            seen.add(key)
            out.append(EvalPrompt(kind=kind, text=text))
            taken += 1

    take("train", list(train_captions), n_train)
    take("new", [with_trigger(p, trigger) for p in recipe_prompts(recipe)], n_new)
    take("holdout", list(holdout_captions), n_holdout)
    return out
