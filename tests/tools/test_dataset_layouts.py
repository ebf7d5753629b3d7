"""Importing datasets in the layouts users of other trainers keep them in: kohya sidecars (.txt / .caption /
.json) in any editor's encoding, ltx-trainer manifests exported from Excel, and IC-LoRA references in a
references/ folder. Import and direct training must read a folder the same way."""

import json
from pathlib import Path

import pytest

from tests.trainer.clips import make_clip
from tools.dataset import import_dataset
from trainer.config import TrainConfig
from trainer.data import list_entries

COLORS = [(200, 40, 40), (40, 200, 40), (40, 40, 200), (200, 200, 40), (40, 200, 200), (200, 40, 200)]


def _clip(path: Path, i: int) -> Path:
    return make_clip(path, frames=17, size=(64, 48), color=COLORS[i % len(COLORS)])


def _trainer_view(folder: Path, ic: bool = False) -> dict[str, tuple[str, str | None]]:
    """What the trainer reads from a folder: media -> (caption, reference), by path relative to the folder."""
    cfg = TrainConfig(data=dict(dataset_dir=folder, buckets=[dict(width=64, height=64, frames=17)]),
                      strategy=dict(name="ic-lora") if ic else {})
    root = folder.resolve()
    rel = lambda p: p.resolve().relative_to(root).as_posix()  # noqa: E731
    return {rel(e.media): (e.caption, rel(e.reference) if e.reference else None) for e in list_entries(cfg, [])}


def test_kohya_sidecars_in_any_encoding_import_as_the_trainer_reads_them(tmp_path):
    src = tmp_path / "src" / "10_zorbly style"
    for i, name in enumerate(["utf16", "cp1252", "dotcaption", "json", "bom"]):
        _clip(src / f"{name}.mp4", i)
    (src / "utf16.txt").write_bytes("zorbly style, a café at night".encode("utf-16"))
    (src / "cp1252.txt").write_bytes("zorbly style, naïve façade".encode("cp1252"))
    (src / "dotcaption.caption").write_text("zorbly style, from a .caption file")
    (src / "json.json").write_text(json.dumps({"caption": "zorbly style, from a json sidecar", "score": 7}))
    (src / "bom.txt").write_bytes(b"\xef\xbb\xbf" + "zorbly style, with a BOM".encode())

    report = import_dataset(tmp_path / "src", holdout_fraction=0)

    captions = {f.name: f.caption for f in report.files}
    want = {"10_zorbly style/utf16.mp4": "zorbly style, a café at night",
            "10_zorbly style/cp1252.mp4": "zorbly style, naïve façade",
            "10_zorbly style/dotcaption.mp4": "zorbly style, from a .caption file",
            "10_zorbly style/json.mp4": "zorbly style, from a json sidecar",
            "10_zorbly style/bom.mp4": "zorbly style, with a BOM"}
    assert captions == want
    assert not any("Ignored" in w or "could not be read" in w for w in report.warnings), report.warnings
    assert {k: c for k, (c, _) in _trainer_view(tmp_path / "src").items()} == want  # training the folder directly
    assert {k: c for k, (c, _) in _trainer_view(Path(report.path)).items()} == want  # training the import


def test_an_excel_exported_ltx_trainer_csv_with_capitalised_headers(tmp_path):
    src = tmp_path / "src"
    _clip(src / "videos" / "a.mp4", 0)
    _clip(src / "videos" / "b.mp4", 1)
    (src / "dataset.csv").write_bytes(b"\xef\xbb\xbf" + "Video,Caption\r\nvideos/a.mp4,\"a man, waving\"\r\n"
                                      "videos\\b.mp4,une crêpe\r\n".encode("utf-8"))
    report = import_dataset(src, holdout_fraction=0)
    assert {f.name: f.caption for f in report.files} == {"videos/a.mp4": "a man, waving", "videos/b.mp4": "une crêpe"}
    assert {k: c for k, (c, _) in _trainer_view(src).items()} == {"videos/a.mp4": "a man, waving",
                                                                  "videos/b.mp4": "une crêpe"}


def test_ic_lora_references_in_a_references_folder_pair_at_import_and_in_training(tmp_path):
    src = tmp_path / "src"
    for i, name in enumerate(["walk", "run", "jump"]):
        _clip(src / "videos" / f"{name}.mp4", i)
    _clip(src / "references" / "walk.mp4", 3)
    _clip(src / "references" / "videos" / "run.mp4", 4)  # mirrored sub-folders
    _clip(src / "references" / "nobody.mp4", 5)
    report = import_dataset(src, recipe="face", holdout_fraction=0)
    by_name = {f.name: f for f in report.files}
    assert by_name["videos/walk.mp4"].reference == "references/walk.mp4"
    assert by_name["videos/run.mp4"].reference == "references/videos/run.mp4"
    assert by_name["videos/jump.mp4"].reference is None
    assert by_name["references/walk.mp4"].role == "reference"
    assert any("references folder match no clip" in w and "references/nobody.mp4" in w for w in report.warnings)
    assert any("videos/jump.mp4" in r and "no reference" in r for r in report.recommendations)
    direct = _trainer_view(src, ic=True)
    assert direct == {"videos/walk.mp4": ("", "references/walk.mp4"),
                      "videos/run.mp4": ("", "references/videos/run.mp4"), "videos/jump.mp4": ("", None)}
    imported = _trainer_view(Path(report.path), ic=True)
    assert {k: r for k, (_, r) in imported.items() if k in direct} == {k: r for k, (_, r) in direct.items()}


