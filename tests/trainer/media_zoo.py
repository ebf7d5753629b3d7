"""Media as users really hand it over, written by the tests (PyAV, milliseconds each): any container and codec
PyAV can write (H.264, HEVC, VP9, AV1, MPEG-4, ProRes, FFV1), odd and portrait sizes, variable frame rates, and
sound as AAC / MP3 / Opus / PCM in any layout and rate, shorter or longer than the picture."""

from fractions import Fraction
from pathlib import Path

import numpy as np

from tests.trainer.audio_clips import LAYOUT_CHANNELS, tone
from tests.trainer.clips import clip_frames

# The pixel format each video encoder takes here (FFV1 and ProRes keep odd sizes; yuv420p needs even sides).
PIX_FMT = {"libx264": "yuv420p", "libx265": "yuv420p", "libvpx-vp9": "yuv420p", "libsvtav1": "yuv420p",
           "mpeg4": "yuv420p", "prores": "yuv422p10le", "ffv1": "yuv444p", "mjpeg": "yuvj444p"}
# Sample formats of the audio encoders (planar float, packed s16, ...).
SAMPLE_FMT = {"aac": "fltp", "libmp3lame": "fltp", "mp3": "fltp", "libopus": "flt", "opus": "flt",
              "pcm_s16le": "s16", "flac": "s16", "alac": "s16p"}


def make_video(path: Path, frames: int = 17, size: tuple[int, int] = (64, 64), fps: float = 24, *,
               codec: str = "libx264", color=(200, 40, 40), pattern: str = "moving", timestamps=None,
               audio: dict | None = None, pix_fmt: str | None = None) -> Path:
    """Write a clip. ``timestamps``: seconds of each frame (variable frame rate), else ``frame / fps``.
    ``audio``: ``dict(codec="aac", rate=16000, layout="stereo", seconds=None, amplitude=0.5)``."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        rate = Fraction(fps).limit_denominator(1001)
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height = size
        stream.pix_fmt = pix_fmt or PIX_FMT.get(codec, "yuv420p")
        if codec == "libx264":
            stream.options = {"x264-params": "mbtree=0"}
        if codec == "libx265":
            stream.options = {"x265-params": "log-level=none"}
        if codec == "libsvtav1":
            stream.options = {"preset": "12"}
        if timestamps is not None:
            stream.time_base = Fraction(1, 1000)
        sound = _audio_stream(container, audio) if audio else None
        for i, rgb in enumerate(clip_frames(frames, size, color, pattern)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=stream.pix_fmt)
            if timestamps is not None:
                frame.pts, frame.time_base = round(timestamps[i] * 1000), Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
        if sound is not None:
            _write_audio(container, sound, audio, frames / fps)
    return path


def _audio_stream(container, audio: dict):
    codec, layout = audio.get("codec", "aac"), audio.get("layout", "stereo")
    stream = container.add_stream(codec, rate=audio.get("rate", 16000), layout=layout)
    stream.format = SAMPLE_FMT.get(codec, "fltp")
    return stream


def _write_audio(container, stream, audio: dict, default_seconds: float) -> None:
    import av

    rate, layout = stream.rate, audio.get("layout", "stereo")
    seconds = audio.get("seconds") or default_seconds
    wave = tone(seconds, rate, LAYOUT_CHANNELS[layout], audio.get("hz", 440.0), audio.get("amplitude", 0.5))
    fmt = stream.format.name
    size = stream.frame_size or 1024
    for start in range(0, wave.shape[1], size):
        chunk = wave[:, start:start + size]
        if chunk.shape[1] < size and stream.frame_size:  # fixed-frame encoders (Opus, MP3) take whole frames
            chunk = np.pad(chunk, ((0, 0), (0, size - chunk.shape[1])))
        if fmt in ("s16", "s16p"):
            chunk = (chunk * 32767).astype(np.int16)
        if not fmt.endswith("p"):  # packed: (1, n * channels), interleaved
            chunk = chunk.T.reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format=fmt, layout=layout)
        frame.sample_rate, frame.pts = rate, start
        container.mux(stream.encode(frame))
    container.mux(stream.encode())


def make_still(path: Path, size: tuple[int, int] = (64, 64), color=(40, 200, 40), mode: str = "RGB") -> Path:
    """An image in any PIL mode (RGB, RGBA, L, P, I;16, CMYK for JPEG) and any format its suffix names."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = clip_frames(1, size, color, "solid")[0]
    if mode == "I;16":  # 16-bit greyscale, full range (as a camera or a scanner writes it)
        grey = (pixels.astype(np.float64) @ [0.299, 0.587, 0.114] * 257).round().astype(np.uint16)
        img = Image.fromarray(grey)
    else:
        img = Image.fromarray(pixels).convert(mode)
    img.save(path)
    return path


def make_sound(path: Path, seconds: float = 1.0, *, codec: str = "pcm_s16le", rate: int = 44100,
               layout: str = "stereo", hz: float = 440.0, amplitude: float = 0.5) -> Path:
    """A sound file of its own (.wav / .flac / .mp3 / .m4a / .ogg), as ltx-trainer's ``audio`` column names."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    audio = dict(codec=codec, rate=rate, layout=layout, seconds=seconds, hz=hz, amplitude=amplitude)
    with av.open(str(path), "w") as container:
        stream = _audio_stream(container, audio)
        _write_audio(container, stream, audio, seconds)
    return path


def make_live_webm(path: Path, frames: int = 40, fps: int = 30, size: tuple[int, int] = (64, 64)) -> Path:
    """A WebM as a browser's MediaRecorder or a live stream writes it: the muxer cannot seek back, so the header
    holds no duration and no frame count."""
    import io

    import av

    class _Forward(io.RawIOBase):
        def __init__(self, f):
            self.f = f

        def writable(self):
            return True

        def seekable(self):
            return False

        def write(self, b):
            return self.f.write(b)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, av.open(_Forward(raw), "w", format="webm", options={"live": "1"}) as container:
        stream = container.add_stream("libvpx-vp9", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for rgb in clip_frames(frames, size, pattern="moving"):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode())
    return path
