"""Clips with sound, made by the tests (PyAV, milliseconds): tones in any layout and rate, silence, no sound,
sound shorter or longer than the picture, and a corrupt sound track inside a good video."""

from fractions import Fraction
from pathlib import Path

import numpy as np

from tests.trainer.clips import clip_frames

LAYOUT_CHANNELS = {"mono": 1, "stereo": 2, "5.1": 6}


def tone(seconds: float, rate: int, channels: int, hz: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    """(channels, n) float32: a sine, each channel a little higher, so a mix-down is not a no-op."""
    t = np.arange(round(seconds * rate)) / rate
    return np.stack([amplitude * np.sin(2 * np.pi * (hz + 40 * c) * t) for c in range(channels)]).astype(np.float32)


def make_av_clip(path: Path, frames: int = 17, fps: float = 24, size: tuple[int, int] = (64, 64), *,
                 rate: int = 16000, layout: str = "stereo", seconds: float | None = None, hz: float = 440.0,
                 amplitude: float = 0.5, corrupt_audio: bool = False, color=(200, 40, 40),
                 pattern: str = "moving") -> Path:
    """An H.264 clip with an AAC track of `seconds` (default: as long as the frames) in `layout` at `rate`.

    `amplitude=0` writes a silent track; `corrupt_audio` writes packets of random bytes as the AAC stream.
    """
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    seconds = frames / fps if seconds is None else seconds
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        video.options = {"x264-params": "mbtree=0"}  # the same clip every time (see trainer.media.write_mp4)
        audio = container.add_stream("aac", rate=rate, layout=layout)
        for rgb in clip_frames(frames, size, color, pattern):
            container.mux(video.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(video.encode())
        if corrupt_audio:
            rng = np.random.default_rng(0)
            for i in range(max(1, int(seconds * rate / 1024))):
                packet = av.Packet(rng.integers(0, 256, 200, dtype=np.uint8).tobytes())
                packet.stream, packet.pts, packet.dts = audio, i * 1024, i * 1024
                packet.time_base = Fraction(1, rate)
                container.mux(packet)
            return path
        wave = tone(seconds, rate, LAYOUT_CHANNELS[layout], hz, amplitude)
        for start in range(0, wave.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(wave[:, start:start + 1024]), format="fltp",
                                               layout=layout)
            frame.sample_rate, frame.pts = rate, start
            container.mux(audio.encode(frame))
        container.mux(audio.encode())
    return path
