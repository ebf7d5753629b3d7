"""Media in and out through PyAV: probe, decode to a bucket, write MP4, contact sheets.

Every failure a user's file can cause is one ``LoraportError`` naming the file and the fix; callers (the dataset
preparation) collect them per file and go on with the others.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.atomic import atomic_write_bytes
from core.errors import LoraportError

if TYPE_CHECKING:
    import torch

# Every suffix PyAV's demuxers read and the trainer is tested on; the one list importers, uploads and messages use.
VIDEO_EXTS = {".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".mts", ".m2ts"}
IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".webp"}
MEDIA_EXTS = VIDEO_EXTS | IMAGE_EXTS
MAX_SIDE = 8192  # 8K: anything larger is refused before a single frame is decoded
MAX_DURATION_S = 3600.0  # a training clip longer than an hour is a mistake (or a hostile header)


@dataclass(frozen=True)
class MediaInfo:
    kind: str  # "video" | "image"
    codec: str
    width: int
    height: int
    fps: float
    frames: int
    duration_s: float
    has_audio: bool
    frames_exact: bool = True  # False: the container stores no frame count (Matroska/WebM), frames is duration x fps


def is_media(path: Path) -> bool:
    return Path(path).suffix.lower() in MEDIA_EXTS


def supported_media() -> str:
    """The formats loraport reads, as messages list them: "videos: avi m2ts ...; images: jpeg jpg png webp"."""
    return (f"videos: {' '.join(sorted(e[1:] for e in VIDEO_EXTS))}; "
            f"images: {' '.join(sorted(e[1:] for e in IMAGE_EXTS))}")


def _open(path: Path):
    import av

    path = Path(path)
    if not path.is_file():
        raise LoraportError(f"{path.name}: file not found.")
    if not is_media(path):
        raise LoraportError(f"{path.name}: not a supported media file ({supported_media()}). Remove it from the "
                            "dataset.")
    if path.stat().st_size == 0:
        raise LoraportError(f"{path.name}: the file is empty (0 bytes); upload it again.")
    try:
        container = av.open(str(path))
    except EOFError as exc:  # a header and nothing after it: no frame was ever written
        raise LoraportError(f"{path.name}: has no frames (the file ends after its header); re-export it.") from exc
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise LoraportError(f"{path.name}: unreadable ({exc.__class__.__name__}); re-export it as MP4 (H.264) "
                            f"or PNG.") from exc
    if not container.streams.video:
        container.close()
        raise LoraportError(f"{path.name}: has no video stream; it is not a video or image.")
    return container


def probe(path: Path) -> MediaInfo:
    """Read the headers only: size, fps, frame count, duration. Refuses >8K and absurd durations."""
    path = Path(path)
    with _open(path) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        width, height = int(ctx.width or 0), int(ctx.height or 0)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else 0.0
        if not duration and container.duration:
            duration = container.duration / 1_000_000  # av.time_base is microseconds
        frames = int(stream.frames or 0) or (round(duration * fps) if duration and fps else 0)
        kind = "image" if path.suffix.lower() in IMAGE_EXTS else "video"
        width = round(width * _pixel_aspect(stream))  # anamorphic (DV, HDV, DVD): the width it is shown at
        sane = 0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE  # never decode a frame _refuse_absurd refuses
        if sane and quarter_turns(container) % 2:  # a portrait phone clip or photo stored sideways: upright size
            width, height = height, width
        info = MediaInfo(kind=kind, codec=ctx.name, width=width, height=height, fps=fps if kind == "video" else 0.0,
                         frames=1 if kind == "image" else frames, duration_s=duration if kind == "video" else 0.0,
                         has_audio=bool(container.streams.audio), frames_exact=kind == "image" or bool(stream.frames))
    _refuse_absurd(path, info)
    return info


def _refuse_absurd(path: Path, info: MediaInfo) -> None:
    if (info.width <= 0 or info.height <= 0) and path.suffix.lower() == ".webp":  # FFmpeg reads still WebP only
        raise LoraportError(f"{path.name}: an animated WebP, which cannot be decoded here; convert it to MP4 "
                            "(a clip) or save one frame as PNG (a still).")
    if info.width <= 0 or info.height <= 0:
        raise LoraportError(f"{path.name}: the video stream has no frame size; the file is damaged.")
    if max(info.width, info.height) > MAX_SIDE:
        raise LoraportError(f"{path.name}: {info.width}x{info.height} is above 8K; downscale it first "
                            f"(training uses at most a few hundred pixels a side).")
    if info.duration_s > MAX_DURATION_S or info.frames > MAX_DURATION_S * 240:
        raise LoraportError(f"{path.name}: {info.duration_s:.0f} s / {info.frames} frames is far too long for a "
                            f"training clip; cut it into clips of a few seconds.")


def quarter_turns(container) -> int:
    """Counter-clockwise quarter turns that show the first frame upright: a phone clip's display matrix, or a
    photo's EXIF orientation (FFmpeg reports both as the frame's ``rotation``). Players and ffmpeg apply it; so
    does ltx-trainer for photos (``exif_transpose``). 0 when there is none or the first frame does not decode."""
    try:
        frame = next(container.decode(video=0))
        return _turns(frame)
    except Exception:  # noqa: BLE001 (any decoder error: the size is then read as stored, decode reports it)
        return 0


def _turns(frame) -> int:
    try:
        return round(float(frame.rotation or 0) / 90) % 4
    except (AttributeError, ValueError, TypeError):  # no display matrix, or side data PyAV cannot name
        return 0


def _upright(frame):
    """The frame turned as its display matrix / EXIF orientation says (mirroring is not applied)."""
    turns = _turns(frame)
    if not turns:
        return frame
    import av

    rgb = np.ascontiguousarray(np.rot90(frame.to_ndarray(format="rgb24"), turns))
    return av.VideoFrame.from_ndarray(rgb, format="rgb24")


def _pixel_aspect(stream) -> float:
    """Width / height of one stored pixel (the sample aspect ratio): 1 for almost everything; 4/3 for HDV's
    1440x1080 shown at 1920x1080, 32/27 or 8/9 for DV and DVD. Players and ffmpeg's scaler honour it."""
    try:
        sar = stream.codec_context.sample_aspect_ratio or stream.sample_aspect_ratio
        value = float(sar) if sar else 1.0
    except (AttributeError, ValueError, ZeroDivisionError):
        return 1.0
    return value if 0.25 <= value <= 4.0 else 1.0  # 0/1 means unknown; absurd values are a broken header


