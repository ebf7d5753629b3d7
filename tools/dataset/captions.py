"""Captions as data: cleaning, the trigger word, sidecar and table import, and ``captions.jsonl``.

Every caption, whether typed by a user, imported from a file or written by a model, passes ``clean_caption``:
control characters go, whitespace collapses, length is capped. It is stored and shown, never interpreted.
The stored caption never holds the trigger word; the trainer prepends ``"<trigger> "`` (docs/CONTRACTS.md), and
``with_trigger`` shows a caption exactly as it will be trained.
"""

import csv
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from core.atomic import atomic_write_text

MAX_CAPTION_CHARS = 1000
# Terminal escape sequences (CSI "ESC [ ... m", OSC "ESC ] ... BEL", two-byte ESC x) go whole, not just their ESC.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
MEDIA_KEYS = ("media_path", "video", "media", "image")
# IC-LoRA reference columns: loraport's own, ltx-trainer's `reference_video` and its legacy names.
REFERENCE_KEYS = ("reference", "reference_video", "ref_media_path", "reference_path")
CAPTIONS_FILE = "captions.jsonl"


def clean_caption(text: object, trigger_word: str | None = None) -> str:
    """Make any text safe to store as a caption; drop a leading trigger word so it is never doubled."""
    text = _ANSI.sub("", unicodedata.normalize("NFC", str(text or "")))
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" and ch != " " else ch for ch in text)
    text = re.sub(r"\s+", " ", text).strip()
    if trigger_word:
        text = strip_trigger(text, trigger_word)
    if len(text) > MAX_CAPTION_CHARS:
        text = text[:MAX_CAPTION_CHARS].rsplit(" ", 1)[0].rstrip(",;: ")
    return text


def strip_trigger(text: str, trigger_word: str) -> str:
    pattern = rf"^\s*{re.escape(trigger_word.strip())}(?:[\s,.:;]+|$)"
    return re.sub(pattern, "", text, count=1, flags=re.IGNORECASE).strip()


def with_trigger(caption: str | None, trigger_word: str | None) -> str:
    """The caption as the trainer will see it: ``"<trigger> <caption>"``, the same way for every file."""
    caption = caption or ""
    if not trigger_word:
        return caption
    return f"{trigger_word.strip()} {caption}".strip()


def read_sidecars(media: list[str], sidecars: dict[str, Path], max_chars: int = 64 * MAX_CAPTION_CHARS) -> dict[str, str]:
    """``clip.txt`` (else kohya's ``clip.caption``, else a ``clip.json`` object's ``caption``) beside ``clip.mp4``
    captions it, in whatever encoding the user's editor wrote (``trainer.manifest.read_text``); only its start is
    kept: a caption is a sentence or two."""
    from trainer.manifest import SIDECAR_SUFFIXES, read_text, row_caption

    out = {}
    for rel in media:
        for suffix in SIDECAR_SUFFIXES:
            side = PurePosixPath(rel).with_suffix(suffix).as_posix()
            if side not in sidecars:
                continue
            text = read_text(sidecars[side], max_bytes=4 * max_chars)
            if suffix == ".json":
                try:
                    data = json.loads(text)
                except (json.JSONDecodeError, RecursionError):
                    continue
                text = row_caption(data) if isinstance(data, dict) else ""
            out[rel] = clean_caption(text[:max_chars])
            break
    return out


@dataclass
class TableCaptions:
    captions: dict[str, str] = field(default_factory=dict)  # media name -> caption
    references: dict[str, str] = field(default_factory=dict)  # IC-LoRA: media name -> its reference's name
    missing: list[str] = field(default_factory=list)  # names in the tables that match no file
    problems: list[str] = field(default_factory=list)  # tables that could not be read, and why


