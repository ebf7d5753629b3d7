"""Dataset import and check: folders, zips and uploads; hostile archives; bad files; captions; the split."""

import hashlib
import json
import os
import stat
import zipfile
from pathlib import Path

import av
import pytest

from core.errors import LoraportError, NotFoundError
from core.store import open_db
from tests.trainer.clips import make_clip, make_image
from tools.dataset import check_dataset, import_dataset
from tools.dataset.sources import ImportLimits

COLORS = [(200, 40, 40), (40, 200, 40), (40, 40, 200), (200, 200, 40), (40, 200, 200), (200, 40, 200),
          (120, 120, 120), (250, 130, 20), (20, 130, 250), (90, 30, 160), (160, 90, 30), (30, 160, 90)]


def make_clips(folder: Path, n: int, *, start: int = 0, prefix: str = "clip") -> list[Path]:
    return [make_clip(folder / f"{prefix}{i:02d}.mp4", frames=17, size=(64, 48), color=COLORS[i % len(COLORS)],
                      pattern="moving" if i >= len(COLORS) else "solid") for i in range(start, start + n)]


def digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_import_folder_copies_media_and_records_every_file(tmp_path, workspace):
    src = tmp_path / "src"
    make_clips(src, 5)
    make_image(src / "stills" / "face.png", size=(48, 64))
    (src / "clip00.txt").write_text("a red room\n")
    (src / "notes.md").write_text("not media")
    before = digest(src)

    report = import_dataset(src, name="My Clips")

    assert report.id.startswith("my-clips-")
    assert (report.n_videos, report.n_images, report.n_files) == (5, 1, 6)
    dest = Path(report.path)
    assert dest == workspace.dataset_dir(report.id)
    assert {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()} == {
        *(f"clip{i:02d}.mp4" for i in range(5)), "stills/face.png", "captions.jsonl"}
    assert digest(src) == before, "the originals must never be modified"
    rows = {r["media"]: r for r in read_jsonl(dest / "captions.jsonl")}
    assert rows["clip00.mp4"]["caption"] == "a red room"
    assert rows["stills/face.png"]["caption"] == ""
    assert any("notes.md" in w for w in report.warnings)
    by_name = {f.name: f for f in report.files}
    clip = by_name["clip00.mp4"]
    assert (clip.kind, clip.width, clip.height, clip.frames, clip.caption_source) == ("video", 64, 48, 17, "sidecar")
    assert clip.bucket == "768x512x17"  # nearest aspect (4:3 -> 3:2), frames cut to what the clip has
    assert by_name["stills/face.png"].bucket.endswith("x1")
    db = open_db(workspace)
    assert db["datasets"].get(report.id)["n_files"] == 6
    assert db["dataset_files"].count_where("dataset_id = ?", [report.id]) == 6


@pytest.mark.slow
def test_import_zip_and_uploaded_files(tmp_path):
    clips = make_clips(tmp_path / "src", 3)
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for c in clips:
            zf.write(c, f"videos/{c.name}")
    from_zip = import_dataset(archive)
    from_files = import_dataset(clips)
    assert from_zip.n_videos == from_files.n_videos == 3
    assert {f.name for f in from_zip.files} == {f"videos/{c.name}" for c in clips}
    assert {f.name for f in from_files.files} == {c.name for c in clips}
    assert from_zip.id != from_files.id
    assert import_dataset([archive]).n_videos == 3, "one uploaded zip is unpacked like a zip path"
    checked = check_dataset(archive)
    assert checked.id is None and checked.n_videos == 3 and checked.path == str(archive)


@pytest.mark.parametrize("entry", ["../escape.mp4", "/abs/escape.mp4", "a/../../escape.mp4"])
def test_zip_with_paths_outside_is_refused_and_writes_nothing(tmp_path, workspace, entry):
    clip = make_clips(tmp_path / "src", 1)[0]
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(clip, "good.mp4")
        zf.writestr(zipfile.ZipInfo(entry), clip.read_bytes())
    with pytest.raises(LoraportError, match="outside the dataset"):
        import_dataset(archive)
    assert not list(tmp_path.rglob("escape.mp4"))
    assert not list(workspace.home.rglob("escape.mp4"))
    assert list(workspace.datasets_dir.iterdir()) == [], "a refused zip leaves no dataset and no staging"
    assert open_db(workspace)["datasets"].count == 0


