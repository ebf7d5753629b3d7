"""Which files of a dataset folder are training items, with their captions, splits and IC-LoRA references.

In order of precedence: ``captions.jsonl`` (loraport's own, or with ltx-trainer's column names), an ltx-trainer
manifest at the top of the folder (CSV / JSON / JSONL, trainer.manifest), else every media file of the folder and
its sub-folders, captioned by a sidecar (``clip.txt``, ``clip.caption``, ``clip.json``). A bad row or file is a
``MediaError`` of its own; the rest goes on.
"""

import glob
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from core.errors import LoraportError
from trainer import manifest
from trainer.config import TrainConfig
from trainer.manifest import CAPTIONS_FILE, find_manifests, read_rows, row_audio, row_caption, row_media
from trainer.manifest import in_reference_dir, row_reference
from trainer.manifest import sidecar_caption
from trainer.media import is_media, supported_media

# Sidecar captions, manifests, notes and other trainers' dataset configs live beside the media: not media, no error.
_IGNORED = {".txt", ".caption", ".jsonl", ".json", ".csv", ".md", ".yaml", ".yml", ".toml", ".ini", ".db"}
_SOUND_FILES = {".wav", ".mp3", ".flac", ".m4a", ".aac", ".ogg", ".opus"}
_SKIPPED_DIRS = {"__MACOSX"}  # macOS zip metadata: copies of every file's resource fork
# Split names of other tools (Hugging Face: train / validation / test) mapped onto loraport's two.
_SPLITS = {"train": "train", "training": "train", "holdout": "holdout", "held-out": "holdout", "val": "holdout",
           "valid": "holdout", "validation": "holdout", "test": "holdout", "eval": "holdout"}
_ROW_SHAPE = '{"media": "clip.mp4", "caption": "...", "split": "train"}'


@dataclass
class MediaError:
    media: str
    message: str


@dataclass
class _Entry:
    media: Path
    caption: str
    split: str
    reference: Path | None = None
    split_given: bool = False  # captions.jsonl named the split: the importer (or the user) decided it
    audio: Path | None = None  # a manifest's `audio` file: the sound to train instead of the clip's own track


def _inside(root: Path, rel: str) -> Path:
    path = (root / rel).resolve()
    if not path.is_relative_to(root.resolve()):
        raise LoraportError(f"{rel}: points outside the dataset folder; use a path relative to it.")
    return path


def _read_captions_file(root: Path, errors: list[MediaError]) -> list[_Entry]:
    """``captions.jsonl``: loraport's columns, or ltx-trainer's names for them (``video``, ``reference_video``)."""
    return _read_listed(root, root / CAPTIONS_FILE, errors, with_split=True)


def _read_listed(root: Path, listing: Path, errors: list[MediaError], with_split: bool = False) -> list[_Entry]:
    """The items a manifest lists, paths relative to its folder; a bad row is an error of that row only."""
    try:
        rows, problems = read_rows(listing)
    except LoraportError as exc:
        errors.append(MediaError(listing.name, str(exc).removeprefix(f"{listing.name}: ")))
        return []
    bad = [(n, f"bad line ({why})") for n, why in problems]
    entries, by_name = [], {}
    for p in _files(root):
        by_name.setdefault(p.name, []).append(p)

    def locate(rel: str) -> Path:
        """The path relative to the manifest's folder; one that is not there (a manifest written on another
        machine: ``C:/data/clip.mp4``, ``/home/me/clips/clip.mp4``) is the dataset's one file of that name."""
        try:
            path = _inside(root, str(listing.parent.relative_to(root) / rel))
        except LoraportError:
            path = None
        same = by_name.get(PurePosixPath(rel).name, [])
        if (path is None or not path.exists()) and len(same) == 1:
            return same[0].resolve()
        if path is None:
            raise LoraportError(f"{rel}: points outside the dataset folder; use a path relative to it.")
        return path

    for n, row in rows:
        try:
            media_rel = row_media(row)
            if not media_rel:
                raise LoraportError("no media path (a 'media' or 'video' column)")
            media = locate(media_rel)
            given = str(row.get("split") or "train").strip().lower() if with_split else "train"
            split = _SPLITS.get(given)
            if split is None:
                raise LoraportError(f"split {given!r} must be 'train' or 'holdout'")
            ref_rel = row_reference(row)
            ref = locate(ref_rel) if ref_rel else None
            audio_rel = row_audio(row)
            entries.append(_Entry(media, row_caption(row), split, ref, split_given=with_split and bool(row.get("split")),
                                  audio=locate(audio_rel) if audio_rel else None))
        except (ValueError, TypeError, LoraportError) as exc:
            bad.append((n, f"bad line ({exc})"))
    errors.extend(MediaError(f"{listing.name}:{n}", f"{why}; each line is " + _ROW_SHAPE) for n, why in sorted(bad))
    return entries


