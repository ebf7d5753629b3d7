"""Recipes: one TOML file per use case in ``recipes/``, validated on load (pydantic, ``extra="forbid"``).

A recipe file holds what is specific to its use case; ``recipes/_defaults.toml`` holds the settings every recipe
shares (Lightricks' trainer defaults). A recipe's value for a setting wins over the defaults. Every setting
carries ``value``, ``why`` (why this value), ``change`` (when to change it) and ``source`` (the citation).
"""

import re
import tomllib
from pathlib import Path
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.errors import LoraportError, NotFoundError
from trainer.config import Bucket

RECIPES_DIR = Path(__file__).resolve().parent.parent / "recipes"
DEFAULTS_FILE = "_defaults.toml"
_BUCKET_RE = re.compile(r"^\s*(\d+)\s*x\s*(\d+)\s*x\s*(\d+)\s*$")

T = TypeVar("T")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Reasoned(Strict):
    why: str = Field(min_length=10, description="Why this value, in plain English.")
    change: str = Field(min_length=10, description="When to change it, and which way.")
    source: str = Field(min_length=5, description="Where the value comes from (a citation).")


class Choice(Reasoned, Generic[T]):
    value: T


def parse_bucket(text: str) -> Bucket:
    """'960x544x49' -> Bucket(width=960, height=544, frames=49); raises ValueError naming the rule broken."""
    m = _BUCKET_RE.match(str(text))
    if not m:
        raise ValueError(f"bucket {text!r} is not WIDTHxHEIGHTxFRAMES, e.g. 960x544x49")
    w, h, f = (int(g) for g in m.groups())
    try:
        return Bucket(width=w, height=h, frames=f)
    except ValidationError as err:
        raise ValueError(f"bucket {text!r}: {err.errors()[0]['msg']} (sizes are multiples of 32, "
                         f"frames 8k+1)") from None


def bucket_str(b: Bucket) -> str:
    return f"{b.width}x{b.height}x{b.frames}"


class Tier(Reasoned):
    buckets: list[str] = Field(min_length=1)

    @field_validator("buckets")
    @classmethod
    def _buckets_valid(cls, value: list[str]) -> list[str]:
        return [bucket_str(parse_bucket(b)) for b in value]

    def parsed(self) -> list[Bucket]:
        return [parse_bucket(b) for b in self.buckets]


class Tiers(Strict):
    standard: Tier
    low_vram: Tier