def test_zip_with_symlink_entry_is_refused(tmp_path, workspace):
    clip = make_clips(tmp_path / "src", 1)[0]
    archive = tmp_path / "link.zip"
    link = zipfile.ZipInfo("clip.mp4")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(clip, "real.mp4")
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(LoraportError, match="symlinks"):
        import_dataset(archive)
    assert list(workspace.datasets_dir.iterdir()) == []


def test_zip_bomb_is_refused_by_ratio_and_by_declared_size(tmp_path, workspace):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("huge.mp4", b"\0" * (8 << 20))  # 8 MiB of zeros deflate ~1000:1
    with pytest.raises(LoraportError, match="zip bomb"):
        import_dataset(archive)
    clips = make_clips(tmp_path / "src", 2)
    plain = tmp_path / "plain.zip"
    with zipfile.ZipFile(plain, "w") as zf:
        for c in clips:
            zf.write(c, c.name)
    with pytest.raises(LoraportError, match="would unpack to"):
        import_dataset(plain, limits=ImportLimits(max_total_bytes=1000))
    assert list(workspace.datasets_dir.iterdir()) == []


def test_symlink_in_folder_is_not_followed(tmp_path):
    src = tmp_path / "src"
    make_clips(src, 2)
    secret = make_clips(tmp_path / "elsewhere", 1, start=5, prefix="secret")[0]
    os.symlink(secret, src / "linked.mp4")
    report = import_dataset(src)
    assert "symlink" in report.errors["linked.mp4"]
    assert not (Path(report.path) / "linked.mp4").exists()
    assert report.n_files == 2


def _zero_frame_clip(path: Path) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        container.start_encoding()  # writes the header; no frame is ever encoded
        container.mux(stream.encode())
    return path


def _huge_clip(path: Path) -> Path:
    import numpy as np

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 8320, 16, "yuv420p"  # wider than 8K
        container.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((16, 8320, 3), np.uint8), format="rgb24")))
        container.mux(stream.encode())
    return path


def _two_hour_clip(path: Path) -> Path:
    """Two frames 4000 s apart: a header that claims more than two hours of video."""
    import numpy as np
    from fractions import Fraction

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(1, 4000))
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for _ in range(2):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")))
        container.mux(stream.encode())
    return path


