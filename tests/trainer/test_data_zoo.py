"""Media as it really arrives, through probing, decoding and the whole dataset preparation on the tiny model:
every container and codec PyAV decodes, odd / portrait / rotated sizes, variable frame rates, too short and long
clips, stills in every pixel mode, sound in every codec and layout, and IC-LoRA pairs that differ in size, length
or frame rate. Each file trains, trains without its sound, or is refused by name with the fix."""

import json

import numpy as np
import pytest
import torch

from tests.trainer.clips import make_clip
from tests.trainer.media_zoo import make_still, make_video
from trainer.config import Bucket, ModelConfig, TrainConfig
from trainer.data import prepare_dataset
from trainer.media import decode, probe
from trainer.models import load_components

RED = (200, 40, 40)
VIDEOS = {"h264.mp4": {}, "hevc.mkv": dict(codec="libx265"), "hevc.mp4": dict(codec="libx265"),
          "vp9.webm": dict(codec="libvpx-vp9"), "av1.mp4": dict(codec="libsvtav1"),
          "av1.webm": dict(codec="libsvtav1"), "prores.mov": dict(codec="prores"),
          "mpeg4.mov": dict(codec="mpeg4"), "mjpeg.mkv": dict(codec="mjpeg"),
          "ffv1-odd.mkv": dict(codec="ffv1", size=(67, 45)), "h264-10bit.mp4": dict(pix_fmt="yuv420p10le"),
          "h264-444.mp4": dict(pix_fmt="yuv444p"), "vp9-alpha.webm": dict(codec="libvpx-vp9", pix_fmt="yuva420p"),
          "prores-4444.mov": dict(codec="prores_ks", pix_fmt="yuva444p10le"),
          "ffv1-rgb48.mkv": dict(codec="ffv1", pix_fmt="rgb48le"), "av1-10bit.mkv": dict(codec="libsvtav1", pix_fmt="yuv420p10le"),
          # older cameras and exports: AVI, iTunes M4V, AVCHD / Blu-ray MPEG transport streams
          "mpeg4.avi": dict(codec="mpeg4"), "h264.m4v": {}, "avchd.mts": {}, "bluray.m2ts": {}}
STILLS = {"rgba.png": "RGBA", "grey.png": "L", "palette.png": "P", "deep.png": "I;16", "cmyk.jpg": "CMYK",
          "photo.JPEG": "RGB", "web.webp": "RGB", "alpha.webp": "RGBA"}


def _rgb_mean(video: torch.Tensor) -> list[float]:
    return ((video + 1) * 127.5).mean(dim=(0, 2, 3)).tolist()


@pytest.mark.parametrize("name", sorted(VIDEOS))
def test_every_codec_and_container_decodes_to_the_colours_it_holds(tmp_path, name):
    clip = make_video(tmp_path / name, pattern="solid", color=RED, **VIDEOS[name])
    info = probe(clip)
    assert info.kind == "video" and info.frames >= 17 and info.fps == pytest.approx(24, rel=0.01)
    video = decode(clip, Bucket(width=32, height=32, frames=17))
    assert video.shape == (17, 3, 32, 32)
    assert np.allclose(_rgb_mean(video), RED, atol=6)  # limited / full range, 8 or 10 bit: the same colour


@pytest.mark.parametrize("name", sorted(STILLS))
def test_stills_in_every_pixel_mode_decode_to_their_colour(tmp_path, name):
    still = make_still(tmp_path / name, size=(50, 37), mode=STILLS[name], color=RED)
    info = probe(still)
    assert (info.kind, info.frames, info.width, info.height) == ("image", 1, 50, 37)
    video = decode(still, Bucket(width=32, height=32, frames=17))
    grey = 0.299 * RED[0] + 0.587 * RED[1] + 0.114 * RED[2]
    want = [grey] * 3 if STILLS[name] in ("L", "I;16") else RED
    assert video.shape == (1, 3, 32, 32) and np.allclose(_rgb_mean(video), want, atol=6)


def _sideways(path, turns_ccw: int):
    """A 64x32 clip or photo stored sideways with a display rotation / EXIF orientation; top-left quarter white."""
    import av
    from PIL import Image

    stored = np.zeros((32, 64, 3), np.uint8)
    stored[:, :32] = 255  # left half white
    if path.suffix == ".jpg":
        img = Image.fromarray(stored)
        exif = img.getexif()
        exif[0x0112] = {1: 8, 3: 6}[turns_ccw]  # EXIF 8: turn 90 ccw to show; 6: turn 90 cw
        img.save(path, exif=exif)
        return path
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt = 64, 32, "yuv420p"
        s.set_display_rotation(90 * turns_ccw)
        for _ in range(9):
            c.mux(s.encode(av.VideoFrame.from_ndarray(stored, format="rgb24")))
        c.mux(s.encode())
    return path