def _read_manifests(root: Path, manifests: list[Path], errors: list[MediaError]) -> list[_Entry]:
    """ltx-trainer manifests at the top of the folder: their rows are the items (a file listed twice keeps its
    first row); media they do not list are not trained, as ltx-trainer trains only listed rows, and are named."""
    entries, seen = [], set()
    for listing in manifests:
        split = _SPLITS.get(listing.parent.name.lower()) if listing.parent != root else None
        for e in _read_listed(root, listing, errors):
            if split is not None:  # a Hugging Face split folder: train/, validation/, test/
                e.split, e.split_given = split, True
            if e.media.resolve() not in seen:
                seen.add(e.media.resolve())
                entries.append(e)
            else:  # ltx-trainer's cache keeps one caption per file too (the later row overwrites the earlier)
                errors.append(MediaError(_name(e.media, root), f"listed more than once in {listing.name}: trained "
                                         "once, with its first row's caption; make one row per clip (copy the clip "
                                         "to train it with another caption)."))
    listed = seen | {e.reference.resolve() for e in entries if e.reference is not None}
    names = ", ".join(m.name for m in manifests)
    for p in _files(root):  # a references/ folder's files pair by name with listed clips (trainer.pairs)
        if is_media(p) and p.resolve() not in listed and not in_reference_dir(p.relative_to(root)):
            errors.append(MediaError(str(p.relative_to(root)), f"not listed in {names}: not trained; add a row "
                                     "for it or remove it."))
    return entries


def _name(path: Path, root: Path) -> str:
    root = root.resolve()
    return path.resolve().relative_to(root).as_posix() if path.resolve().is_relative_to(root) else path.name


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not any(
        part.startswith(".") or part in _SKIPPED_DIRS for part in p.relative_to(root).parts))


def _scan_folder(root: Path, ref_suffix: str | None, errors: list[MediaError]) -> list[_Entry]:
    """A plain folder: every media file is an item, captioned by its sidecar (``.txt``, ``.caption``, ``.json``);
    for an IC-LoRA (``ref_suffix`` given) references pair by suffix or a ``references/`` folder (find_reference)."""
    files = _files(root)
    by_stem = {p.with_suffix(""): p for p in files if is_media(p)}
    entries, used = [], set()
    for p in files:
        if not is_media(p):
            if p.suffix.lower() in _SOUND_FILES:
                errors.append(MediaError(str(p.relative_to(root)), "a sound file: clips train with their own sound "
                                         "track; to give a clip this sound instead, name it in the 'audio' column of "
                                         "a manifest (dataset.json) beside the clip's row. It was skipped."))
            elif p.suffix.lower() not in _IGNORED:
                errors.append(MediaError(str(p.relative_to(root)),
                                         f"not a supported media file ({supported_media()}); it was skipped."))
            continue
        if ref_suffix is not None and in_reference_dir(p.relative_to(root)):
            continue  # an IC-LoRA reference: paired below, never an item of its own
        if ref_suffix and p.stem.endswith(ref_suffix) and p.with_name(p.stem[:-len(ref_suffix)]).with_suffix(
                "") in by_stem:
            continue  # an IC-LoRA reference of another clip, not an item of its own
        ref = find_reference(p, root, ref_suffix) if ref_suffix is not None else None
        if ref is not None:
            used.add(ref.resolve())
        entries.append(_Entry(p, sidecar_caption(p) or "", "train", ref))
    for p in files:
        if ref_suffix is not None and is_media(p) and in_reference_dir(p.relative_to(root)) and p.resolve() not in used:
            errors.append(MediaError(str(p.relative_to(root)), f"a reference in {p.parent.name}/ whose target "
                                     f"{p.stem}.* is not in the dataset: add the target clip or remove this file."))
    return entries


