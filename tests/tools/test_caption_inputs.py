"""What a captioner is shown from media as it really arrives: variable-rate Matroska whose header over-counts
frames, phone clips stored sideways, odd sizes and stills of every kind; always upright frames, never an error."""

import pytest

from tests.trainer.media_zoo import make_still, make_video
from tools.caption.frames import sample_frames


def test_a_variable_rate_mkv_that_decodes_fewer_frames_than_its_header_says(tmp_path):
    clip = make_video(tmp_path / "phone.mkv", frames=17, timestamps=[i * 0.09 for i in range(17)])  # header: 36
    frames = sample_frames(clip, 4)
    assert len(frames) == 4 and all(f.size == (64, 64) for f in frames)


def test_a_clip_stored_sideways_is_shown_upright(tmp_path):
    import av
    import numpy as np

    path = tmp_path / "phone.mp4"
    stored = np.zeros((32, 64, 3), np.uint8)
    stored[:, :32] = 255  # left half white; turned 90 degrees clockwise for display: the top half is white
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt = 64, 32, "yuv420p"
        s.set_display_rotation(-90)
        for _ in range(9):
            c.mux(s.encode(av.VideoFrame.from_ndarray(stored, format="rgb24")))
        c.mux(s.encode())
    (first, *_) = sample_frames(path, 2)
    assert first.size == (32, 64)  # portrait, as the phone showed it
    pixels = np.asarray(first)
    assert pixels[:32].mean() > 230 and pixels[32:].mean() < 25


@pytest.mark.parametrize("name,mode", [("a.png", "RGBA"), ("b.webp", "RGB"), ("c.jpg", "CMYK"), ("d.png", "P")])
def test_stills_in_any_mode_and_odd_sizes_give_one_rgb_frame(tmp_path, name, mode):
    (frame,) = sample_frames(make_still(tmp_path / name, size=(45, 101), mode=mode), 4)
    assert frame.mode == "RGB" and frame.size[1] > frame.size[0]  # portrait stays portrait


def test_a_browser_recorded_webm_without_duration_shows_frames_from_across_the_clip(tmp_path):
    import numpy as np

    from tests.trainer.media_zoo import make_live_webm

    frames = sample_frames(make_live_webm(tmp_path / "webcam.webm", frames=40), 4)
    assert len(frames) == 4
    assert not np.array_equal(np.asarray(frames[0]), np.asarray(frames[-1]))  # the square moved: not one frame
