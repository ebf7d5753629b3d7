"""Small media made by the tests themselves (PyAV/PIL, milliseconds): reuse these in any trainer/tools test."""

from fractions import Fraction
from pathlib import Path

import numpy as np


def clip_frames(frames: int = 17, size: tuple[int, int] = (64, 64), color=(200, 40, 40),
                pattern: str = "solid", seed: int = 0) -> np.ndarray:
    """(F, H, W, 3) uint8. pattern: solid | moving (a bright square sweeping right) | noise."""
    w, h = size
    out = np.empty((frames, h, w, 3), np.uint8)
    out[:] = np.asarray(color, np.uint8)
    if pattern == "moving":
        side = max(4, min(w, h) // 4)
        for i in range(frames):
            x = int((w - side) * i / max(1, frames - 1))
            out[i, (h - side) // 2:(h + side) // 2, x:x + side] = 255
    elif pattern == "noise":
        out[:] = np.random.default_rng(seed).integers(0, 256, out.shape, dtype=np.uint8)
    return out


def make_clip(path: Path, frames: int = 17, size: tuple[int, int] = (64, 64), color=(200, 40, 40),
              pattern: str = "solid", fps: float = 24, codec: str | None = None, audio: bool = False) -> Path:
    """Write a short clip (mp4/mov/mkv: H.264, webm: VP9) and return its path."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    codec = codec or ("libvpx-vp9" if path.suffix == ".webm" else "libx264")
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        if codec == "libx264":
            stream.options = {"x264-params": "mbtree=0"}  # the same clip every time (see trainer.media.write_mp4)
        astream = container.add_stream("aac", rate=16000) if audio else None
        for rgb in clip_frames(frames, size, color, pattern):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode())
        if astream is not None:
            silence = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            silence.sample_rate = 16000
            container.mux(astream.encode(silence))
            container.mux(astream.encode())
    return path


def make_image(path: Path, size: tuple[int, int] = (64, 64), color=(40, 200, 40), pattern: str = "solid") -> Path:
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(clip_frames(1, size, color, pattern)[0]).save(path)
    return path
