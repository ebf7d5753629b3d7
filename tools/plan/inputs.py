"""What the plan reads from its inputs: the dataset (a DatasetReport, a folder or an id) and the old LoRA's report.

Both arrive in several shapes (pydantic objects from other tools, dicts from JSON, a bare path); this module turns
them into two small facts objects so ``tools.plan.service`` reads one shape.
"""

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from tools.plan.glossary import clean_trigger


class MediaFacts(BaseModel):
    name: str
    kind: str  # video | image
    width: int | None = None
    height: int | None = None
    frames: int | None = None
    duration_s: float | None = None
    split: str = "train"
    role: str = "item"  # item | reference (an IC-LoRA reference clip, not trained on by itself)
    reference: str | None = None
    has_audio: bool | None = None  # a sound track (None: not known)


class DatasetFacts(BaseModel):
    path: str
    n_videos: int = 0
    n_images: int = 0
    n_holdout: int = 0
    total_duration_s: float = 0.0
    files: list[MediaFacts] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="Warnings and advice from the dataset check.")
    recipe: str | None = Field(None, description="Recipe the dataset check applied, if any.")

    @property
    def n_items(self) -> int:
        return self.n_videos + self.n_images


class OldLoraFacts(BaseModel):
    path: str | None = None
    family: str | None = None  # ltx-2, ltx-2.3, ltx-2.x, ...
    rank: int | None = None
    steps: int | None = None
    learning_rate: float | None = None
    trigger: str | None = None
    resolution: tuple[int, int] | None = None
    frames: int | None = None
    recipe: str | None = None
    health: str | None = None  # ok | suspect | broken
    verdict: str | None = None
    ic: bool = False  # an IC-LoRA (reference-conditioned): does not carry over from 2.3 to 2.5
    audio_trained: bool | None = None  # its audio-branch layers were trained: it learned a voice or sound


def dataset_facts(dataset: Any, recipe_name: str | None = None) -> DatasetFacts:
    """A DatasetReport (object or dict), DatasetFacts, or a folder / dataset id -> DatasetFacts."""
    if isinstance(dataset, DatasetFacts):
        return dataset
    if isinstance(dataset, (str, Path)):
        from tools.dataset import check_dataset

        dataset = check_dataset(dataset, recipe=recipe_name)
    data = dataset.model_dump() if isinstance(dataset, BaseModel) else dict(dataset)
    files = [MediaFacts(name=f["name"], kind=f.get("kind") or "video", width=f.get("width"),
                        height=f.get("height"), frames=f.get("frames"), duration_s=f.get("duration_s"),
                        split=f.get("split") or "train", role=f.get("role") or "item",
                        reference=f.get("reference"), has_audio=f.get("has_audio"))
             for f in data.get("files", []) if not f.get("error") and f.get("kind")]
    items = [f for f in files if f.role != "reference"]
    n_videos = data.get("n_videos", sum(f.kind == "video" for f in items))
    n_images = data.get("n_images", sum(f.kind == "image" for f in items))
    holdout = data.get("holdout") or [f.name for f in files if f.split == "holdout"]
    return DatasetFacts(path=str(data.get("path", "")), n_videos=n_videos, n_images=n_images,
                        n_holdout=len(holdout), files=files,
                        total_duration_s=sum(f.duration_s or 0.0 for f in files if f.kind == "video"),
                        notes=list(data.get("warnings", [])) + list(data.get("recommendations", [])),
                        recipe=data.get("recipe"))


def old_lora_facts(report: Any) -> OldLoraFacts | None:
    """An InspectReport (object or its JSON dict) -> what the plan may carry over; None passes through."""
    if report is None or isinstance(report, OldLoraFacts):
        return report
    data = report.model_dump(mode="json") if isinstance(report, BaseModel) else dict(report)
    carry = (data.get("migration") or {}).get("carry_over") or {}
    training = data.get("training") or {}
    rank = carry.get("rank") or training.get("rank") or (data.get("rank") or {}).get("mode")
    triggers = data.get("trigger_words") or []
    trigger = carry.get("trigger_word") or (triggers[0] if triggers else None)  # data, kept only if plausible
    return OldLoraFacts(
        path=data.get("path"), family=(data.get("base_model") or {}).get("family"),
        rank=_int(rank), steps=_int(carry.get("steps") or training.get("steps")),
        learning_rate=_float(carry.get("learning_rate") or training.get("learning_rate")),
        trigger=clean_trigger(trigger), resolution=_resolution(carry.get("resolution")
                                                               or training.get("resolution")),
        frames=_int(carry.get("frames")), recipe=(data.get("migration") or {}).get("recipe"),
        health=(data.get("health") or {}).get("status"), verdict=(data.get("verdict") or {}).get("status"),
        ic=bool(data.get("ic_lora")), audio_trained=data.get("audio_trained"))


def _int(v: Any) -> int | None:
    try:
        return int(float(v)) if v not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _float(v: Any) -> float | None:
    try:
        return float(v) if v not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _resolution(v: Any) -> tuple[int, int] | None:
    if isinstance(v, dict):
        w, h = _int(v.get("width")), _int(v.get("height"))
    elif isinstance(v, (list, tuple)) and len(v) >= 2:
        w, h = _int(v[0]), _int(v[1])
    elif isinstance(v, str) and (m := re.match(r"\s*(\d+)\s*[x,*]\s*(\d+)", v)):
        w, h = int(m.group(1)), int(m.group(2))
    else:
        return None
    return (w, h) if w and h else None