def read_tables(media: list[str], tables: dict[str, Path], max_bytes: int) -> TableCaptions:
    """Captions from CSV / JSON / JSONL tables with a ``caption`` column and a ``video`` / ``media_path`` column
    (plus ``reference``, or ltx-trainer's ``reference_video`` / ``ref_media_path`` / ``reference_path``, for IC-LoRA).

    A table path is tried relative to the table's folder, then to the dataset root, then by unique file name.
    """
    by_name: dict[str, list[str]] = {}
    for rel in media:
        by_name.setdefault(PurePosixPath(rel).name, []).append(rel)
    from trainer.manifest import row_audio, row_reference

    known = set(media)
    out = TableCaptions()
    for table_rel, path in sorted(tables.items()):
        rows, problem = _read_rows(path, max_bytes)
        if problem:
            out.problems.append(f"{table_rel}: {problem}")
        if any(row_audio(r) for r in rows):
            out.problems.append(f"{table_rel}: its 'audio' column names separate sound files, which import does not "
                                "copy: the clips keep their own sound. Mux the sound into the clips, or train the "
                                "folder directly (the trainer reads the column).")
        base = PurePosixPath(table_rel).parent
        for row in rows:
            ref, caption = _row_fields(row)
            if ref is None or caption is None:
                continue
            match = _resolve(ref, base, known, by_name)
            if match is None:
                out.missing.append(ref)
                continue
            out.captions[match] = clean_caption(caption)
            reference = row_reference(row)
            ref_match = _resolve(reference, base, known, by_name) if reference else None
            if reference and ref_match is None:
                out.missing.append(reference)
            elif ref_match:
                out.references[match] = ref_match
    return out


def _read_rows(path: Path, max_bytes: int) -> tuple[list[dict], str | None]:
    if path.stat().st_size > max_bytes:
        return [], f"larger than {max_bytes >> 20} MiB; not read"
    from trainer.manifest import read_text  # BOMs, UTF-16 and legacy code pages, as the trainer reads them

    text = read_text(path, max_bytes=max_bytes)
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            from trainer.manifest import csv_rows  # ";" and tab delimiters too, as the trainer reads them

            return list(csv_rows(text)), None
        if suffix == ".jsonl":
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            data = json.loads(text)
            rows = data if isinstance(data, list) else data.get("items", data.get("data", []))
    except (json.JSONDecodeError, csv.Error, AttributeError, RecursionError) as err:  # nesting 10^5 deep: RecursionError
        return [], f"could not be read as {suffix[1:].upper()} ({err}); fix the file or caption the clips instead"
    return [r for r in rows if isinstance(r, dict)], None


def _row_fields(row: dict) -> tuple[str | None, str | None]:
    """(media path, caption) of a table row; column names as in ``trainer.manifest`` (any case: Excel's
    "Caption", ltx-trainer's ``video`` / ``media_path``)."""
    from trainer.manifest import CAPTION_COLUMNS, row_media

    has_caption = any(str(k).strip().lower() in CAPTION_COLUMNS for k in row)
    caption = next((row[k] for k in row if str(k).strip().lower() in CAPTION_COLUMNS and row[k] is not None), None)
    return row_media(row), (None if not has_caption else str(caption if caption is not None else ""))


def _resolve(ref: str, base: PurePosixPath, known: set[str], by_name: dict[str, list[str]]) -> str | None:
    for candidate in ((base / ref).as_posix(), PurePosixPath(ref).as_posix()):
        if candidate.startswith("./"):
            candidate = candidate[2:]
        if candidate in known:
            return candidate
    same_name = by_name.get(PurePosixPath(ref).name, [])
    return same_name[0] if len(same_name) == 1 else None


def write_captions_jsonl(dataset_dir: Path, rows: list[dict]) -> Path:
    """Write ``captions.jsonl`` atomically: ``{"media", "caption", "split"[, "reference"]}`` per item, by name."""
    lines = [
        json.dumps({"media": r["name"], "caption": r.get("caption") or "", "split": r.get("split") or "train",
                    **({"reference": r["reference"]} if r.get("reference") else {})}, ensure_ascii=False)
        for r in sorted(rows, key=lambda r: r["name"])
    ]
    return atomic_write_text(dataset_dir / CAPTIONS_FILE, "\n".join(lines) + ("\n" if lines else ""))