def list_entries(config: TrainConfig, errors: list[MediaError]) -> list[_Entry]:
    root = Path(config.data.dataset_dir).expanduser()
    if not root.is_dir():
        raise LoraportError(f"Dataset folder {root} does not exist: import the dataset first or fix the path.")
    ic = config.strategy.name == "ic-lora"
    if (root / CAPTIONS_FILE).is_file():
        entries = _read_captions_file(root, errors)
    else:
        manifests, unreadable = find_manifests(root)
        errors.extend(MediaError(name, f"{why} Its captions were not used.") for name, why in unreadable)
        if not manifests:
            return _scan_folder(root, (config.strategy.reference_suffix or "") if ic else None, errors)
        entries = _read_manifests(root, manifests, errors)
    if not ic:
        return entries
    return pair_listed(entries, config.strategy.reference_suffix, root.resolve())


# -- IC-LoRA pairs: which reference belongs to which target (trainer.pairs checks and encodes them) --------

def _media_named(folder: Path, stem: str) -> Path | None:
    if not folder.is_dir():
        return None
    return next((c for c in sorted(folder.glob(f"{glob.escape(stem)}.*")) if c.is_file() and is_media(c)), None)


def find_reference(media: Path, root: Path, suffix: str) -> Path | None:
    """A clip's reference by name: ``<stem><suffix>.*`` beside it, else a file of the same name (or that name plus
    the suffix) in a ``references/`` folder beside it or in any folder above it up to the dataset root, mirroring
    the clip's sub-folders (``references/a/clip.mp4`` for ``a/clip.mp4``) or not (``references/clip.mp4``)."""
    media, root = Path(media), Path(root)
    stems = [media.stem + suffix, media.stem] if suffix else [media.stem]
    if suffix and (beside := _media_named(media.parent, stems[0])):
        return beside
    folder = media.parent
    while folder.is_relative_to(root):
        dirs = [d for d in sorted(folder.iterdir()) if d.is_dir() and d.name.lower() in manifest.REFERENCE_DIRS]
        below = media.parent.relative_to(folder)
        for d in dirs:
            for sub in dict.fromkeys([d / below, d]):
                for stem in stems:
                    if (found := _media_named(sub, stem)) is not None:
                        return found
        if folder == root:
            break
        folder = folder.parent
    return None


def pair_listed(entries: list[_Entry], suffix: str, root: Path | None = None) -> list[_Entry]:
    """IC-LoRA with a manifest: a row without a reference column takes ``<stem><suffix>.*`` beside its media (or
    a ``references/`` folder's file of its name, given the dataset ``root``); a row whose media is another row's
    reference is that pair's reference, not an item of its own."""
    for e in entries:
        if e.reference is None and root is not None and not in_reference_dir(e.media.relative_to(root)):
            e.reference = find_reference(e.media, root, suffix or "")
        elif e.reference is None and suffix:
            e.reference = next((c for c in sorted(e.media.parent.glob(f"{glob.escape(e.media.stem + suffix)}.*"))
                                if is_media(c)), None)
    refs = {e.reference.resolve() for e in entries if e.reference is not None}
    return [e for e in entries if e.media.resolve() not in refs]
