"""What a dataset folder says about its own files: manifests and sidecar captions, as users of other trainers
bring them.

- loraport's ``captions.jsonl``: ``{"media", "caption", "split", "reference"}`` per line (docs/CONTRACTS.md).
- ltx-trainer's dataset file: a CSV, JSON (a list of objects) or JSONL manifest whose columns are found by name:
  ``video`` (legacy ``media_path``) for the target, ``caption``, for IC-LoRA ``reference_video`` (legacy
  ``ref_media_path``), and ``audio``: a sound file that replaces the clip's own track in an audio run; paths are
  relative to the manifest's folder. Its ``reference_audio`` / ``*_mask`` columns belong to modes loraport does
  not train and are not read.
- a Hugging Face ``imagefolder`` / ``videofolder`` ``metadata.jsonl`` / ``metadata.csv``: ``file_name`` and
  ``caption`` (or ``text``).
- musubi-tuner's metadata JSONL: ``video_path`` (or ``image_path``), ``caption``, and ``control_path`` for the
  reference of a pair; its ``control_directory`` habit (same file names) is a ``control/`` folder here.
- kohya-style sidecars beside each file: ``clip.txt``, ``clip.caption``, or a ``clip.json`` object with a
  ``caption`` (or ``text``) field.

Text files arrive in whatever encoding the user's editor wrote: UTF-8 with or without a BOM, UTF-16 with a BOM
(Windows Notepad's "Unicode"), or a legacy 8-bit code page; ``read_text`` reads all of them and never raises on
bytes. Nothing read here is ever executed or unpickled.
"""

import csv
import io
import json
from pathlib import Path

from core.errors import LoraportError

CAPTIONS_FILE = "captions.jsonl"
# file_name: Hugging Face metadata.jsonl; video_path / image_path: musubi-tuner's metadata JSONL.
MEDIA_COLUMNS = ("media", "video", "media_path", "image", "file_name", "video_path", "image_path")
CAPTION_COLUMNS = ("caption", "text")
# IC-LoRA reference columns: loraport's own, then ltx-trainer's `reference_video` and its legacy names.
REFERENCE_COLUMNS = ("reference", "reference_video", "ref_media_path", "reference_path", "control_path")
MANIFEST_SUFFIXES = (".csv", ".json", ".jsonl")
SIDECAR_SUFFIXES = (".txt", ".caption", ".json")  # the first one present captions its clip
# Folders whose files are IC-LoRA references of the clips of the same name (ai-toolkit's and musubi-tuner's
# "control" folder habit; ltx-trainer pairs by its manifest's reference_video column instead).
REFERENCE_DIRS = ("references", "reference", "refs", "ref", "control", "controls")
MAX_TEXT_BYTES = 32 << 20  # a manifest of tens of thousands of rows fits; more is not a caption file


def read_text(path: Path, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """A text file as the user's editor meant it: BOMs honoured (UTF-8, UTF-16), else UTF-8, else cp1252."""
    path = Path(path)
    if path.stat().st_size > max_bytes:
        raise LoraportError(f"{path.name}: larger than {max_bytes >> 20} MiB, which no caption file needs; "
                            "split it or remove it from the dataset.")
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace")
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def in_reference_dir(rel: str | Path) -> bool:
    """A dataset-relative path below a ``references/`` (or ``reference/``, ``refs/``, ``ref/``) folder."""
    return any(part.lower() in REFERENCE_DIRS for part in Path(rel).parts[:-1])


def first_field(row: dict, names: tuple[str, ...]) -> str | None:
    """The first of ``names`` that the row fills with text (column names compared without case or spaces)."""
    lowered = {str(k).strip().lower(): v for k, v in row.items()}
    for name in names:
        value = lowered.get(name)
        if isinstance(value, (str, int, float)) and str(value).strip():
            return str(value).strip()
    return None


def row_media(row: dict) -> str | None:
    value = first_field(row, MEDIA_COLUMNS)
    return value.replace("\\", "/") if value else None


def row_reference(row: dict) -> str | None:
    value = first_field(row, REFERENCE_COLUMNS)
    return value.replace("\\", "/") if value else None


def row_audio(row: dict) -> str | None:
    value = first_field(row, ("audio",))
    return value.replace("\\", "/") if value else None


def row_caption(row: dict) -> str:
    return first_field(row, CAPTION_COLUMNS) or ""


def csv_rows(text: str) -> csv.DictReader:
    """A CSV's rows, its delimiter sniffed from the header line: spreadsheets in many locales (German, French,
    ...) export ``;``, some tools tabs; a header with none of them is one column, read with ``,``."""
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = max(",;\t|", key=header.count) if any(c in header for c in ",;\t|") else ","
    return csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter)


