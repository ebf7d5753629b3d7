"""Look at every file of a collected source: probe, hash, dedupe, captions, bucket, split, and what to fix.

Used by import (before copying) and by check (of a folder, without writing anything). A bad file becomes an entry
with an ``error``; it never stops the other files.
"""

import hashlib
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

from core.errors import LoraportError
from trainer.config import Bucket

from tools.dataset.captions import TableCaptions, read_sidecars, read_tables
from tools.dataset.guidance import Guidance, count_advice, length_advice, reference_advice
from tools.dataset.layout import assign_bucket, holdout_split
from tools.dataset.models import DatasetReport, FileEntry
from tools.dataset.sources import Collected, ImportLimits
from trainer.media import IMAGE_EXTS

log = logging.getLogger(__name__)
Progress = Callable[[int, int, str], None]  # (files done, files in all, last file's name)


def analyse(collected: Collected, guidance: Guidance, *, seed: int = 0, holdout_fraction: float | None = None,
            limits: ImportLimits = ImportLimits(), on_progress: Progress | None = None) -> DatasetReport:
    """Build the report for a collected source; entries without ``error`` are the usable files."""
    holdout_fraction = guidance.holdout_fraction if holdout_fraction is None else holdout_fraction
    report = DatasetReport(path=str(collected.root), recipe=guidance.name)
    report.errors.update(collected.errors)
    entries, short = _examine_all(collected.media, guidance, on_progress)
    _dedupe(entries, report)
    usable = [e for e in entries if e.error is None]
    _json_sidecars(collected)
    tables = read_tables([e.name for e in usable], collected.tables, limits.max_caption_file_bytes)
    good = _pair_references(usable, guidance, report, tables.references)
    _attach_captions(collected, good, report, tables)
    for note, names in short.items():
        report.warnings.append(f"{len(names)} clip(s) {note} ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''}).")
    held, note = holdout_split({e.name: e.sha256 for e in good}, seed=seed, fraction=holdout_fraction)
    for entry in good:
        entry.split = "holdout" if entry.name in held else "train"
    report.holdout = held
    if note:
        report.warnings.append(note)
    report.warnings += length_advice(guidance, {e.name: e.duration_s for e in good if e.kind == "video" and e.duration_s})
    report.errors.update({e.name: e.error for e in entries if e.error})
    report.files = entries + [FileEntry(name=n, error=m) for n, m in sorted(collected.errors.items())]
    if collected.ignored:
        report.warnings.append(f"Ignored {len(collected.ignored)} file(s) that are not media or captions: "
                               + ", ".join(collected.ignored[:10]))
    report.n_videos = sum(e.kind == "video" for e in good)
    report.n_images = sum(e.kind == "image" for e in good)
    report.n_files = len(good)
    if good:
        report.recommendations[:0] = count_advice(guidance, report.n_videos, report.n_images) + reference_advice(
            guidance, [e.name for e in good if e.reference is None])
    report.summary = summarise(report)
    return report


def probe_entry(rel: str, path: Path) -> FileEntry:
    """Hash and probe one file; any failure becomes the entry's error, in words the user can act on."""
    entry = FileEntry(name=rel)
    try:
        entry.sha256 = file_sha256(path)
        info = _probe(path)
    except LoraportError as err:
        entry.error = _without_name(err.message, rel)
        return entry
    except Exception as err:  # PyAV raises many types for broken files; one bad file must not stop the rest
        log.info("probe failed for %s", path, exc_info=True)
        entry.error = f"could not be read as media ({type(err).__name__}: {err}); re-export it as MP4 (H.264) or PNG"
        return entry
    kind = getattr(info, "kind", None) or ("image" if PurePosixPath(rel).suffix.lower() in IMAGE_EXTS else "video")
    entry.kind = kind
    entry.width, entry.height = info.width, info.height
    entry.frames = getattr(info, "frames", None) or (1 if kind == "image" else None)
    entry.fps = getattr(info, "fps", None)
    entry.duration_s = getattr(info, "duration_s", None)
    entry.has_audio = bool(getattr(info, "has_audio", False))
    entry.codec = getattr(info, "codec", None)
    if kind == "video" and not entry.frames and not getattr(info, "frames_exact", True):
        _count(entry, path)  # a live or browser-recorded WebM/Matroska: no frame count and no duration stored
    if kind == "video" and not entry.frames:
        entry.error = "has no video frames; re-export the clip"
    return entry


COUNT_AT_MOST = 3600  # frames counted in a clip whose header holds no count (two minutes at 30 fps)


def _count(entry: FileEntry, path: Path) -> None:
    from trainer.media import count_frames

    try:
        entry.frames = count_frames(path, COUNT_AT_MOST)
    except LoraportError:
        return  # no frame decodes: refused below as having none
    if entry.fps:
        entry.duration_s = entry.frames / entry.fps


