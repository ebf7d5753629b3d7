"""Dataset folders as users of other trainers bring them, listed by the trainer without any model: ltx-trainer
manifests (CSV / JSON / JSONL, its column names), kohya-style sidecars in any editor's encoding, nested folders,
OS litter, and IC-LoRA pairs by suffix, by a references/ folder or by a manifest column."""

import csv
import json

import pytest

from tests.trainer.clips import make_clip, make_image
from trainer.config import TrainConfig
from trainer.data import MediaError, list_entries
from trainer.manifest import read_text, sidecar_caption

BUCKETS = [dict(width=64, height=64, frames=17)]


def _list(folder, ic=False):
    strategy = dict(name="ic-lora") if ic else {}
    cfg = TrainConfig(data=dict(dataset_dir=folder, buckets=BUCKETS, holdout_fraction=0), strategy=strategy)
    errors: list[MediaError] = []
    entries = list_entries(cfg, errors)
    rel = {e.media.resolve().relative_to(folder.resolve()).as_posix(): e for e in entries}
    return rel, {e.media: e.message for e in errors}


def _ref(entry, folder):
    return entry.reference.resolve().relative_to(folder.resolve()).as_posix() if entry.reference else None


# -- ltx-trainer manifests ---------------------------------------------------------------------------------------

def test_an_ltx_trainer_json_manifest_captions_its_rows_and_names_what_it_does_not_list(tmp_path):
    make_clip(tmp_path / "videos" / "cat.mp4")
    make_clip(tmp_path / "videos" / "dog.mp4")
    make_clip(tmp_path / "videos" / "stray.mp4")
    (tmp_path / "dataset.json").write_text(json.dumps([
        {"caption": "A cat playing with a ball of yarn", "video": "videos/cat.mp4"},
        {"caption": "A dog running in the park", "video": "videos/dog.mp4"}]))
    entries, errors = _list(tmp_path)
    assert {k: e.caption for k, e in entries.items()} == {"videos/cat.mp4": "A cat playing with a ball of yarn",
                                                           "videos/dog.mp4": "A dog running in the park"}
    assert set(errors) == {"videos/stray.mp4"} and "not listed in dataset.json" in errors["videos/stray.mp4"]


def test_an_excel_csv_manifest_with_a_bom_legacy_column_names_and_commas_in_captions(tmp_path):
    make_clip(tmp_path / "a.mp4")
    make_image(tmp_path / "b.png")
    with open(tmp_path / "metadata.csv", "w", newline="", encoding="utf-8-sig") as f:  # Excel's "CSV UTF-8"
        w = csv.writer(f)
        w.writerow(["Caption", "media_path"])
        w.writerow(["a man, smiling, in the rain", "a.mp4"])
        w.writerow(["a still photo of a café", "./b.png"])
    entries, errors = _list(tmp_path)
    assert entries["a.mp4"].caption == "a man, smiling, in the rain"
    assert entries["b.png"].caption == "a still photo of a café"
    assert errors == {}  # the CSV itself is not "an unsupported media file"


def test_a_jsonl_manifest_with_windows_paths_and_a_bad_line_keeps_the_good_rows(tmp_path):
    make_clip(tmp_path / "clips" / "one.mp4")
    make_clip(tmp_path / "clips" / "two.mp4")
    (tmp_path / "train.jsonl").write_text(
        json.dumps({"video": "clips\\one.mp4", "caption": "first"}) + "\n{oops\n"
        + json.dumps({"media_path": "clips/two.mp4", "caption": "second"}) + "\n"
        + json.dumps({"video": "../outside.mp4", "caption": "escape"}) + "\n")
    entries, errors = _list(tmp_path)
    assert {k: e.caption for k, e in entries.items()} == {"clips/one.mp4": "first", "clips/two.mp4": "second"}
    assert "not JSON" in errors["train.jsonl:2"] and "outside the dataset" in errors["train.jsonl:4"]