def test_bad_files_are_refused_one_by_one_while_the_rest_import(tmp_path):
    src = tmp_path / "src"
    make_clips(src, 5)
    (src / "notes.mp4").write_text("this is a text file, not a video")
    whole = make_clip(tmp_path / "whole.mp4", frames=17, size=(64, 48), color=(1, 2, 3)).read_bytes()
    (src / "truncated.mp4").write_bytes(whole[: len(whole) // 3])
    _zero_frame_clip(src / "empty.mp4")
    _huge_clip(src / "huge.mp4")
    _two_hour_clip(src / "endless.mp4")

    report = import_dataset(src)

    assert report.n_files == 5
    assert set(report.errors) == {"notes.mp4", "truncated.mp4", "empty.mp4", "huge.mp4", "endless.mp4"}
    assert "8K" in report.errors["huge.mp4"]
    assert "too long" in report.errors["endless.mp4"]
    for name, why in report.errors.items():
        assert name not in {p.name for p in Path(report.path).iterdir()}
        assert len(why) > 15, f"{name}: the error must say what is wrong: {why!r}"
    assert "refused" in report.summary and "huge.mp4" in report.summary


def test_empty_dataset_is_a_clear_error(tmp_path, workspace):
    (tmp_path / "empty").mkdir()
    with pytest.raises(LoraportError, match="empty"):
        import_dataset(tmp_path / "empty")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "readme.md").write_text("hi")
    with pytest.raises(LoraportError, match="readme.md"):
        import_dataset(tmp_path / "docs")
    assert open_db(workspace)["datasets"].count == 0


def test_all_duplicates_is_a_clear_error_and_some_duplicates_are_skipped(tmp_path):
    same = tmp_path / "same"
    first = make_clips(same, 1)[0]
    for i in range(3):
        (same / f"copy{i}.mp4").write_bytes(first.read_bytes())
    with pytest.raises(LoraportError, match="All 4 media files are copies of one file"):
        import_dataset(same)

    mixed = tmp_path / "mixed"
    clips = make_clips(mixed, 3)
    (mixed / "again.mp4").write_bytes(clips[1].read_bytes())
    report = import_dataset(mixed)
    assert report.n_files == 3
    assert report.duplicates == [["again.mp4", "clip01.mp4"]]
    assert "duplicate of again.mp4" in report.errors["clip01.mp4"]


def test_too_small_for_recipe_gives_a_recommendation(tmp_path):
    from tools.recipes import load_recipe

    recipe = load_recipe("character")
    make_clips(tmp_path / "src", 2)
    report = import_dataset(tmp_path / "src", recipe=recipe)
    assert report.n_files == 2
    advice = " ".join(report.recommendations)
    assert "character" in advice and "Add" in advice
    assert "To fix" in report.summary


def test_caption_tables_import_and_captions_for_missing_files_warn(tmp_path):
    src = tmp_path / "src"
    make_clips(src / "videos", 3)
    (src / "dataset.json").write_text(json.dumps([
        {"caption": "first\x07 clip\n\nin a  room", "media_path": "videos/clip00.mp4"},
        {"caption": "gone", "media_path": "videos/deleted.mp4"}]))
    (src / "captions.csv").write_text("video,caption\nvideos/clip01.mp4,\"second, with comma\"\nnope.mp4,x\n")
    (src / "videos" / "extra.jsonl").write_text(json.dumps({"media": "clip02.mp4", "caption": "third"}) + "\n")

    report = import_dataset(src)

    captions = {f.name: f.caption for f in report.files}
    assert captions == {"videos/clip00.mp4": "first clip in a room", "videos/clip01.mp4": "second, with comma",
                        "videos/clip02.mp4": "third"}
    warning = next(w for w in report.warnings if "not in the dataset" in w)
    assert "deleted.mp4" in warning and "nope.mp4" in warning
    stored = {r["media"]: r["caption"] for r in read_jsonl(Path(report.path) / "captions.jsonl")}
    assert stored == captions


@pytest.mark.slow
def test_holdout_split_is_seeded_and_stable(tmp_path):
    make_clips(tmp_path / "a", 10)
    make_clips(tmp_path / "b", 10, prefix="renamed")  # same content, other names
    first = import_dataset(tmp_path / "a", seed=7)
    again = import_dataset(tmp_path / "a", seed=7)
    renamed = import_dataset(tmp_path / "b", seed=7)
    assert len(first.holdout) == 1
    assert first.holdout == again.holdout
    assert [h.replace("clip", "renamed") for h in first.holdout] == renamed.holdout
    seeds = {tuple(import_dataset(tmp_path / "a", seed=s).holdout) for s in range(6)}
    assert len(seeds) > 1, "the seed must change the split"
    rows = read_jsonl(Path(first.path) / "captions.jsonl")
    assert [r["media"] for r in rows if r["split"] == "holdout"] == first.holdout


def test_small_sets_say_what_the_holdout_costs(tmp_path):
    make_clips(tmp_path / "five", 5)
    make_clips(tmp_path / "three", 3)
    five = import_dataset(tmp_path / "five")
    three = import_dataset(tmp_path / "three")
    assert len(five.holdout) == 1
    assert any("1 of 5" in w and "training sees 4" in w for w in five.warnings)
    assert three.holdout == []
    assert any("none is held out" in w for w in three.warnings)
    assert import_dataset(tmp_path / "five", holdout_fraction=0).holdout == []


def test_check_dataset_by_id_and_by_folder(tmp_path, workspace):
    src = tmp_path / "src"
    make_clips(src, 5)
    (src / "bad.mp4").write_text("nope")
    report = import_dataset(src)

    checked = check_dataset(report.id)
    assert checked.n_files == 5 and "bad.mp4" in checked.errors
    assert check_dataset(report.path).id == report.id
    (Path(report.path) / "clip02.mp4").unlink()
    assert "missing" in check_dataset(report.id).errors["clip02.mp4"]

    folder = check_dataset(src)
    assert folder.id is None and folder.n_files == 5 and "bad.mp4" in folder.errors
    assert open_db(workspace)["datasets"].count == 1, "check of a folder records nothing"
    with pytest.raises(NotFoundError):
        check_dataset("no-such-dataset")


def test_ic_lora_recipe_pairs_reference_clips_and_keeps_them_out_of_training(tmp_path):
    src = tmp_path / "src"
    make_clips(src, 3)
    make_clips(src, 2, start=6, prefix="ref")
    (src / "ref06.mp4").rename(src / "clip00_ref.mp4")
    (src / "ref07.mp4").rename(src / "clip01_ref.mp4")

    plain = import_dataset(src)
    assert plain.n_files == 5 and any("look like IC-LoRA reference" in w for w in plain.warnings)

    report = import_dataset(src, recipe="face")
    assert report.n_files == 3
    by_name = {f.name: f for f in report.files}
    assert by_name["clip00.mp4"].reference == "clip00_ref.mp4"
    assert by_name["clip00_ref.mp4"].role == "reference" and by_name["clip00_ref.mp4"].split is None
    assert any("clip02.mp4" in r and "no reference" in r for r in report.recommendations)
    rows = {r["media"]: r for r in read_jsonl(Path(report.path) / "captions.jsonl")}
    assert set(rows) == {"clip00.mp4", "clip01.mp4", "clip02.mp4"}, "references are not items of their own"
    assert rows["clip01.mp4"]["reference"] == "clip01_ref.mp4"
    assert (Path(report.path) / "clip01_ref.mp4").is_file()
    assert check_dataset(report.id).files == report.files


def test_encrypted_or_broken_zip_is_a_clear_error(tmp_path, workspace):
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(LoraportError, match="not a readable zip"):
        import_dataset(broken)
    clip = make_clips(tmp_path / "src", 1)[0]
    encrypted = tmp_path / "locked.zip"
    with zipfile.ZipFile(encrypted, "w") as zf:
        zf.write(clip, "clip.mp4")
    data = bytearray(encrypted.read_bytes())
    data[6] |= 0x1  # general-purpose flag bit 0 of the local header: "encrypted"
    central = data.rfind(b"PK\x01\x02")
    data[central + 8] |= 0x1  # the same flag in the central directory
    encrypted.write_bytes(bytes(data))
    with pytest.raises(LoraportError, match="could not be unpacked"):
        import_dataset(encrypted)
    assert list(workspace.datasets_dir.iterdir()) == []


def test_clip_cut_short_behind_a_good_header_is_refused_at_import(tmp_path):
    src = tmp_path / "src"
    make_clips(src, 2)
    import numpy as np

    path = src / "cut.mp4"
    with av.open(str(path), "w", options={"movflags": "faststart"}) as container:  # index first: headers survive a cut
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        rng = np.random.default_rng(0)
        for _ in range(33):
            frame = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])

    report = import_dataset(src)

    assert set(report.errors) == {"cut.mp4"}
    assert "cut short" in report.errors["cut.mp4"]
    assert report.n_files == 2


def test_ic_lora_reference_column_of_a_captions_table_pairs_clips(tmp_path):
    src = tmp_path / "src"
    make_clips(src / "targets", 2)
    make_clips(src / "refs", 2, start=6, prefix="cond")
    (src / "dataset.jsonl").write_text("\n".join(json.dumps(row) for row in [
        {"caption": "a face turns", "media_path": "targets/clip00.mp4", "reference_path": "refs/cond06.mp4"},
        {"caption": "a face smiles", "media_path": "targets/clip01.mp4", "reference_path": "refs/gone.mp4"}]))

    report = import_dataset(src, recipe="face")

    by_name = {f.name: f for f in report.files}
    assert by_name["targets/clip00.mp4"].reference == "refs/cond06.mp4"
    assert by_name["refs/cond06.mp4"].role == "reference"
    assert by_name["targets/clip01.mp4"].reference is None
    assert any("refs/gone.mp4" in w for w in report.warnings), "a reference that does not exist is named"
    assert report.n_files == 3  # clip00, clip01 and the unpaired cond07
