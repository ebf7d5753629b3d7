"""The typed results of dataset tools: what the agent, the CLI and the API all show."""

from typing import Literal

from pydantic import BaseModel, Field, computed_field

MediaKind = Literal["video", "image"]
Split = Literal["train", "holdout"]


class FileEntry(BaseModel):
    """One file of a dataset: its media facts, its bucket and split, its caption, or why it was refused."""

    name: str = Field(description="Path relative to the dataset directory (or to the checked folder).")
    kind: MediaKind | None = None
    sha256: str | None = None
    width: int | None = None
    height: int | None = None
    frames: int | None = None
    fps: float | None = None
    duration_s: float | None = None
    has_audio: bool | None = None
    codec: str | None = None
    bucket: str | None = Field(None, description="WIDTHxHEIGHTxFRAMES the trainer will crop this file to.")
    split: Split | None = None
    role: Literal["item", "reference"] = Field(
        "item", description="reference = an IC-LoRA reference clip, used only beside its target, not trained on.")
    reference: str | None = Field(None, description="IC-LoRA: this clip's reference clip (name in the dataset).")
    caption: str | None = Field(None, description="Stored caption, WITHOUT the trigger word.")
    caption_source: str | None = Field(None, description="sidecar | vlm | claude | template | user, or none.")
    caption_status: Literal["final", "preview"] | None = None
    error: str | None = Field(None, description="Why this file was refused; refused files are not trained on.")

    @computed_field
    @property
    def caption_quality(self) -> str | None:
        """"low" for template captions (no model looked at the pixels): shown wherever the caption shows."""
        if not self.caption:
            return None
        return "low" if self.caption_source == "template" else "normal"


class DatasetReport(BaseModel):
    """A dataset after import or check: counts, per-file table, problems and what to do about them."""

    id: str | None = Field(None, description="Dataset id in the workspace; None when a folder was only checked.")
    name: str | None = None
    path: str
    n_videos: int = 0
    n_images: int = 0
    n_files: int = Field(0, description="Usable media files (videos + images).")
    duplicates: list[list[str]] = Field(
        default_factory=list, description="Groups of identical files; the first of each group is kept."
    )
    errors: dict[str, str] = Field(default_factory=dict, description="File -> why it was refused.")
    warnings: list[str] = Field(default_factory=list)
    recommendations: list[str] = Field(default_factory=list, description="What to fix or add, in plain words.")
    holdout: list[str] = Field(default_factory=list, description="Files kept out of training for held-out loss.")
    trigger_word: str | None = None
    recipe: str | None = None
    files: list[FileEntry] = Field(default_factory=list)
    summary: str = ""