def test_a_hugging_face_metadata_jsonl_with_file_name_and_text(tmp_path):
    make_image(tmp_path / "0.jpg")
    make_clip(tmp_path / "1.mp4")
    (tmp_path / "metadata.jsonl").write_text(json.dumps({"file_name": "0.jpg", "text": "Nice cat"}) + "\n"
                                             + json.dumps({"file_name": "1.mp4", "caption": "Nice second cat"}))
    entries, errors = _list(tmp_path)
    assert {k: e.caption for k, e in entries.items()} == {"0.jpg": "Nice cat", "1.mp4": "Nice second cat"}
    assert errors == {}


def test_captions_jsonl_may_use_ltx_trainer_column_names_and_carry_a_bom(tmp_path):
    make_clip(tmp_path / "a.mp4")
    make_clip(tmp_path / "b.mp4")
    rows = [{"video": "a.mp4", "caption": "from the video column"},
            {"media_path": "b.mp4", "text": "from the text column", "split": "holdout"}]
    (tmp_path / "captions.jsonl").write_bytes(b"\xef\xbb\xbf" + "\n".join(map(json.dumps, rows)).encode())
    entries, errors = _list(tmp_path)
    assert errors == {}
    assert entries["a.mp4"].caption == "from the video column" and entries["a.mp4"].split == "train"
    assert entries["b.mp4"].caption == "from the text column" and entries["b.mp4"].split == "holdout"


def test_a_captions_file_in_a_legacy_code_page_is_read_not_a_crash(tmp_path):
    make_clip(tmp_path / "a.mp4")
    (tmp_path / "captions.jsonl").write_bytes('{"media": "a.mp4", "caption": "crème brûlée"}\n'.encode("cp1252"))
    entries, errors = _list(tmp_path)
    assert entries["a.mp4"].caption == "crème brûlée" and errors == {}


def test_a_manifest_that_cannot_be_parsed_is_one_error_naming_it_and_the_clips_still_train(tmp_path):
    make_clip(tmp_path / "a.mp4")
    (tmp_path / "a.txt").write_text("from the sidecar")
    (tmp_path / "dataset.json").write_text('[{"video": "a.mp4", "caption": "x"}')  # cut short
    entries, errors = _list(tmp_path)
    assert {k: e.caption for k, e in entries.items()} == {"a.mp4": "from the sidecar"}
    assert list(errors) == ["dataset.json"] and "could not be read as JSON" in errors["dataset.json"]
    assert "captions were not used" in errors["dataset.json"]


def test_a_json_object_beside_a_clip_is_its_sidecar_not_a_manifest(tmp_path):
    make_clip(tmp_path / "a.mp4")
    make_clip(tmp_path / "b.mp4")
    (tmp_path / "a.json").write_text(json.dumps({"caption": "from the json sidecar", "tags": ["x"]}))
    (tmp_path / "b.txt").write_text("from the txt sidecar\n")
    entries, errors = _list(tmp_path)
    assert entries["a.mp4"].caption == "from the json sidecar" and entries["b.mp4"].caption == "from the txt sidecar"
    assert errors == {}


# -- sidecars and folders ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding,bom", [("utf-16", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-8", b""),
                                          ("cp1252", b"")])
def test_sidecar_captions_in_any_editors_encoding(tmp_path, encoding, bom):
    clip = make_clip(tmp_path / "a.mp4")
    (tmp_path / "a.txt").write_bytes(bom + "ohwx man, café au lait\r\n".encode(encoding))
    assert sidecar_caption(clip) == "ohwx man, café au lait"


def test_dot_caption_sidecars_and_txt_first_when_both_exist(tmp_path):
    make_clip(tmp_path / "a.mp4")
    make_clip(tmp_path / "b.mp4")
    (tmp_path / "a.caption").write_text("from the caption file")
    (tmp_path / "b.caption").write_text("ignored")
    (tmp_path / "b.txt").write_text("the txt wins")
    entries, errors = _list(tmp_path)
    assert entries["a.mp4"].caption == "from the caption file" and entries["b.mp4"].caption == "the txt wins"
    assert errors == {}