def _examine_all(media: dict[str, Path], g: Guidance,
                 on_progress: Progress | None) -> tuple[list[FileEntry], dict[str, list[str]]]:
    """Examine every file on a few threads (hashing and PyAV decoding release the GIL); keep name order."""
    names = sorted(media)
    workers = max(1, min(8, os.cpu_count() or 1, len(names)))
    results = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for i, result in enumerate(pool.map(lambda rel: _examine(rel, media[rel], g), names)):
            results.append(result)
            if on_progress is not None:
                on_progress(i + 1, len(names), result[0].name)
    notes: dict[str, list[str]] = {}
    for entry, note in results:
        if note:
            notes.setdefault(note, []).append(entry.name)
    return [entry for entry, _ in results], notes


def _examine(rel: str, path: Path, g: Guidance) -> tuple[FileEntry, str | None]:
    """Probe one file, give it its bucket, and decode the frames training will use (at 32x32: the codec does the
    work). Headers can look fine on a file cut short (an MP4 with its index at the front): decoding now turns
    "fails hours later in preprocessing" into a per-file error at import."""
    from trainer.media import decode

    entry = probe_entry(rel, path)
    if entry.error is not None:
        return entry, None
    entry.bucket, note = assign_bucket(entry.kind, entry.width, entry.height, entry.frames, g.buckets)
    try:
        decode(path, Bucket(width=32, height=32, frames=int(entry.bucket.rsplit("x", 1)[1])))
    except LoraportError as err:
        why = _without_name(err.message, rel)
        if "too short" in why and not _probe(path).frames_exact:
            # Matroska/WebM store no frame count: duration x fps over-counts a variable-rate clip. The trainer
            # buckets it by the frames that decode, and so does its report here.
            from trainer.media import count_frames

            entry.frames = count_frames(path, entry.frames or 1)
            entry.bucket, note = assign_bucket(entry.kind, entry.width, entry.height, entry.frames, g.buckets)
            return entry, note
        if "too short" in why:  # decode's message names our 32x32 check size, which means nothing to a user
            why = (f"its header promises {entry.frames} frames but fewer decode: the file is cut short or damaged; "
                   "re-export it")
        entry.error, entry.bucket = why, None
        return entry, None
    except Exception as err:  # as in probe_entry: one bad file must not stop the rest
        log.info("decode failed for %s", path, exc_info=True)
        entry.error, entry.bucket = f"could not be decoded ({type(err).__name__}); re-export it", None
        return entry, None
    return entry, note


def _probe(path: Path):
    from trainer.media import probe  # media facts have one owner: the trainer's PyAV prober

    return probe(path)


def _without_name(message: str, rel: str) -> str:
    """trainer.media names the file in its message; the report already does, so say it once."""
    prefix = f"{PurePosixPath(rel).name}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _dedupe(entries: list[FileEntry], report: DatasetReport) -> None:
    """Identical content keeps its first name (sorted order); the copies become errors naming the original."""
    first: dict[str, FileEntry] = {}
    groups: dict[str, list[str]] = {}
    for e in entries:
        if e.error is not None or e.sha256 is None:
            continue
        if e.sha256 in first:
            groups.setdefault(e.sha256, [first[e.sha256].name]).append(e.name)
            e.error = f"duplicate of {first[e.sha256].name} (same content); not imported twice"
        else:
            first[e.sha256] = e
    report.duplicates = list(groups.values())


def _pair_references(good: list[FileEntry], g: Guidance, report: DatasetReport,
                     table_refs: dict[str, str]) -> list[FileEntry]:
    """IC-LoRA: a table's reference column, or ``clip_ref.mp4`` beside ``clip.mp4``, gives a clip its reference;
    return the items (targets) only. Without an IC-LoRA recipe nothing is paired; likely pairs are only named."""
    suffix = g.reference_suffix or "_ref"
    by_name = {e.name: e for e in good}
    by_stem = {PurePosixPath(e.name).with_suffix("").as_posix(): e for e in good}
    pairs = {t: r for t, r in table_refs.items() if t in by_name and r in by_name}  # target name -> reference name
    for stem, e in by_stem.items():
        if stem.endswith(suffix) and stem[:-len(suffix)] in by_stem:
            pairs.setdefault(by_stem[stem[:-len(suffix)]].name, e.name)
    folder_pairs, orphans = _reference_folder_pairs(list(by_name), suffix)
    for target, ref in folder_pairs.items():
        pairs.setdefault(target, ref)
    orphans = [r for r in orphans if r not in pairs.values()]  # a table's reference column may pair it
    if g.reference_suffix and orphans:
        report.warnings.append(f"{len(orphans)} file(s) in a references folder match no clip by name and will not "
                               f"train ({', '.join(orphans[:5])}): add their clips or remove them.")
    if not g.reference_suffix:
        if pairs:
            report.warnings.append(f"{len(pairs)} file(s) look like IC-LoRA reference clips ("
                                   + ", ".join(sorted(pairs.values())[:3])
                                   + "); they are trained as ordinary clips. Import with --recipe face to pair them.")
        return good
    for target, ref in pairs.items():
        by_name[ref].role = "reference"
        by_name[target].reference = ref
        problem = pair_problem(by_name[target], by_name[ref])
        if problem:
            report.warnings.append(f"{target}: {problem}")
    return [e for e in good if e.role == "item"]