def _resize_crop(frame, width: int, height: int, pixel_aspect: float = 1.0) -> np.ndarray:
    """Scale keeping the shown aspect (pixel aspect included) so the frame covers width x height, then
    centre-crop. -> (H, W, 3) uint8."""
    turned = _turns(frame) % 2
    frame = _upright(frame)
    # after a quarter turn the stored pixel's width lies along the height
    sx, sy = (1.0, pixel_aspect) if turned else (pixel_aspect, 1.0)
    scale = max(width / (frame.width * sx), height / (frame.height * sy))
    rw, rh = max(width, math.ceil(frame.width * sx * scale)), max(height, math.ceil(frame.height * sy * scale))
    rgb = frame.reformat(width=rw, height=rh, format="rgb24", interpolation="AREA").to_ndarray()
    top, left = (rh - height) // 2, (rw - width) // 2
    return rgb[top:top + height, left:left + width]


def decode(path: Path, bucket) -> torch.Tensor:
    """First ``bucket.frames`` frames, resized + centre-cropped to the bucket. -> (F, 3, H, W) float in [-1, 1].

    Images always give F = 1. A video with fewer frames than the bucket needs is refused as too short.
    """
    path = Path(path)
    frames, want = _first_frames(path, bucket.width, bucket.height, bucket.frames)
    if len(frames) < want:
        raise LoraportError(f"{path.name}: too short: {len(frames)} frames, the {bucket.width}x{bucket.height}x"
                            f"{bucket.frames} bucket needs {want}; use a longer clip or a shorter bucket.")
    return _to_tensor(frames)


def decode_upto(path: Path, width: int, height: int, max_frames: int) -> torch.Tensor:
    """Up to ``max_frames`` first frames (fewer when the file is shorter), resized + centre-cropped to width x height.
    -> (F, 3, H, W) float in [-1, 1]; an image gives F = 1. For IC-LoRA references at generation time, which may
    be shorter than the clip generated."""
    frames, _ = _first_frames(Path(path), width, height, max(1, max_frames))
    return _to_tensor(frames)


def count_frames(path: Path, at_most: int) -> int:
    """How many frames really decode, up to ``at_most`` (headers only estimate it for Matroska/WebM and variable
    frame rates). Frames are decoded at 8x8, so counting costs little beyond the codec's own work."""
    frames, _ = _first_frames(Path(path), 8, 8, max(1, at_most))
    return len(frames)


