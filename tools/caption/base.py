"""The one captioner interface and the item it captions.

A backend implements ``caption(frames, guidance=...)``; ``caption_item`` is the step the service calls, and the
default samples frames first. Backends that need no pixels (sidecar, template) override ``caption_item`` instead.
Whatever a backend returns is data: the service cleans it (``tools.dataset.captions.clean_caption``) before storing.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from PIL import Image

from tools.dataset.models import FileEntry

# What every backend is told besides the recipe's guidance: why the trigger word is absent, and that output is a
# caption only. Model output is still treated as untrusted data whatever the model does with this.
BASE_INSTRUCTIONS = (
    "You write one training caption for a video LoRA from frames sampled in order from one clip. "
    "Write one or two plain sentences of what is visible: subjects, action, setting, camera, lighting. "
    "No preamble, no lists, no quotes. Do not invent names; a trigger word is added separately."
)
# Added to the guidance when the clips' sound trains with the picture (audio on): LTX-2.x generates both from one
# prompt, so a caption that is silent about the sound teaches the LoRA nothing to call the sound up with.
SOUND_INSTRUCTIONS = (
    "The clip's sound is trained too: end with one sentence on the sound as far as the frames show it: who speaks "
    "or sings (and what is said, in double quotes, only when it can be read or is certain), music, sound effects, "
    "the room or street around. Never invent words you cannot know."
)


@dataclass
class CaptionItem:
    """One dataset file to caption: its path on disk and what the dataset already knows about it."""

    path: Path
    entry: FileEntry


class Captioner(ABC):
    """Turns sampled frames of one clip into one caption (without the trigger word)."""

    name: ClassVar[str]
    quality: ClassVar[str] = "normal"  # "low" marks template captions everywhere they show
    # What its captions can say about the sound: "from-frames" (a vision model sees sound sources, hears nothing),
    # "as-written" (the user's own words), "silent-blind" (nothing: it knows only that a clip has a sound track).
    sound: ClassVar[str] = "from-frames"
    frames_per_clip: int = 4

    def prepare(self) -> None:
        """Load what the backend needs (weights, a client) once, so a broken set-up fails before any file."""

    @abstractmethod
    def caption(self, frames: list[Image.Image], *, guidance: str) -> str:
        """Describe the frames of one clip, following the recipe's caption guidance."""

    def caption_item(self, item: CaptionItem, *, guidance: str) -> str:
        from tools.caption.frames import sample_frames

        return self.caption(sample_frames(item.path, self.frames_per_clip), guidance=guidance)


def with_sound(guidance: str, sound: bool) -> str:
    """The recipe's caption guidance, plus the sound instructions when the clips' sound trains."""
    return f"{guidance.strip()} {SOUND_INSTRUCTIONS}" if sound else guidance


def prompt_text(guidance: str) -> str:
    """The instruction a vision model gets: the fixed rules, then the recipe's guidance."""
    return f"{BASE_INSTRUCTIONS}\nGuidance for this dataset: {guidance.strip()}"
