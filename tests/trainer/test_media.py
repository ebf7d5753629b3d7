"""PyAV media: probing, decoding to a bucket, refusing bad files, writing MP4 and contact sheets."""

from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image

from core.errors import LoraportError
from tests.trainer.clips import clip_frames, make_clip, make_image
from tests.trainer.heap import unwritten_memory_holds
from trainer.config import Bucket
from trainer.media import contact_sheet, decode, probe, write_mp4


@pytest.mark.parametrize("ext,codec", [(".mp4", "h264"), (".mov", "h264"), (".mkv", "h264"), (".webm", "vp9")])
def test_probe_reads_video_headers(tmp_path, ext, codec):
    info = probe(make_clip(tmp_path / f"c{ext}", frames=17, size=(96, 64), fps=24))
    assert (info.kind, info.codec, info.width, info.height, info.frames) == ("video", codec, 96, 64, 17)
    assert info.fps == pytest.approx(24) and info.duration_s == pytest.approx(17 / 24, abs=0.05)
    assert not info.has_audio


def test_probe_sees_an_audio_track(tmp_path):
    assert probe(make_clip(tmp_path / "a.mp4", audio=True)).has_audio


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp"])
def test_probe_reads_images_as_one_frame(tmp_path, ext):
    info = probe(make_image(tmp_path / f"i{ext}", size=(48, 32)))
    assert (info.kind, info.width, info.height, info.frames) == ("image", 48, 32, 1)


def test_probe_refuses_above_8k_before_decoding(tmp_path):
    path = tmp_path / "wide.png"
    Image.new("RGB", (8200, 8)).save(path)
    with pytest.raises(LoraportError, match="wide.png.*above 8K"):
        probe(path)


def test_probe_refuses_an_absurd_duration_from_the_header(tmp_path):
    path = tmp_path / "long.mp4"  # two frames, an hour apart: the header claims 4000 s
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=24)
        s.width = s.height = 32
        s.pix_fmt = "yuv420p"
        for pts in (0, 24 * 4000):
            f = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
            f.pts, f.time_base = pts, Fraction(1, 24)
            c.mux(s.encode(f))
        c.mux(s.encode())
    with pytest.raises(LoraportError, match="long.mp4.*too long"):
        probe(path)


def test_bad_files_give_errors_that_name_the_file(tmp_path):
    (tmp_path / "junk.mp4").write_bytes(b"this is not a video at all" * 10)
    (tmp_path / "empty.mov").write_bytes(b"")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4")
    with av.open(str(tmp_path / "zero.mkv"), "w") as c:  # a header, no frames
        s = c.add_stream("libx264", rate=24)
        s.width = s.height = 32
        s.pix_fmt = "yuv420p"
        c.start_encoding()
    for name, why in [("junk.mp4", "unreadable"), ("empty.mov", "empty"), ("notes.pdf", "not a supported"),
                      ("zero.mkv", "no frames"), ("missing.mp4", "not found")]:
        with pytest.raises(LoraportError, match=f"{name}: .*{why}"):
            decode(tmp_path / name, Bucket(width=32, height=32, frames=1))


def test_decode_takes_the_first_frames_in_range(tmp_path):
    path = make_clip(tmp_path / "m.mp4", frames=17, pattern="moving")
    video = decode(path, Bucket(width=64, height=64, frames=9))
    assert video.shape == (9, 3, 64, 64) and video.dtype.is_floating_point
    assert -1.0 <= video.min() and video.max() <= 1.0 and video.max() > 0.9
    # the white square starts at the left edge and moves right 3 px a frame: frames 0..8 in order, not later ones
    brightest = [int(video[i].mean(dim=(0, 1)).argmax()) for i in (0, 8)]
    assert brightest[0] < 16 and 24 <= brightest[1] < 40


def test_decode_keeps_aspect_and_centre_crops(tmp_path):
    frames = clip_frames(17, (96, 64), color=(0, 0, 0))
    frames[:, :, :16] = 255  # white band in the left 16 columns: a centre crop to 64 wide drops it
    path = tmp_path / "wide.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt = 96, 64, "yuv420p"
        s.options = {"crf": "0"}
        for rgb in frames:
            c.mux(s.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        c.mux(s.encode())
    video = decode(path, Bucket(width=64, height=64, frames=1))
    assert video.shape == (1, 3, 64, 64) and video.max() < -0.8  # all black: the band was cropped away
    half = decode(path, Bucket(width=64, height=32, frames=1))  # 96x64 -> scale to cover 64x32 = 64x43 -> crop
    assert half.shape == (1, 3, 32, 64) and half[0, :, :, :6].mean() > 0.5  # the band survives, scaled down


def test_images_decode_to_one_frame_whatever_the_bucket(tmp_path):
    path = make_image(tmp_path / "i.png", size=(128, 128), color=(255, 0, 0))
    image = decode(path, Bucket(width=64, height=64, frames=17))
    assert image.shape == (1, 3, 64, 64)
    assert image[0, 0].mean() > 0.9 and image[0, 1].mean() < -0.9  # red stays red


def test_decode_refuses_a_clip_shorter_than_its_bucket(tmp_path):
    path = make_clip(tmp_path / "short.mp4", frames=9)
    with pytest.raises(LoraportError, match="short.mp4: too short: 9 frames.*needs 17"):
        decode(path, Bucket(width=64, height=64, frames=17))


def test_write_mp4_round_trips_through_pyav(tmp_path):
    frames = clip_frames(9, (64, 32), pattern="moving")
    path = write_mp4(frames, tmp_path / "out" / "v.mp4", fps=12)
    info = probe(path)
    assert (info.width, info.height, info.frames, info.fps) == (64, 32, 9, 12)
    assert not list((tmp_path / "out").glob(".*"))  # no temp file left behind


def test_write_mp4_pads_odd_sizes_for_yuv420(tmp_path):
    info = probe(write_mp4(clip_frames(1, (33, 31)), tmp_path / "odd.mp4"))
    assert (info.width, info.height) == (34, 32)


def test_contact_sheet_lays_frames_side_by_side(tmp_path):
    frames = clip_frames(17, (32, 16), pattern="moving")
    with Image.open(contact_sheet(frames, tmp_path / "s.png", max_frames=4)) as sheet:
        assert sheet.format == "PNG" and sheet.size == (4 * 32, 16)
        assert np.array_equal(np.asarray(sheet)[:, :32], frames[0])


def test_write_mp4_encodes_the_same_frames_to_the_same_file_whatever_the_heap_held(tmp_path):
    import hashlib

    # Smooth random frames, like the tiny model's renders. libx264's macroblock-tree rate control read memory it
    # had not written: these frames came out as 2-5 different files in 10 calls (the validation samples of two
    # identical runs then decoded up to 0.29 apart on the [-1, 1] scale).
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 256, (9, 8, 8, 3), dtype=np.uint8)
    frames = np.asarray([np.asarray(Image.fromarray(f).resize((64, 64), Image.BILINEAR)) for f in coarse])
    digests = set()
    for i in range(10):
        with unwritten_memory_holds(i * 25 + 1):
            path = write_mp4(frames, tmp_path / f"s{i}.mp4")
        digests.add(hashlib.sha256(path.read_bytes()).hexdigest())
    assert len(digests) == 1