def test_kohya_repeat_folders_nested_and_os_litter(tmp_path):
    make_clip(tmp_path / "10_ohwx man" / "walk.mp4")
    (tmp_path / "10_ohwx man" / "walk.txt").write_text("ohwx man walking")
    make_image(tmp_path / "5_ohwx man" / "stills" / "portrait.JPG")
    (tmp_path / "5_ohwx man" / "stills" / "portrait.txt").write_text("ohwx man, portrait")
    (tmp_path / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (tmp_path / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    (tmp_path / "dataset.toml").write_text("[general]\nresolution = 512\n")
    (tmp_path / "__MACOSX" / "10_ohwx man").mkdir(parents=True)
    (tmp_path / "__MACOSX" / "10_ohwx man" / "._walk.mp4").write_bytes(b"\0\5\26\7")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4")
    entries, errors = _list(tmp_path)
    assert {k: e.caption for k, e in entries.items()} == {"10_ohwx man/walk.mp4": "ohwx man walking",
                                                           "5_ohwx man/stills/portrait.JPG": "ohwx man, portrait"}
    assert list(errors) == ["notes.pdf"] and "not a supported media file" in errors["notes.pdf"]


def test_read_text_refuses_a_huge_file_by_name(tmp_path):
    from core.errors import LoraportError

    big = tmp_path / "captions.jsonl"
    big.write_bytes(b"x" * 2048)
    with pytest.raises(LoraportError, match="captions.jsonl: larger than"):
        read_text(big, max_bytes=1024)


# -- IC-LoRA pairs -----------------------------------------------------------------------------------------------

def test_a_references_folder_pairs_by_name_beside_or_mirrored_and_names_orphans(tmp_path):
    make_clip(tmp_path / "videos" / "walk.mp4")
    make_clip(tmp_path / "references" / "walk.mp4", color=(0, 0, 255))  # flat: references/<name>
    make_clip(tmp_path / "videos" / "run.mov")
    make_clip(tmp_path / "references" / "videos" / "run.mp4", color=(0, 0, 255))  # mirrored sub-folders
    make_clip(tmp_path / "videos" / "jump.mp4")
    make_image(tmp_path / "videos" / "References" / "jump_ref.png")  # beside, any case, with the suffix
    make_clip(tmp_path / "videos" / "alone.mp4")
    make_clip(tmp_path / "references" / "nobody.mp4")
    entries, errors = _list(tmp_path, ic=True)
    assert {k: _ref(e, tmp_path) for k, e in entries.items()} == {
        "videos/walk.mp4": "references/walk.mp4", "videos/run.mov": "references/videos/run.mp4",
        "videos/jump.mp4": "videos/References/jump_ref.png", "videos/alone.mp4": None}
    assert set(errors) == {"references/nobody.mp4"} and "target nobody.* is not in the dataset" in \
        errors["references/nobody.mp4"]


def test_without_an_ic_lora_a_references_folder_is_just_more_clips(tmp_path):
    make_clip(tmp_path / "walk.mp4")
    make_clip(tmp_path / "references" / "walk.mp4")
    entries, _ = _list(tmp_path)
    assert set(entries) == {"walk.mp4", "references/walk.mp4"}


def test_an_ltx_trainer_ic_manifest_pairs_by_reference_video_and_keeps_references_out(tmp_path):
    make_clip(tmp_path / "videos" / "cat.mp4")
    make_clip(tmp_path / "references" / "cat_depth.mp4")
    make_clip(tmp_path / "videos" / "dog.mp4")
    (tmp_path / "dataset.jsonl").write_text(
        json.dumps({"caption": "a cat", "video": "videos/cat.mp4", "reference_video": "references/cat_depth.mp4"})
        + "\n" + json.dumps({"caption": "a dog", "video": "videos/dog.mp4",
                             "ref_media_path": "references/dog_depth.mp4"}) + "\n")
    entries, errors = _list(tmp_path, ic=True)
    assert {k: _ref(e, tmp_path) for k, e in entries.items()} == {
        "videos/cat.mp4": "references/cat_depth.mp4", "videos/dog.mp4": "references/dog_depth.mp4"}
    assert not entries["videos/dog.mp4"].reference.exists()  # refused per file when prepared (see test_data_zoo)
    assert errors == {}  # the listed reference is not "unlisted media"


@pytest.mark.parametrize("listing", ["captions.jsonl", "dataset.jsonl"])
def test_manifest_rows_without_a_reference_column_find_a_references_folder(tmp_path, listing):
    make_clip(tmp_path / "a.mp4")
    make_clip(tmp_path / "references" / "a.mp4")
    (tmp_path / listing).write_text(json.dumps({"media": "a.mp4", "caption": "x"}) + "\n")
    entries, errors = _list(tmp_path, ic=True)
    assert {k: _ref(e, tmp_path) for k, e in entries.items()} == {"a.mp4": "references/a.mp4"}
    assert errors == {}  # the reference is not "a clip the manifest does not list"


@pytest.mark.parametrize("caption,encoded", [
    ("ohwx man walking in the rain", "ohwx man walking in the rain"),  # kohya: the trigger is already there
    ("OHWX MAN, walking", "OHWX MAN, walking"),
    ("ohwx manly walking", "ohwx man ohwx manly walking"),  # a longer word is not the trigger
    ("a photo of ohwx man", "ohwx man a photo of ohwx man"),  # in the middle: prepended, as ltx-trainer does
    ("", "ohwx man")])
def test_the_trigger_is_prepended_once(tmp_path, caption, encoded):
    from trainer.data import _caption
    from trainer.listing import _Entry

    cfg = TrainConfig(data=dict(dataset_dir=tmp_path, buckets=BUCKETS, trigger_word="ohwx man"))
    assert _caption(_Entry(tmp_path / "a.mp4", caption, "train"), cfg) == encoded


@pytest.mark.parametrize("delimiter", [";", "\t", ","])
def test_csv_manifests_from_any_locales_spreadsheet(tmp_path, delimiter):
    make_clip(tmp_path / "a.mp4")
    make_clip(tmp_path / "b.mp4")
    rows = [["video", "caption"], ["a.mp4", "ein Mann, lächelnd"], ["b.mp4", "une femme; souriante"]]
    with open(tmp_path / "dataset.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    entries, errors = _list(tmp_path)
    assert {k: e.caption for k, e in entries.items()} == {"a.mp4": "ein Mann, lächelnd", "b.mp4": "une femme; souriante"}
    assert errors == {}


def test_other_tools_split_names_map_onto_train_and_holdout(tmp_path):
    for name in "abcde":
        make_clip(tmp_path / f"{name}.mp4")
    rows = [("a", "train"), ("b", "validation"), ("c", "test"), ("d", "Val"), ("e", "dev-set")]
    (tmp_path / "captions.jsonl").write_text("".join(
        json.dumps({"media": f"{m}.mp4", "caption": m, "split": s}) + "\n" for m, s in rows))
    entries, errors = _list(tmp_path)
    assert {k: e.split for k, e in entries.items()} == {"a.mp4": "train", "b.mp4": "holdout", "c.mp4": "holdout",
                                                         "d.mp4": "holdout"}
    assert "split 'dev-set' must be 'train' or 'holdout'" in errors["captions.jsonl:5"]


def test_other_tools_json_and_csv_files_beside_the_clips_are_not_taken_for_manifests(tmp_path):
    make_clip(tmp_path / "a.mp4")
    make_clip(tmp_path / "b.mp4")
    (tmp_path / "a.txt").write_text("from the sidecar")
    (tmp_path / "config.json").write_text(json.dumps({"video": "a.mp4", "resolution": 512, "steps": 2000}))
    (tmp_path / "files.json").write_text(json.dumps([{"video": "a.mp4", "fps": 24}]))  # no caption column
    (tmp_path / "scores.csv").write_text("file,score\na.mp4,0.9\n")
    entries, errors = _list(tmp_path)
    assert {k: e.caption for k, e in entries.items()} == {"a.mp4": "from the sidecar", "b.mp4": ""}
    assert errors == {}


def test_a_clip_listed_twice_trains_once_and_says_so(tmp_path):
    make_clip(tmp_path / "clips" / "a.mp4")
    (tmp_path / "dataset.jsonl").write_text(json.dumps({"video": "clips/a.mp4", "caption": "first"}) + "\n"
                                            + json.dumps({"video": "clips/a.mp4", "caption": "second"}) + "\n")
    entries, errors = _list(tmp_path)
    assert {k: e.caption for k, e in entries.items()} == {"clips/a.mp4": "first"}
    assert "listed more than once in dataset.jsonl" in errors["clips/a.mp4"]


def test_sound_files_in_a_clip_folder_are_named_with_the_manifest_column_that_uses_them(tmp_path):
    make_clip(tmp_path / "a.mp4")
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    entries, errors = _list(tmp_path)
    assert list(entries) == ["a.mp4"] and "'audio' column of a manifest" in errors["a.wav"]


def test_a_manifest_written_on_another_machine_finds_its_files_by_name(tmp_path):
    make_clip(tmp_path / "clips" / "walk.mp4")
    make_clip(tmp_path / "clips" / "run.mp4")
    make_clip(tmp_path / "a" / "same.mp4")
    make_clip(tmp_path / "b" / "same.mp4")
    (tmp_path / "dataset.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [
        {"video": "C:\\Users\\me\\Videos\\walk.mp4", "caption": "from windows"},
        {"video": "/home/me/datasets/run.mp4", "caption": "from linux"},
        {"video": "/elsewhere/same.mp4", "caption": "ambiguous"}]))
    entries, errors = _list(tmp_path)
    assert {k: e.caption for k, e in entries.items()} == {"clips/walk.mp4": "from windows",
                                                           "clips/run.mp4": "from linux"}
    assert "points outside the dataset folder" in errors["dataset.jsonl:3"]  # two files of that name: no guess


def test_a_musubi_tuner_metadata_jsonl_with_absolute_paths_and_control_videos(tmp_path):
    make_clip(tmp_path / "video" / "walk.mp4")
    make_clip(tmp_path / "control" / "walk_pose.mp4")
    make_image(tmp_path / "video" / "still.png")
    make_clip(tmp_path / "video" / "run.mp4")
    make_clip(tmp_path / "control" / "run.mp4")  # musubi's control_directory: the same file name
    (tmp_path / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [
        {"video_path": "D:/musubi/dataset/video/walk.mp4", "control_path": "D:/musubi/dataset/control/walk_pose.mp4",
         "caption": "a man walking"},
        {"image_path": "/data/still.png", "caption": "a still"},
        {"video_path": "video/run.mp4", "caption": "a man running"}]))
    entries, errors = _list(tmp_path, ic=True)
    assert {k: (e.caption, _ref(e, tmp_path)) for k, e in entries.items()} == {
        "video/walk.mp4": ("a man walking", "control/walk_pose.mp4"), "video/still.png": ("a still", None),
        "video/run.mp4": ("a man running", "control/run.mp4")}
    assert errors == {}


def test_hugging_face_split_folders_with_their_own_metadata(tmp_path):
    make_clip(tmp_path / "train" / "a.mp4")
    make_clip(tmp_path / "train" / "b.mp4")
    make_clip(tmp_path / "test" / "c.mp4")
    (tmp_path / "train" / "metadata.jsonl").write_text(
        json.dumps({"file_name": "a.mp4", "caption": "first"}) + "\n" + json.dumps({"file_name": "b.mp4",
                                                                                    "caption": "second"}) + "\n")
    (tmp_path / "test" / "metadata.csv").write_text("file_name,text\nc.mp4,third\n")
    entries, errors = _list(tmp_path)
    assert {k: (e.caption, e.split) for k, e in entries.items()} == {
        "train/a.mp4": ("first", "train"), "train/b.mp4": ("second", "train"), "test/c.mp4": ("third", "holdout")}
    assert errors == {}