def _reference_folder_pairs(names: list[str], suffix: str) -> tuple[dict[str, str], list[str]]:
    """Target -> reference by a ``references/`` folder (the trainer's ``trainer.listing.find_reference`` on names):
    ``references/clip.*`` or ``references/<sub-folders>/clip.*`` (also ``clip<suffix>.*``) in the clip's folder or
    any folder above it, nearest first; and the references that match no clip."""
    from trainer.manifest import REFERENCE_DIRS, in_reference_dir

    index: dict[tuple, str] = {}
    for name in sorted(n for n in names if in_reference_dir(n)):
        parts = PurePosixPath(name).with_suffix("").parts
        cut = max(i for i, p in enumerate(parts[:-1]) if p.lower() in REFERENCE_DIRS)
        below = list(parts[cut + 1:])
        stems = [below[-1][:-len(suffix)]] if suffix and below[-1].endswith(suffix) else []
        for stem in [*stems, below[-1]]:
            index.setdefault((parts[:cut], tuple(below[:-1]), stem), name)
    pairs: dict[str, str] = {}
    for name in names:
        if in_reference_dir(name):
            continue
        parts = PurePosixPath(name).with_suffix("").parts
        for k in range(len(parts) - 1, -1, -1):  # the clip's own folder first, then each folder above it
            keys = [(parts[:k], tuple(parts[k:-1]), parts[-1]), (parts[:k], (), parts[-1])]
            ref = next((index[key] for key in keys if key in index), None)
            if ref is not None:
                pairs[name] = ref
                break
    used = set(pairs.values())
    return pairs, sorted({n for n in index.values() if n not in used})


def _json_sidecars(collected: Collected) -> None:
    """``clip.json`` beside ``clip.mp4`` is that clip's sidecar caption, not a captions table."""
    stems = {PurePosixPath(m).with_suffix("").as_posix() for m in collected.media}
    for rel in [r for r in collected.tables if r.lower().endswith(".json")]:
        if PurePosixPath(rel).with_suffix("").as_posix() in stems:
            collected.sidecars[rel] = collected.tables.pop(rel)


def pair_problem(target: FileEntry, ref: FileEntry) -> str | None:
    """The reason training will refuse an IC-LoRA pair (trainer.pairs applies the same rules), or None. Another
    size or aspect is fine (resized and centre-cropped to the target's bucket), and so is a longer reference."""
    if target.kind == "video" and ref.kind == "image":
        return (f"its reference {ref.name} is an image but it is a video: training refuses the pair; give a "
                "reference clip at least as long (an image reference still works at generation time).")
    need = int(target.bucket.rsplit("x", 1)[-1]) if target.bucket else None  # frames the clip is trained on
    if target.kind == "video" and ref.frames and need and ref.frames < need:
        return (f"its reference {ref.name} has {ref.frames} frames, fewer than the {need} its bucket "
                f"({target.bucket}) takes: training refuses the pair; give a reference at least as long.")
    return None


def _attach_captions(collected: Collected, good: list[FileEntry], report: DatasetReport,
                     tables: TableCaptions) -> None:
    table, missing, problems = tables.captions, tables.missing, tables.problems
    sidecar = read_sidecars([e.name for e in good], collected.sidecars)
    for entry in good:
        text = sidecar.get(entry.name, table.get(entry.name))
        if text:
            entry.caption, entry.caption_source, entry.caption_status = text, "sidecar", "final"
    report.warnings.extend(problems)
    all_media = set(collected.media) | set(collected.errors)
    missing = [m for m in missing if PurePosixPath(m).name not in {PurePosixPath(x).name for x in all_media}]
    if missing:
        report.warnings.append(f"Captions name {len(missing)} file(s) that are not in the dataset (ignored): "
                               + ", ".join(sorted(set(missing))[:10]))
    orphans = sorted(t for t in collected.sidecars
                     if PurePosixPath(t).with_suffix("").as_posix() not in {PurePosixPath(n).with_suffix("").as_posix()
                                                                        for n in all_media})
    if orphans:
        report.warnings.append(f"Caption file(s) without a matching clip (ignored): {', '.join(orphans[:10])}")


def summarise(report: DatasetReport) -> str:
    """A few plain sentences: what is usable, what was refused and why, and what to fix first."""
    parts = [f"{report.n_files} usable file(s): {report.n_videos} video(s), {report.n_images} image(s)."]
    if report.errors:
        reasons = "; ".join(f"{k}: {v.rstrip('.')}" for k, v in list(report.errors.items())[:5])
        parts.append(f"{len(report.errors)} refused: {reasons}{'; ...' if len(report.errors) > 5 else ''}.")
    if report.duplicates:
        parts.append(f"{sum(len(g) - 1 for g in report.duplicates)} duplicate(s) skipped.")
    if report.holdout:
        parts.append(f"Held out for validation: {', '.join(report.holdout)}.")
    if report.recommendations:
        parts.append("To fix: " + " ".join(report.recommendations))
    elif not report.errors:
        parts.append("Ready for captioning and planning.")
    return " ".join(parts)
