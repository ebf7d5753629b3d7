"""Rules that fit a recipe to the dataset in hand: buckets that suit the clips, tiny demo buckets, and the
recommendations a too-small or lopsided dataset gets (advice, never a crash)."""

import json
from pathlib import Path

from tools.plan.inputs import DatasetFacts
from tools.recipes import Recipe, bucket_str, parse_bucket

TINY_SCALE = 10  # 960x544 -> 96x64: the tiny VAE compresses 8x, so that is a 12x8 latent grid
TINY_MAX_FRAMES = 17


def tiny_buckets(buckets: list[str]) -> list[str]:
    """The recipe's real buckets shrunk for the tiny demo model, keeping each one's shape, deduplicated."""
    out: list[str] = []
    for b in map(parse_bucket, buckets):
        w, h = (max(32, round(x / TINY_SCALE / 32) * 32) for x in (b.width, b.height))
        s = f"{w}x{h}x{min(b.frames, TINY_MAX_FRAMES)}"
        if s not in out:
            out.append(s)
    return out


def adapt_buckets(buckets: list[str], facts: DatasetFacts) -> tuple[list[str], str | None]:
    """Drop buckets no clip is nearest to, and cut frames so the shortest clip still fits (8k+1)."""
    parsed = [parse_bucket(b) for b in buckets]
    sized = [f for f in facts.files if f.width and f.height]
    reasons = []
    if sized:
        used = {min(range(len(parsed)), key=lambda i: abs(parsed[i].width / parsed[i].height - f.width / f.height))
                for f in sized}
        if len(used) < len(parsed):
            dropped = [bucket_str(parsed[i]) for i in range(len(parsed)) if i not in used]
            parsed = [parsed[i] for i in sorted(used)]
            reasons.append(f"no clip is close to the shape of {', '.join(dropped)}, so "
                           f"{'it is' if len(dropped) == 1 else 'they are'} left out")
    lengths = [f.frames for f in facts.files if f.kind == "video" and f.frames and f.frames >= 9]
    if lengths:
        shortest = min(lengths)
        fit = (shortest - 1) // 8 * 8 + 1
        if any(b.frames > fit for b in parsed):
            parsed = [parse_bucket(f"{b.width}x{b.height}x{min(b.frames, fit)}") for b in parsed]
            reasons.append(f"the shortest clip has {shortest} frames, so buckets use at most {fit} frames "
                           "(8k+1) and no clip is dropped as too short")
    if not reasons:
        return buckets, None
    out = list(dict.fromkeys(bucket_str(b) for b in parsed))
    return out, "Fitted to your clips: " + "; ".join(reasons) + "."


def dataset_warnings(recipe: Recipe, facts: DatasetFacts) -> tuple[list[str], bool]:
    """Recommendations for this dataset under this recipe, and whether it meets the recipe's minimum."""
    recs = _count_advice(recipe, facts)
    n = facts.n_items
    if n and recipe.data.images == (0, 0) and facts.n_images:
        recs.append(f"{facts.n_images} image(s) in the set: the {recipe.name} recipe learns from video, and "
                    "stills teach it nothing about movement. Replace them with clips.")
    if recipe.ic is not None and facts.recipe != recipe.name:  # else the dataset check already paired them
        recs += _missing_references(facts, recipe.ic.reference_suffix.value)
    return list(dict.fromkeys(recs)), n >= recipe.data.min_items


def _count_advice(recipe: Recipe, facts: DatasetFacts) -> list[str]:
    if facts.n_items == 0:
        return [f"The dataset has no usable clips or images. The {recipe.name} recipe needs at least "
                f"{recipe.data.min_items} and works best with {recipe.data.videos[0]}-{recipe.data.videos[1]} "
                f"clips. {recipe.data.guidance}"]
    if facts.recipe == recipe.name:  # the dataset check already applied this recipe's counts
        return list(facts.notes)
    from tools.dataset.guidance import count_advice, load_guidance

    advice = count_advice(load_guidance(recipe), facts.n_videos, facts.n_images)
    if facts.n_items < recipe.data.min_items:
        advice.append(f"If you train anyway, expect a LoRA that copies the clips: {recipe.data.guidance}")
    return advice + list(facts.notes)


def _missing_references(facts: DatasetFacts, suffix: str) -> list[str]:
    names = {f.name for f in facts.files}
    named = _referenced(Path(facts.path)) if facts.path else set()
    targets = [f.name for f in facts.files if f.kind == "video" and f.role != "reference" and not f.reference
               and not Path(f.name).stem.endswith(suffix)]
    missing = [t for t in targets if t not in named
               and str(Path(t).with_name(Path(t).stem + suffix + Path(t).suffix)) not in names]
    if not missing:
        return []
    return [f"{len(missing)} clip(s) have no reference clip ({', '.join(missing[:3])}): IC-LoRA needs each target "
            f"beside a reference of the same length, e.g. {Path(missing[0]).stem}{suffix}{Path(missing[0]).suffix}, "
            "or a 'reference' column in captions.jsonl."]


def _referenced(folder: Path) -> set[str]:
    """Targets that captions.jsonl gives a reference for (read as data only)."""
    path = folder / "captions.jsonl"
    out: set[str] = set()
    try:
        lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    except OSError:
        return out
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and row.get("reference") and isinstance(row.get("media"), str):
            out.add(row["media"])
    return out
