"""Buckets and the held-out split: how the files of a dataset will be used by the trainer.

A file's bucket is the recipe bucket nearest its aspect ratio (the trainer resizes keeping aspect and centre-crops
to it) with the frame count cut to what the clip has, by the 8k+1 rule; images are one frame. The split is seeded
and depends only on file content, so the same files and seed always give the same held-out set, whatever their names
or order.
"""

import math

from trainer.config import Bucket
from trainer.holdout import HOLDOUT_SEED, MIN_ITEMS_FOR_HOLDOUT, holdout_names

DEFAULT_BUCKETS = [Bucket(width=768, height=512, frames=49), Bucket(width=512, height=768, frames=49),
                   Bucket(width=640, height=640, frames=49)]
MIN_FILES_FOR_HOLDOUT = MIN_ITEMS_FOR_HOLDOUT


def assign_bucket(kind: str, width: int, height: int, frames: int | None, buckets: list[Bucket]) -> tuple[str, str | None]:
    """Return (``"WxHxF"``, a note shared by clips equally short for their bucket) for one file."""
    buckets = buckets or DEFAULT_BUCKETS
    aspect = width / max(height, 1)
    best = min(buckets, key=lambda b: abs(math.log(aspect * b.height / b.width)))
    if kind == "image":
        return f"{best.width}x{best.height}x1", None
    usable = ((max(frames or 1, 1) - 1) // 8) * 8 + 1  # 8k+1 frames, never more than the clip has
    n = min(best.frames, usable)
    note = None
    if n < best.frames:
        note = f"are shorter than the bucket's {best.frames} frames: they train on {n} frames"
    return f"{best.width}x{best.height}x{n}", note


def holdout_split(shas: dict[str, str], *, seed: int = HOLDOUT_SEED, fraction: float = 0.1
                  ) -> tuple[list[str], str | None]:
    """Pick about ``fraction`` of files to hold out; return (names held out, what it costs in plain words).

    ``shas`` maps file name -> content hash. The choice is ``trainer.holdout.holdout_names``, the rule the trainer
    applies to a folder nobody split, so importing a folder and training on it directly hold out the same files.
    Under ``MIN_FILES_FOR_HOLDOUT`` files nothing is held out: every clip is needed for training, and the note
    says that over-fitting must then be judged by eye.
    """
    n = len(shas)
    if fraction <= 0 or n == 0:
        return [], None
    if n < MIN_FILES_FOR_HOLDOUT:
        return [], (f"With {n} file(s) none is held out: each one is needed for training, so there is no held-out "
                    "loss and over-fitting must be judged from the samples. Add clips to get one.")
    held = holdout_names(shas, fraction=fraction, seed=seed)
    k, note = len(held), None
    if n < 20:
        note = (f"{k} of {n} files ({k / n:.0%}) is held out to measure over-fitting, so training sees {n - k}. "
                "On a set this small that costs likeness; import with holdout 0 to train on everything.")
    return held, note
