"""Frames for a captioner: a few frames spread over a clip, as PIL images, decoded by ``trainer.media``.

The captioner sees the clip the way the trainer will (the start of it, up to ``MAX_SPAN`` frames), at a small size
that keeps the aspect ratio: a caption needs composition and action, not pixels.
"""

from pathlib import Path

import numpy as np
from PIL import Image

from trainer.media import decode_upto, probe

MAX_SIDE = 384
MAX_SPAN = 97  # frames: what a 97-frame bucket trains on; bounds memory (97 x 3 x 384 x 384 floats)


def sample_frames(path: Path, n: int = 4) -> list[Image.Image]:
    """Up to ``n`` evenly spaced frames of a clip (1 for an image), in order."""
    info = probe(path)
    frames = info.frames or MAX_SPAN  # no count in the header (a browser-recorded WebM): decode what is there
    span = 1 if info.kind == "image" else min(MAX_SPAN, ((max(frames, 1) - 1) // 8) * 8 + 1)
    scale = MAX_SIDE / max(info.width, info.height)
    width = max(32, round(info.width * min(scale, 1) / 32) * 32)
    height = max(32, round(info.height * min(scale, 1) / 32) * 32)
    # up to `span` frames: a header's count is an estimate for Matroska/WebM and variable frame rates, and a
    # clip that decodes fewer frames still has frames to describe
    video = decode_upto(path, width, height, span)  # (F, 3, H, W) in [-1, 1]
    picks = np.unique(np.linspace(0, video.shape[0] - 1, min(n, video.shape[0])).round().astype(int))
    rgb = ((video[picks] + 1) * 127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()  # (n, H, W, 3)
    return [Image.fromarray(f) for f in rgb]