class StepsRule(Reasoned):
    """steps = clamp(base + per_item * (items - reference_items), min, max); items = clips + image_weight*images."""

    base: int = Field(ge=10)
    reference_items: int = Field(ge=1)
    per_item: float = Field(ge=0)
    min: int = Field(ge=10)
    max: int = Field(le=100_000)
    image_weight: float = Field(0.5, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> "StepsRule":
        if not self.min <= self.base <= self.max:
            raise ValueError(f"need min <= base <= max, got {self.min}, {self.base}, {self.max}")
        return self

    def steps_for(self, n_videos: int, n_images: int) -> int:
        items = n_videos + self.image_weight * n_images
        raw = self.base + self.per_item * (items - self.reference_items)
        return int(max(self.min, min(self.max, round(raw / 50) * 50)))


class DataGuidance(Strict):
    videos: tuple[int, int] = Field(description="Recommended number of video clips (low, high).")
    images: tuple[int, int] = Field(description="Recommended number of images (low, high); (0, 0) = not useful.")
    min_items: int = Field(ge=1, description="Below this the plan recommends adding data before training.")
    video_required: bool = Field(description="Warn when the dataset has no video at all.")
    clip_seconds: tuple[float, float] = Field(description="Useful clip length in seconds (low, high).")
    guidance: str = Field(min_length=20)
    source: str = Field(min_length=5)


class CaptionGuidance(Strict):
    guidance: str = Field(min_length=20, description="The rule: describe what should vary, not the concept.")
    describe: list[str] = Field(min_length=1)
    avoid: list[str] = Field(min_length=1)
    example: str
    source: str = Field(min_length=5)


class Validation(Strict):
    prompts: list[str] = Field(min_length=1)
    why: str = Field(min_length=10)
    source: str = Field(min_length=5)

    @field_validator("prompts")
    @classmethod
    def _has_trigger(cls, value: list[str]) -> list[str]:
        for p in value:
            if "{trigger}" not in p:
                raise ValueError(f"validation prompt {p!r} must contain {{trigger}}")
        return value


class Advice(Strict):
    weak: list[str] = Field(min_length=1, description="What to try when the LoRA barely shows.")
    overfit: list[str] = Field(min_length=1, description="What to try when it copies the clips or breaks prompts.")


class IcSettings(Strict):
    reference_suffix: Choice[str]
    reference_guidance: str = Field(min_length=20)


class RecipeSettings(Strict):
    """Settings a recipe may set; names are those of tools.plan.glossary.SETTINGS."""

    strategy: Choice[Literal["text-to-video", "ic-lora"]] | None = None
    trigger: Choice[str] | None = None
    rank: Choice[int] | None = None
    alpha: Choice[float] | None = None
    targets: Choice[list[str]] | None = None
    video_only: Choice[bool] | None = None
    audio: Choice[Literal["off", "on", "required"]] | None = None
    learning_rate: Choice[float] | None = None
    optimizer: Choice[Literal["adamw", "adamw8bit"]] | None = None
    schedule: Choice[Literal["constant", "linear", "cosine"]] | None = None
    warmup_steps: Choice[int] | None = None
    batch_size: Choice[int] | None = None
    grad_accum: Choice[int] | None = None
    weight_decay: Choice[float] | None = None
    max_grad_norm: Choice[float] | None = None
    gradient_checkpointing: Choice[bool] | None = None
    mixed_precision: Choice[Literal["auto", "bf16", "no"]] | None = None
    quantize_base: Choice[Literal["none", "int8"]] | None = None
    first_frame_p: Choice[float] | None = None
    holdout_fraction: Choice[float] | None = None
    checkpoint_every: Choice[int] | None = None
    checkpoint_keep: Choice[int] | None = None
    validation_every: Choice[int] | None = None
    validation_seeds: Choice[list[int]] | None = None
    validation_steps: Choice[int] | None = None
    timestep_sampling: Choice[Literal["shifted-logit-normal"]] | None = None
    seed: Choice[int] | None = None

    def items(self) -> dict[str, Choice]:
        return {k: v for k, v in self if v is not None}


class Recipe(Strict):
    name: str
    title: str
    purpose: str = Field(min_length=20, description="What the recipe is for, in plain English.")
    keywords: list[str] = Field(min_length=1, description="Words that point to this recipe (match_recipe).")
    settings: RecipeSettings
    steps: StepsRule
    tiers: Tiers
    data: DataGuidance
    caption: CaptionGuidance
    validation: Validation
    advice: Advice
    ic: IcSettings | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "Recipe":
        required = ("strategy", "trigger", "rank", "alpha", "targets", "learning_rate", "first_frame_p")
        missing = [k for k in required if getattr(self.settings, k) is None]
        if missing:
            raise ValueError(f"settings.{missing[0]} is required in every recipe")
        if (self.settings.strategy.value == "ic-lora") != (self.ic is not None):
            raise ValueError("an ic-lora recipe needs an [ic] table, and only an ic-lora recipe may have one")
        return self


class RecipeSummary(Strict):
    name: str
    title: str
    purpose: str
    rank: int
    strategy: str


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise LoraportError(f"recipe file {path.name} is not valid TOML: {err}. Fix the syntax and retry.") from None
    except OSError as err:
        raise LoraportError(f"cannot read recipe file {path}: {err.strerror}") from None


def _merge_defaults(defaults: dict, data: dict) -> dict:
    merged = dict(data)
    merged["settings"] = {**defaults.get("settings", {}), **data.get("settings", {})}
    return merged


def _validation_message(path: Path, err: ValidationError) -> str:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"] if not str(p).startswith("Choice["))
    what = "is not a known field (typo?)" if first["type"] == "extra_forbidden" else first["msg"]
    more = f" (and {err.error_count() - 1} more problem(s))" if err.error_count() > 1 else ""
    return f"recipe file {path.name}: field '{loc}' {what}{more}. Fix the file and retry."


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def load_recipe_file(path: Path, defaults_path: Path | None = None) -> Recipe:
    """Load and validate one recipe file; errors name the file and the field."""
    return _parsed(Path(path), defaults_path).model_copy(deep=True)  # a copy: the caller may change it


def _parsed(path: Path, defaults_path: Path | None = None) -> Recipe:
    """The parsed recipe, shared: read it, never change it. Parsing and validating costs ~1 ms a file and the
    agent lists recipes on many turns, so each is kept while neither its file nor the defaults file changed."""
    defaults_path = defaults_path or path.parent / DEFAULTS_FILE
    key = (str(path), _stamp(path), str(defaults_path), _stamp(defaults_path))
    cached = _PARSED.get(key[0])
    if cached is None or cached[0] != key or key[1] is None:
        cached = (key, _load_recipe_file(path, defaults_path))
        _PARSED[key[0]] = cached
    return cached[1]


_PARSED: dict[str, tuple[tuple, Recipe]] = {}  # path -> (file stamps, parsed recipe); errors are never kept


def _load_recipe_file(path: Path, defaults_path: Path) -> Recipe:
    defaults = _read_toml(defaults_path) if defaults_path.exists() else {}
    data = _read_toml(path)
    if "name" in data:
        raise LoraportError(f"recipe file {path.name}: field 'name' is not allowed; the file name is the name.")
    data = _merge_defaults(defaults, {**data, "name": path.stem})
    try:
        return Recipe.model_validate(data)
    except ValidationError as err:
        raise LoraportError(_validation_message(path, err)) from None


def _recipe_paths(recipes_dir: Path | None) -> list[Path]:
    directory = Path(recipes_dir or RECIPES_DIR)
    return sorted(p for p in directory.glob("*.toml") if not p.name.startswith("_"))


def list_recipes(recipes_dir: Path | None = None) -> list[RecipeSummary]:
    """List the training recipes (character, style, motion, face, object, ...) with what each is for."""
    out = []
    for path in _recipe_paths(recipes_dir):
        r = _parsed(path)
        out.append(RecipeSummary(name=r.name, title=r.title, purpose=r.purpose, rank=r.settings.rank.value,
                                 strategy=r.settings.strategy.value))
    return out


def load_recipe(name: str, recipes_dir: Path | None = None) -> Recipe:
    """Load one recipe by name (e.g. "character"), validated, with every value's reason and source."""
    names = {p.stem: p for p in _recipe_paths(recipes_dir)}
    key = name.strip().lower()
    if key not in names:
        raise NotFoundError(f"no recipe named {name!r}; choose one of: {', '.join(sorted(names))}.")
    return load_recipe_file(names[key])


def match_recipe(description: str, recipes_dir: Path | None = None) -> RecipeSummary | None:
    """Pick the recipe that fits a plain description ("it's a person" -> character); None when nothing fits."""
    words = set(re.findall(r"[a-z0-9]+", description.lower()))
    best: tuple[int, RecipeSummary] | None = None
    for path in _recipe_paths(recipes_dir):
        r = _parsed(path)
        score = sum(2 if " " in k else 1 for k in r.keywords
                    if (k in words if " " not in k else k in description.lower()))
        score += 3 if r.name in words else 0
        if score and (best is None or score > best[0]):
            best = (score, RecipeSummary(name=r.name, title=r.title, purpose=r.purpose,
                                         rank=r.settings.rank.value, strategy=r.settings.strategy.value))
    return best[1] if best else None
