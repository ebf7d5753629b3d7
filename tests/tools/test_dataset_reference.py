"""Dataset import with an IC-LoRA recipe names, per pair, what training will refuse: an image reference for a
video, a reference shorter than the clip's bucket (trainer.pairs applies the same rules)."""

from tests.trainer.clips import make_clip, make_image
from tools.dataset import import_dataset


def test_import_warns_per_pair_about_what_training_refuses(tmp_path):
    src = tmp_path / "src"
    for i, name in enumerate(("good", "still", "short")):
        make_clip(src / f"{name}.mp4", frames=49, color=(200, 40 + 60 * i, 40))
    make_clip(src / "good_ref.mp4", frames=49, size=(96, 64), color=(0, 0, 255))  # another size: fine
    make_image(src / "still_ref.png")
    make_clip(src / "short_ref.mp4", frames=9, color=(0, 255, 0))
    report = import_dataset(src, recipe="face")
    warned = [w for w in report.warnings if w.startswith(("good.mp4", "still.mp4", "short.mp4"))]
    assert len(warned) == 2, report.warnings
    assert any(w.startswith("still.mp4: its reference still_ref.png is an image") for w in warned)
    assert any(w.startswith("short.mp4: its reference short_ref.mp4 has 9 frames") for w in warned)