def test_a_variable_rate_mkv_whose_header_over_counts_imports_at_the_frames_it_has(tmp_path):
    from tests.trainer.media_zoo import make_video

    src = tmp_path / "src"
    _clip(src / "a.mp4", 0)
    make_video(src / "phone.mkv", frames=17, timestamps=[i * 0.09 for i in range(17)])  # header: 1.5 s x 24 fps
    report = import_dataset(src, holdout_fraction=0)
    by_name = {f.name: f for f in report.files}
    assert by_name["phone.mkv"].error is None and by_name["phone.mkv"].frames == 17
    assert by_name["phone.mkv"].bucket.endswith("x17")


def test_an_audio_column_at_import_says_the_separate_sound_is_not_carried(tmp_path):
    from tests.trainer.media_zoo import make_sound

    src = tmp_path / "src"
    _clip(src / "a.mp4", 0)
    _clip(src / "b.mp4", 1)
    make_sound(src / "a.wav")
    (src / "dataset.jsonl").write_text(json.dumps({"video": "a.mp4", "audio": "a.wav", "caption": "x"}) + "\n"
                                       + json.dumps({"video": "b.mp4", "caption": "y"}) + "\n")
    report = import_dataset(src, holdout_fraction=0)
    assert any("'audio' column names separate sound files" in w for w in report.warnings)
    assert {f.name: f.caption for f in report.files} == {"a.mp4": "x", "b.mp4": "y"}


def test_a_semicolon_csv_from_a_european_spreadsheet_imports_its_captions(tmp_path):
    src = tmp_path / "src"
    _clip(src / "a.mp4", 0)
    _clip(src / "b.mp4", 1)
    (src / "captions.csv").write_text("video;caption\na.mp4;ein Mann, winkend\nb.mp4;une femme, souriante\n")
    report = import_dataset(src, holdout_fraction=0)
    assert {f.name: f.caption for f in report.files} == {"a.mp4": "ein Mann, winkend", "b.mp4": "une femme, souriante"}


def test_a_browser_recorded_webm_without_duration_imports_with_its_real_length(tmp_path):
    from tests.trainer.media_zoo import make_live_webm

    src = tmp_path / "src"
    _clip(src / "a.mp4", 0)
    make_live_webm(src / "webcam.webm", frames=40, fps=30)
    report = import_dataset(src, holdout_fraction=0)
    webcam = next(f for f in report.files if f.name == "webcam.webm")
    assert webcam.error is None and webcam.frames == 40 and webcam.duration_s == pytest.approx(40 / 30)


def test_an_ltx_trainer_ic_manifest_pointing_into_a_references_folder_imports_its_pairs(tmp_path):
    src = tmp_path / "src"
    _clip(src / "videos" / "cat.mp4", 0)
    _clip(src / "videos" / "dog.mp4", 1)
    _clip(src / "references" / "cat_depth.mp4", 2)
    _clip(src / "references" / "dog_depth.mp4", 3)
    (src / "dataset.json").write_text(json.dumps([
        {"caption": "a cat", "video": "videos/cat.mp4", "reference_video": "references/cat_depth.mp4"},
        {"caption": "a dog", "video": "videos/dog.mp4", "ref_media_path": "references/dog_depth.mp4"}]))
    report = import_dataset(src, recipe="face", holdout_fraction=0)
    by_name = {f.name: f for f in report.files}
    assert by_name["videos/cat.mp4"].reference == "references/cat_depth.mp4"
    assert by_name["videos/dog.mp4"].reference == "references/dog_depth.mp4"
    assert report.n_files == 2 and not any("match no clip" in w for w in report.warnings), report.warnings
    assert _trainer_view(Path(report.path), ic=True) == _trainer_view(src, ic=True) == {
        "videos/cat.mp4": ("a cat", "references/cat_depth.mp4"), "videos/dog.mp4": ("a dog", "references/dog_depth.mp4")}


def test_avi_m4v_and_camcorder_transport_streams_import_with_their_captions_as_training_reads_them(tmp_path):
    from tests.trainer.media_zoo import make_video

    src = tmp_path / "src"
    names = {"old_cam.avi": dict(codec="mpeg4"), "export.m4v": {}, "00001.MTS": {}, "00002.m2ts": {}}
    for i, (name, kw) in enumerate(names.items()):
        make_video(src / name, frames=17, color=COLORS[i], **kw)
        (src / name).with_suffix(".txt").write_text(f"clip number {i}")
    assert _trainer_view(src) == {name: (f"clip number {i}", None) for i, name in enumerate(names)}
    report = import_dataset(src, holdout_fraction=0)
    by_name = {f.name: f for f in report.files}
    assert set(by_name) == set(names)
    for i, name in enumerate(names):
        assert by_name[name].error is None and by_name[name].frames == 17, by_name[name]
        assert by_name[name].caption == f"clip number {i}"