def _first_frames(path: Path, width: int, height: int, max_frames: int) -> tuple[list[np.ndarray], int]:
    """The first ``max_frames`` frames (1 for an image) as (H, W, 3) uint8, resized + centre-cropped, and how many
    were wanted. A file that gives no frame at all is refused; a short one gives fewer frames than wanted."""
    info = probe(path)
    want = 1 if info.kind == "image" else max_frames
    frames = []
    with _open(path) as container:
        pixel_aspect = _pixel_aspect(container.streams.video[0])
        try:
            for frame in container.decode(video=0):
                frames.append(_resize_crop(frame, width, height, pixel_aspect))
                if len(frames) == want:
                    break
        except Exception as exc:  # PyAV raises many decoder error types; any of them means a damaged file
            if not frames:
                raise LoraportError(f"{path.name}: could not decode ({exc}); re-export the file.") from exc
    if not frames:
        raise LoraportError(f"{path.name}: has no decodable frames; the file is empty or damaged.")
    return frames, want


def _to_tensor(frames: list[np.ndarray]) -> torch.Tensor:
    import torch  # here, not at import: probing a file (the dataset tools, the chat) needs no torch

    video = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2)  # (F, 3, H, W) uint8
    return video.float() / 127.5 - 1.0


def write_mp4(frames: np.ndarray, path: Path, fps: float = 24.0, audio: np.ndarray | None = None,
              sample_rate: int | None = None) -> Path:
    """Encode (F, H, W, 3) uint8 frames as H.264 MP4 (yuv420p, plays everywhere); written atomically.

    ``audio`` (channels, N) float in [-1, 1] at ``sample_rate`` Hz (a generated sound track) goes in as AAC, so
    the clip plays with its sound in a browser's video element."""
    import av
    from fractions import Fraction

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"write_mp4 wants (F, H, W, 3) uint8 frames, got {frames.shape} {frames.dtype}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".mp4", dir=path.parent)
    os.close(fd)
    try:
        with av.open(tmp, "w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
            # yuv420p needs even sides: pad odd sizes by one pixel rather than fail
            stream.height, stream.width = frames.shape[1] + frames.shape[1] % 2, frames.shape[2] + frames.shape[2] % 2
            stream.pix_fmt = "yuv420p"
            # mbtree=0: libx264's macroblock-tree rate control, in its AVX-512 code (CPUs that have it), reads
            # memory it never wrote, so the same frames could encode differently from one call to the next, by
            # whatever the heap held (decoded pixels up to 0.29 apart on the tiny model's clips). Without it the
            # file is a function of the frames alone; CRF still sets the quality and encoding is no slower.
            stream.options = {"crf": "18", "preset": "veryfast", "x264-params": "mbtree=0"}
            sound = _aac_stream(container, audio, sample_rate) if audio is not None else None  # before muxing
            for rgb in frames:
                if rgb.shape[:2] != (stream.height, stream.width):
                    rgb = np.pad(rgb, ((0, stream.height - rgb.shape[0]), (0, stream.width - rgb.shape[1]), (0, 0)),
                                 mode="edge")
                container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")))
            container.mux(stream.encode())
            if sound is not None:
                _mux_aac(container, *sound)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _aac_stream(container, audio, sample_rate: int | None):
    """Add an AAC stream for (channels, N) float audio (mono stays mono, anything wider keeps its first two
    channels); streams must all exist before the first packet is muxed."""
    audio = np.asarray(audio, np.float32)
    if audio.ndim != 2 or audio.shape[1] == 0 or not sample_rate or sample_rate <= 0:
        raise ValueError(f"write_mp4 wants audio as (channels, N) with a sample rate, got {audio.shape} at "
                         f"{sample_rate} Hz")
    audio = np.clip(np.nan_to_num(audio[:2]), -1.0, 1.0)
    layout = "mono" if audio.shape[0] == 1 else "stereo"
    return container.add_stream("aac", rate=int(sample_rate), layout=layout), audio, layout, int(sample_rate)


def _mux_aac(container, stream, audio: np.ndarray, layout: str, sample_rate: int) -> None:
    import av

    for start in range(0, audio.shape[1], 1024):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[:, start:start + 1024]), format="fltp",
                                           layout=layout)
        frame.sample_rate, frame.pts = sample_rate, start
        container.mux(stream.encode(frame))
    container.mux(stream.encode())


def contact_sheet(frames: np.ndarray, path: Path, max_frames: int = 8) -> Path:
    """Up to ``max_frames`` evenly spaced frames side by side in one PNG (a glanceable preview of a clip)."""
    import io

    from PIL import Image

    frames = np.asarray(frames)  # (F, H, W, 3) uint8
    picks = np.unique(np.linspace(0, len(frames) - 1, min(max_frames, len(frames))).round().astype(int))
    sheet = np.concatenate([frames[i] for i in picks], axis=1)  # (H, n*W, 3)
    buf = io.BytesIO()
    Image.fromarray(sheet).save(buf, format="PNG")
    return atomic_write_bytes(Path(path), buf.getvalue())