def read_rows(path: Path) -> tuple[list[tuple[int, dict]], list[tuple[int, str]]]:
    """The rows of a CSV / JSON / JSONL manifest as (line or item number, object), and (number, problem) pairs.

    A file that cannot be parsed at all raises ``LoraportError`` naming it; one bad JSONL line is a problem of
    that line only."""
    path = Path(path)
    text, suffix = read_text(path), path.suffix.lower()
    problems: list[tuple[int, str]] = []
    try:
        if suffix == ".csv":
            return [(n, row) for n, row in enumerate(csv_rows(text), 2)], problems
        if suffix == ".json":
            data = json.loads(text)
            if isinstance(data, dict):  # {"items": [...]} / {"data": [...]}; any other object is no list of rows
                data = data.get("items", data.get("data", []))
            rows = list(enumerate(data if isinstance(data, list) else [], 1))
        else:
            rows = []
            for n, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    rows.append((n, json.loads(line)))
                except json.JSONDecodeError as exc:
                    problems.append((n, f"not JSON ({exc.msg})"))
    except (json.JSONDecodeError, csv.Error, RecursionError) as exc:  # RecursionError: nesting 10^5 deep
        raise LoraportError(f"{path.name}: could not be read as {suffix[1:].upper()} ({exc}); fix the file, or "
                            "caption the clips with .txt files beside them instead.") from None
    kept = [(n, r) for n, r in rows if isinstance(r, dict)]
    problems += [(n, "not an object with a media path and a caption") for n, r in rows if not isinstance(r, dict)]
    return kept, problems


def find_manifests(root: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """Manifests at the top of a dataset folder: CSV / JSON / JSONL files (not ``captions.jsonl``, and not a
    ``clip.json`` sidecar of ``clip.mp4``) whose rows have a caption column and name media in a ``video`` /
    ``media_path`` / ``media`` / ``file_name`` column (another tool's ``config.json`` is none); without any, those
    one folder down (Hugging Face keeps ``train/metadata.jsonl`` and ``test/metadata.jsonl``). Also (file name,
    problem) for such files that could not be parsed."""
    root = Path(root)
    found, problems = _manifests_in(root, root)
    if not found:
        for sub in sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")):
            more, trouble = _manifests_in(sub, root)
            found += more
            problems += trouble
    return found, problems


def _manifests_in(folder: Path, root: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    from trainer.media import is_media

    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    media_stems = {p.stem for p in files if is_media(p)}
    found, problems = [], []
    for p in files:
        if p.suffix.lower() not in MANIFEST_SUFFIXES or p.name == CAPTIONS_FILE or p.stem in media_stems:
            continue
        try:
            rows, _ = read_rows(p)
        except LoraportError as exc:
            problems.append((p.relative_to(root).as_posix(), str(exc).removeprefix(f"{p.name}: ")))
            continue
        if any(row_media(r) and _has_caption_column(r) for _, r in rows):  # ltx-trainer requires both
            found.append(p)
    return found, problems


def _has_caption_column(row: dict) -> bool:
    return any(str(k).strip().lower() in CAPTION_COLUMNS for k in row)


def sidecar_caption(media: Path) -> str | None:
    """The caption in ``clip.txt``, ``clip.caption`` or ``clip.json`` beside ``clip.mp4`` (None: none there)."""
    media = Path(media)
    for suffix in SIDECAR_SUFFIXES:
        side = media.with_suffix(suffix)
        if not side.is_file():
            continue
        text = read_text(side, max_bytes=1 << 20)
        if suffix != ".json":
            return text.strip()
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict):
            return row_caption(data)
    return None
