"""What a recipe asks of a dataset (clip counts, buckets, caption guidance), read from ``tools.recipes``.

The recipe is optional: without one, the general advice of Lightricks' trainer applies (tens of clips; a handful is
too few). A recipe given by name is loaded with ``tools.recipes.load_recipe``, which owns the "unknown recipe" error.
"""

from dataclasses import dataclass, field

from trainer.config import Bucket

from tools.dataset.layout import DEFAULT_BUCKETS

GENERIC_CAPTION_GUIDANCE = (
    "Describe what changes from clip to clip (setting, action, camera, lighting, clothing) in one or two plain "
    "sentences; do not name or describe the concept being learned: the trigger word stands for it."
)


@dataclass
class Guidance:
    name: str | None = None
    videos: tuple[int, int] = (10, 50)
    images: tuple[int, int] = (0, 0)
    min_items: int = 5
    video_required: bool = False
    clip_seconds: tuple[float, float] | None = None
    buckets: list[Bucket] = field(default_factory=lambda: list(DEFAULT_BUCKETS))
    caption_guidance: str = GENERIC_CAPTION_GUIDANCE
    trigger_word: str | None = None
    holdout_fraction: float = 0.1
    reference_suffix: str | None = None  # IC-LoRA recipes: clip.mp4's reference is clip<suffix>.mp4
    sound: bool = False  # the recipe trains the clips' sound (audio on / required): captions describe it too


def load_guidance(recipe) -> Guidance:
    """Turn a recipe (a name, a ``tools.recipes.Recipe`` or None) into the facts the dataset and caption tools need."""
    if recipe is None:
        return Guidance()
    if isinstance(recipe, Guidance):
        return recipe
    if isinstance(recipe, str):
        from tools.recipes import load_recipe

        recipe = load_recipe(recipe)
    cap = recipe.caption
    caption_text = " ".join([cap.guidance, "Describe: " + ", ".join(cap.describe) + ".",
                             "Avoid: " + ", ".join(cap.avoid) + ".", f"Example: {cap.example}"])
    s = recipe.settings
    return Guidance(
        name=recipe.name, videos=tuple(recipe.data.videos), images=tuple(recipe.data.images),
        min_items=recipe.data.min_items, video_required=recipe.data.video_required,
        clip_seconds=tuple(recipe.data.clip_seconds), buckets=recipe.tiers.standard.parsed(),
        caption_guidance=caption_text, trigger_word=s.trigger.value if s.trigger else None,
        holdout_fraction=s.holdout_fraction.value if s.holdout_fraction else 0.1,
        reference_suffix=recipe.ic.reference_suffix.value if recipe.ic else None,
        sound=bool(getattr(s, "audio", None) and s.audio.value != "off"),
    )


def count_advice(g: Guidance, n_videos: int, n_images: int) -> list[str]:
    """Plain recommendations when the dataset is too small, too large or lopsided for the recipe; [] when it fits."""
    label = f"The {g.name} recipe" if g.name else "A LoRA"
    lo, hi = g.videos
    n = n_videos + n_images
    advice = []
    if n < g.min_items:
        advice.append(
            f"{label} needs at least {g.min_items} files and works best with {lo}-{hi} clips; this set has "
            f"{n_videos} clip(s) and {n_images} image(s). Add {g.min_items - n} or more varied clips (other settings, "
            "angles, lighting) before training: with this few the LoRA copies the clips instead of learning the concept."
        )
    elif n_videos < lo and not (g.images[1] and n_images >= g.images[0]):
        advice.append(f"{label} works best with {lo}-{hi} clips; this set has {n_videos}. It can train, but "
                      f"{lo - n_videos} more varied clip(s) would make the LoRA hold up better in new prompts.")
    if g.video_required and n_videos == 0 and n:
        advice.append(f"{label} needs video: image-only sets barely take on LTX-2.3. Add a few short clips.")
    if n_videos > hi * 2:
        advice.append(f"{n_videos} clips is far more than {label.lower()} needs ({lo}-{hi}); training will be slower "
                      "for little gain. Keep the most varied ones.")
    return advice


def reference_advice(g: Guidance, lacking: list[str]) -> list[str]:
    """IC-LoRA recipes: the clips that have no reference clip beside them."""
    if not g.reference_suffix or not lacking:
        return []
    stem, ext = lacking[0].rsplit(".", 1) if "." in lacking[0] else (lacking[0], "mp4")
    return [f"{len(lacking)} clip(s) have no reference clip ({', '.join(lacking[:3])}): IC-LoRA needs each clip "
            f"beside its reference, e.g. {stem}{g.reference_suffix}.{ext}."]


def length_advice(g: Guidance, durations: dict[str, float]) -> list[str]:
    """Clips much shorter or longer than the recipe finds useful, by name."""
    if not g.clip_seconds:
        return []
    lo, hi = g.clip_seconds
    short = sorted(n for n, d in durations.items() if d < lo)
    long = sorted(n for n, d in durations.items() if d > hi * 2)
    out = []
    if short:
        out.append(f"{len(short)} clip(s) are shorter than {lo:g} s ({', '.join(short[:5])}): they train on few frames.")
    if long:
        out.append(f"{len(long)} clip(s) are longer than {hi * 2:g} s ({', '.join(long[:5])}): only their start is "
                   "used; cut them into shorter clips to use the rest.")
    return out