@pytest.mark.parametrize("name,turns,white_on_top", [("phone.mp4", 3, True), ("phone.jpg", 3, True),
                                                     ("other.mov", 1, False), ("other.jpg", 1, False)])
def test_phone_clips_and_photos_stored_sideways_are_trained_upright(tmp_path, name, turns, white_on_top):
    media = _sideways(tmp_path / name, turns)
    info = probe(media)
    assert (info.width, info.height) == (32, 64)  # its upright size picks a portrait bucket
    video = decode(media, Bucket(width=32, height=64, frames=9 if info.kind == "video" else 1))
    top, bottom = video[0, :, :32].mean().item(), video[0, :, 32:].mean().item()
    assert (top > 0.9 and bottom < -0.9) if white_on_top else (top < -0.9 and bottom > 0.9)


@pytest.fixture(scope="module")
def components():
    return load_components(ModelConfig())


BUCKETS = [dict(width=64, height=64, frames=33), dict(width=64, height=64, frames=17),
           dict(width=32, height=64, frames=17), dict(width=64, height=32, frames=17),
           dict(width=64, height=64, frames=1)]


def _config(folder, **data):
    return TrainConfig(data=dict(dataset_dir=folder, buckets=BUCKETS, holdout_fraction=0, **data))


@pytest.mark.slow
def test_a_mixed_bag_of_real_media_prepares_file_by_file(components, tmp_path):
    d = tmp_path / "ds"
    for name in ("hevc.mkv", "vp9.webm", "prores.mov", "ffv1-odd.mkv"):
        make_video(d / name, **VIDEOS[name])
    make_video(d / "portrait.mp4", size=(36, 64))
    make_video(d / "wide.mp4", size=(90, 50))
    make_video(d / "long.mp4", frames=240)  # ten seconds: its first 33 frames train
    make_video(d / "vfr.mkv", frames=17, timestamps=[i * 0.09 for i in range(17)])  # header says 36 frames
    make_video(d / "blink.mp4", frames=5)
    for name in ("rgba.png", "deep.png", "alpha.webp", "cmyk.jpg"):
        make_still(d / name, mode=STILLS[name])
    ds = prepare_dataset(_config(d), components, tmp_path / "cache")
    buckets = {i.media: (i.bucket.width, i.bucket.height, i.bucket.frames) for i in ds.train}
    assert buckets == {"hevc.mkv": (64, 64, 17), "vp9.webm": (64, 64, 17), "prores.mov": (64, 64, 17),
                       "ffv1-odd.mkv": (64, 32, 17), "portrait.mp4": (32, 64, 17), "wide.mp4": (64, 32, 17),
                       "long.mp4": (64, 64, 33), "vfr.mkv": (64, 64, 17), "rgba.png": (64, 64, 1),
                       "deep.png": (64, 64, 1), "alpha.webp": (64, 64, 1), "cmyk.jpg": (64, 64, 1)}
    for item in ds.train:  # latents on the tiny VAE's grid (8x spatial, 8x temporal)
        assert item.latents.shape == (8, (item.bucket.frames - 1) // 8 + 1, item.bucket.height // 8,
                                      item.bucket.width // 8)
    errors = {e.media: e.message for e in ds.errors}
    assert set(errors) == {"blink.mp4"} and "too short: 5 frames" in errors["blink.mp4"]
    assert "use a longer clip or add a shorter bucket" in errors["blink.mp4"]


AUDIO = {"aac-48k.mp4": dict(codec="aac", rate=48000), "aac-mono-44k.mov": dict(codec="aac", rate=44100, layout="mono"),
         "mp3.mp4": dict(codec="mp3", rate=44100), "mp3.mkv": dict(codec="mp3", rate=44100, layout="mono"),
         "opus.webm": dict(codec="libopus", rate=48000), "pcm.mov": dict(codec="pcm_s16le", rate=44100),
         "pcm-mono-16k.mkv": dict(codec="pcm_s16le", rate=16000, layout="mono"), "flac.mkv": dict(codec="flac", rate=48000),
         "surround.mp4": dict(codec="aac", rate=48000, layout="5.1"),
         "short-sound.mp4": dict(codec="aac", rate=48000, seconds=0.3),
         "long-sound.mkv": dict(codec="libopus", rate=48000, seconds=5.0),
         "silent.webm": dict(codec="libopus", rate=48000, amplitude=0.0)}


@pytest.mark.slow
def test_sound_in_every_codec_layout_and_rate_becomes_tokens_of_the_same_length(components, tmp_path):
    d = tmp_path / "ds"
    for name, audio in AUDIO.items():
        make_video(d / name, codec="libvpx-vp9" if name.endswith(".webm") else "libx264", audio=audio)
    make_video(d / "mute.mp4")
    cfg = TrainConfig(data=dict(dataset_dir=d, buckets=[dict(width=64, height=64, frames=17)], holdout_fraction=0,
                                audio="on"))
    ds = prepare_dataset(cfg, components, tmp_path / "cache")
    assert not ds.errors and len(ds.train) == len(AUDIO) + 1
    with_sound = {i.media: i.audio_latents for i in ds.train if i.audio_latents is not None}
    assert set(with_sound) == set(AUDIO) - {"silent.webm"}
    assert len({t.shape for t in with_sound.values()}) == 1  # 17 frames at 24 fps: the same seconds of sound
    assert all(torch.isfinite(t).all() for t in with_sound.values())
    assert {e.media for e in ds.without_sound} == {"silent.webm", "mute.mp4"}
    assert [e.media for e in ds.audio_notes] == ["short-sound.mp4"]


@pytest.mark.slow
def test_an_ltx_trainer_ic_manifest_with_references_that_differ_in_size_rate_and_length(components, tmp_path):
    d = tmp_path / "ds"
    make_clip(d / "videos" / "sized.mp4")
    make_video(d / "references" / "sized_pose.webm", size=(90, 160), codec="libvpx-vp9")  # portrait, VP9
    make_clip(d / "videos" / "rate.mp4")
    make_video(d / "references" / "rate_depth.mp4", fps=30, frames=40)  # another frame rate, longer
    make_clip(d / "videos" / "short.mp4")
    make_video(d / "references" / "short_depth.mp4", frames=9)
    make_clip(d / "videos" / "lost.mp4")
    make_clip(d / "videos" / "still.mp4")
    make_still(d / "references" / "still.png")
    rows = [("sized", "sized_pose.webm"), ("rate", "rate_depth.mp4"), ("short", "short_depth.mp4"),
            ("lost", "lost_depth.mp4"), ("still", "still.png")]
    (d / "dataset.jsonl").write_text("".join(json.dumps(
        {"caption": f"a {n} clip", "video": f"videos/{n}.mp4", "reference_video": f"references/{r}"}) + "\n"
        for n, r in rows))
    cfg = TrainConfig(data=dict(dataset_dir=d, buckets=[dict(width=64, height=64, frames=17)], holdout_fraction=0),
                      strategy=dict(name="ic-lora"))
    ds = prepare_dataset(cfg, components, tmp_path / "cache")
    items = {i.media: i for i in ds.train}
    assert set(items) == {"videos/sized.mp4", "videos/rate.mp4"}
    assert items["videos/rate.mp4"].reference == "references/rate_depth.mp4"
    assert all(i.ref_latents.shape == i.latents.shape for i in items.values())
    assert items["videos/sized.mp4"].caption == "a sized clip"
    errors = {e.media: e.message for e in ds.errors}
    assert set(errors) == {"videos/short.mp4", "videos/lost.mp4", "videos/still.mp4"}
    assert "short_depth.mp4 is shorter than the 17 frames" in errors["videos/short.mp4"]
    assert "lost_depth.mp4 is not in the dataset folder" in errors["videos/lost.mp4"]
    assert "still.png is an image" in errors["videos/still.mp4"]


@pytest.mark.slow
def test_a_manifests_audio_column_replaces_the_clips_own_sound_and_bad_files_are_named(components, tmp_path):
    from tests.trainer.media_zoo import make_sound

    d = tmp_path / "ds"
    make_video(d / "mute.mp4")  # no track of its own: the wav gives it sound
    make_sound(d / "audio" / "mute.wav", seconds=1.0, hz=300)
    make_video(d / "own.mp4", audio=dict(codec="aac", rate=48000, hz=2000))
    make_video(d / "swapped.mp4", audio=dict(codec="aac", rate=48000, hz=2000))
    make_sound(d / "audio" / "swapped.flac", codec="flac", rate=48000, seconds=1.0, hz=300)
    make_video(d / "lost.mp4")
    make_video(d / "garbage.mp4")
    (d / "audio" / "garbage.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 4)
    rows = [{"video": "mute.mp4", "audio": "audio/mute.wav"}, {"video": "own.mp4"},
            {"video": "swapped.mp4", "audio": "audio/swapped.flac"}, {"video": "lost.mp4", "audio": "audio/lost.wav"},
            {"video": "garbage.mp4", "audio": "audio/garbage.wav"}]
    (d / "dataset.json").write_text(json.dumps([{**r, "caption": "x"} for r in rows]))
    cfg = TrainConfig(data=dict(dataset_dir=d, buckets=[dict(width=64, height=64, frames=17)], holdout_fraction=0,
                                audio="on"))
    ds = prepare_dataset(cfg, components, tmp_path / "cache")
    tokens = {i.media: i.audio_latents for i in ds.train}
    assert len(tokens) == 5 and not ds.errors  # nothing lost
    assert tokens["mute.mp4"] is not None and tokens["lost.mp4"] is None and tokens["garbage.mp4"] is None
    assert torch.allclose(tokens["mute.mp4"], tokens["swapped.mp4"], atol=0.05)  # the same 300 Hz tone...
    assert not torch.allclose(tokens["own.mp4"], tokens["swapped.mp4"], atol=0.1)  # ...not the clip's 2 kHz one
    why = {e.media: e.message for e in ds.without_sound}
    assert set(why) == {"lost.mp4", "garbage.mp4"}
    assert "audio file lost.wav is not in the dataset folder" in why["lost.mp4"]
    assert "audio file garbage.wav could not be read" in why["garbage.mp4"]
    video_only = prepare_dataset(cfg.model_copy(update={"data": cfg.data.model_copy(update={"audio": "off"})}),
                                 components, tmp_path / "cache")
    assert all(i.audio_latents is None for i in video_only.train) and not video_only.without_sound


def test_files_that_are_not_what_their_names_say_are_named_with_the_fix(tmp_path):
    from PIL import Image

    from core.errors import LoraportError
    from tests.trainer.media_zoo import make_sound

    (tmp_path / "notes.mp4").write_text("this is not a video")
    make_sound(tmp_path / "song.m4a", codec="aac", rate=44100).rename(tmp_path / "song.mp4")  # sound only
    make_still(tmp_path / "photo.jpg").rename(tmp_path / "photo.png")  # a JPEG named .png: read by content
    frames = [Image.fromarray(np.full((40, 40, 3), c, np.uint8)) for c in (0, 128, 255)]
    frames[0].save(tmp_path / "anim.webp", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert probe(tmp_path / "photo.png").kind == "image"
    for name, why in [("notes.mp4", "unreadable"), ("song.mp4", "has no video stream"),
                      ("anim.webp", "an animated WebP.*convert it to MP4")]:
        with pytest.raises(LoraportError, match=f"{name}: {why}"):
            probe(tmp_path / name)


@pytest.mark.slow
def test_a_browser_recorded_webm_without_duration_trains_as_the_clip_it_is(components, tmp_path):
    from tests.trainer.media_zoo import make_live_webm

    clip = make_live_webm(tmp_path / "ds" / "webcam.webm", frames=40)
    assert (probe(clip).frames, probe(clip).frames_exact) == (0, False)  # nothing in the header to go by
    ds = prepare_dataset(_config(tmp_path / "ds"), components, tmp_path / "cache")
    (item,) = ds.train
    assert item.bucket.frames == 33 and item.latents.shape[1] == 5  # a clip, not a single frame


def test_anamorphic_footage_is_trained_at_the_shape_it_is_shown(tmp_path):
    """HDV / DV / DVD store wide pictures in narrower pixels (sample aspect ratio 4:3 here): a square on screen
    must stay a square in training, not come out squeezed to three quarters of its width."""
    from fractions import Fraction

    import av

    stored = np.zeros((48, 64, 3), np.uint8)
    stored[8:40, 20:44] = 255  # 24 stored pixels x 4/3 = 32 shown pixels wide, 32 high: a square on screen
    path = tmp_path / "hdv.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv444p"
        s.codec_context.sample_aspect_ratio = Fraction(4, 3)
        for _ in range(9):
            c.mux(s.encode(av.VideoFrame.from_ndarray(stored, format="rgb24")))
        c.mux(s.encode())
    info = probe(path)
    assert (info.width, info.height) == (85, 48)  # 16:9 as shown
    white = (decode(path, Bucket(width=32, height=32, frames=9))[0].mean(0) > 0).numpy()
    rows, cols = np.nonzero(white)
    height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
    assert abs(int(width) - int(height)) <= 1, (width, height)
