"""Import and check datasets: the tools the agent, the CLI and the API call.

An import copies the usable files into ``datasets/<id>/`` (the originals are only read), writes ``captions.jsonl``
and records the dataset in the ``datasets`` / ``dataset_files`` tables; the new directory appears in one rename,
so a failed import leaves nothing behind.
"""

import json
import os
import re
import secrets
import shutil
from pathlib import Path

import sqlite_utils

from core.atomic import atomic_replace_dir
from core.errors import LoraportError, NotFoundError
from core.settings import get_settings
from core.store import now_iso, open_db
from core.workspace import Workspace

from tools.dataset.analyse import Progress, analyse, probe_entry, summarise
from tools.dataset.captions import write_captions_jsonl
from tools.dataset.guidance import count_advice, load_guidance, reference_advice
from tools.dataset.models import DatasetReport, FileEntry
from tools.dataset.sources import Collected, ImportLimits, collect
from trainer.media import supported_media

_FILE_COLUMNS = ("name", "sha256", "kind", "width", "height", "frames", "fps", "duration_s", "has_audio", "split",
                 "bucket", "caption", "caption_source", "error", "reference")


def import_dataset(source: Path | list[Path], *, name: str | None = None, recipe=None, seed: int = 0,
                   holdout_fraction: float | None = None, limits: ImportLimits | None = None,
                   on_progress: Progress | None = None, workspace: Workspace | None = None) -> DatasetReport:
    """Import clips and images (a folder, a zip or files) into the workspace as a dataset, with a report of what to fix."""
    settings = get_settings()
    workspace = workspace or Workspace.from_settings(settings)
    limits = limits or ImportLimits(max_file_bytes=settings.max_upload_mb << 20)
    guidance = load_guidance(recipe)
    if isinstance(source, (list, tuple)) and not source:
        raise LoraportError("No files given: upload clips or images, or give a folder or a zip.")
    src_name = Path(source[0] if isinstance(source, (list, tuple)) else source).stem
    name = name or src_name or "dataset"
    dataset_id = f"{_slug(name)}-{secrets.token_hex(3)}"
    staging = workspace.datasets_dir / f".staging-{dataset_id}"
    try:
        collected = collect(source, staging / "unpacked", limits)
        report = analyse(collected, guidance, seed=seed, holdout_fraction=holdout_fraction, limits=limits,
                         on_progress=on_progress)
        _refuse_unusable(report, collected)
        final = workspace.dataset_dir(dataset_id)
        _assemble(collected, report, staging / "dataset")
        atomic_replace_dir(staging / "dataset", final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report.id, report.name, report.path = dataset_id, name, str(final)
    db = open_db(workspace)
    _record(db, report)
    return load_report(db, workspace, dataset_id)  # the same view `check` gives later


def check_dataset(dataset_id_or_path: str | Path, recipe=None, *, on_progress: Progress | None = None,
                  workspace: Workspace | None = None) -> DatasetReport:
    """Check a dataset (an imported id or any folder) and say per file what is wrong and what to fix."""
    workspace = workspace or Workspace.from_settings()
    db = open_db(workspace)
    dataset_id = resolve_dataset_id(db, workspace, dataset_id_or_path, required=False)
    if dataset_id is None:
        path = Path(dataset_id_or_path)
        if not path.exists():
            raise NotFoundError(f"{dataset_id_or_path} is neither a dataset id nor a folder: "
                                "`loraport dataset import PATH` imports one.")
        limits = ImportLimits(max_file_bytes=get_settings().max_upload_mb << 20)
        staging = workspace.datasets_dir / f".staging-check-{secrets.token_hex(3)}"  # a zip unpacks here
        try:
            report = analyse(collect(path, staging, limits), load_guidance(recipe), limits=limits,
                             on_progress=on_progress)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        report.path = str(path)  # not the staging folder a zip was unpacked into
        if report.n_files:
            report.recommendations.append(f"Not imported yet: `loraport dataset import {path}` copies the usable "
                                          "files into the workspace, then `loraport caption` captions them.")
            report.summary = summarise(report)
        return report
    return load_report(db, workspace, dataset_id, recipe=recipe, verify=True, on_progress=on_progress)


def load_report(db: sqlite_utils.Database, workspace: Workspace, dataset_id: str, *, recipe=None,
                verify: bool = False, on_progress: Progress | None = None) -> DatasetReport:
    """The stored report of an imported dataset; ``verify`` re-reads every file to catch ones gone or damaged."""
    try:
        row = db["datasets"].get(dataset_id)
    except sqlite_utils.db.NotFoundError:
        raise NotFoundError(f"no imported dataset {dataset_id!r}: `loraport dataset import PATH` imports one.") from None
    try:
        guidance = load_guidance(recipe if recipe is not None else row.get("recipe"))
    except NotFoundError:
        if recipe is not None:
            raise
        guidance = load_guidance(None)  # the recipe recorded at import is gone: check against general advice
    stored = json.loads(row.get("report") or "{}")
    report = DatasetReport(id=dataset_id, name=row["name"], path=row["path"], trigger_word=row.get("trigger_word"),
                           recipe=guidance.name, warnings=list(stored.get("warnings", [])),
                           duplicates=stored.get("duplicates", []))
    rows = list(db["dataset_files"].rows_where("dataset_id = ?", [dataset_id], order_by="name"))
    report.files = [_entry(r) for r in rows]
    references = {f.reference for f in report.files if f.reference}
    for f in report.files:
        f.role = "reference" if f.name in references else "item"
    if verify:
        _verify_files(Path(row["path"]), report.files, on_progress)
    good = [f for f in report.files if f.error is None and f.role == "item"]
    report.errors = {f.name: f.error for f in report.files if f.error}
    report.holdout = [f.name for f in good if f.split == "holdout"]
    report.n_videos = sum(f.kind == "video" for f in good)
    report.n_images = sum(f.kind == "image" for f in good)
    report.n_files = len(good)
    report.recommendations = count_advice(guidance, report.n_videos, report.n_images) + reference_advice(
        guidance, [f.name for f in good if f.reference is None])
    uncaptioned = sum(1 for f in good if not f.caption or f.caption_status != "final")
    if uncaptioned:
        report.recommendations.append(f"{uncaptioned} of {len(good)} file(s) have no approved caption: "
                                      f"`loraport caption {dataset_id} --preview`, then `loraport caption {dataset_id}`.")
    report.summary = summarise(report)
    return report


def resolve_dataset_id(db: sqlite_utils.Database, workspace: Workspace, ref: str | Path, *,
                       required: bool = True) -> str | None:
    """A dataset id, or the path of an imported dataset's folder, -> its id (None if unknown and not required)."""
    text = str(ref)
    if "/" not in text and "\\" not in text and db["datasets"].count_where("id = ?", [text]):
        return text
    path = Path(text).expanduser()
    if path.exists():
        resolved = str(path.resolve())
        for row in db["datasets"].rows_where("path = ?", [resolved]):
            return row["id"]
    if required:
        raise NotFoundError(f"no imported dataset {text!r}: `loraport dataset import PATH` imports one, "
                            "and `loraport dataset check ID` lists what it holds.")
    return None


def _refuse_unusable(report: DatasetReport, collected: Collected) -> None:
    """No usable file is an error the user must fix before anything else; say which one it is."""
    if report.n_files > 1 or (report.n_files == 1 and not report.duplicates):
        return
    if report.duplicates and report.n_files == 1:
        copies = sum(len(g) for g in report.duplicates)
        raise LoraportError(f"All {copies} media files are copies of one file ({report.duplicates[0][0]}): a LoRA "
                            "needs different clips of the concept. Add varied clips and import again.")
    if not collected.media:
        raise LoraportError(f"The dataset is empty: no media ({supported_media()}) were found" + (f"; ignored: {', '.join(collected.ignored[:5])}" if collected.ignored else "")
                            + ". Add clips and import again.")
    reasons = "; ".join(f"{k}: {v}" for k, v in list(report.errors.items())[:5])
    raise LoraportError(f"No usable media: every file was refused ({reasons}). Fix or re-export them and import again.")


def _assemble(collected: Collected, report: DatasetReport, out: Path) -> None:
    """Copy the usable files (read-only access to the originals) and write ``captions.jsonl``."""
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for entry in report.files:
        if entry.error is None:
            target = out / entry.name
            target.parent.mkdir(parents=True, exist_ok=True)
            source = collected.media[entry.name]
            if collected.owned:  # unpacked from a zip by us: move, do not hold two copies on disk
                os.replace(source, target)
            else:  # the user's own file: only read
                shutil.copyfile(source, target)
            if entry.role == "item":
                rows.append(entry.model_dump())
    write_captions_jsonl(out, rows)


def _record(db: sqlite_utils.Database, report: DatasetReport) -> None:
    extra = {"warnings": report.warnings, "duplicates": report.duplicates}
    with db.conn:
        db["datasets"].insert({"id": report.id, "name": report.name, "path": str(Path(report.path).resolve()),
                               "created_at": now_iso(), "n_files": report.n_files, "recipe": report.recipe,
                               "trigger_word": report.trigger_word, "summary": report.summary,
                               "report": json.dumps(extra)})
        db["dataset_files"].insert_all(
            [{"id": f"{report.id}:{f.name}", "dataset_id": report.id,
              **{c: getattr(f, c) for c in _FILE_COLUMNS}, "caption_status": f.caption_status}
             for f in report.files])


def _entry(row: dict) -> FileEntry:
    data = {c: row.get(c) for c in _FILE_COLUMNS}
    data["has_audio"] = None if row.get("has_audio") is None else bool(row["has_audio"])
    return FileEntry(**data, caption_status=row.get("caption_status"))


def _verify_files(root: Path, files: list[FileEntry], on_progress: Progress | None) -> None:
    for i, f in enumerate(files):
        path = root / f.name
        if f.error is None and not path.is_file():
            f.error = "is missing from the dataset folder; import the dataset again"
        elif f.error is None:
            fresh = probe_entry(f.name, path)
            if fresh.error or fresh.sha256 != f.sha256:
                f.error = fresh.error or "changed on disk since import; import the dataset again"
        if on_progress is not None:
            on_progress(i + 1, len(files), f.name)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "dataset"
