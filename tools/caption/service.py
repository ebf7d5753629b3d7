"""Caption a dataset: preview 3 files for approval, caption the rest with progress, edit one caption.

``caption_all`` runs in this process; ``tools.caption.jobs`` runs it as a ``caption`` job for the worker.

Captions are stored WITHOUT the trigger word (the trainer prepends it) and shown WITH it, as they will be trained.
A preview stores its captions as ``caption_status = "preview"`` on files that have no approved caption; only
approved (``final``) captions reach ``captions.jsonl``. Everything a backend returns is cleaned and stored as data.
"""

import time
from collections.abc import Callable
from pathlib import Path

import sqlite_utils
from pydantic import BaseModel, Field

from core.atomic import locked
from core.errors import LoraportError, NotFoundError
from core.settings import Settings, get_settings
from core.store import open_db
from core.workspace import Workspace

from tools.caption.base import CaptionItem, Captioner, with_sound
from tools.dataset.captions import clean_caption, with_trigger, write_captions_jsonl
from tools.dataset.guidance import load_guidance
from tools.dataset.models import DatasetReport, FileEntry
from tools.dataset.service import load_report, resolve_dataset_id

BACKENDS = ("auto", "vlm", "claude", "sidecar", "template")
Progress = Callable[[int, int, str], None]


class CaptionResult(BaseModel):
    name: str
    caption: str = Field("", description="Stored caption, without the trigger word.")
    trained_as: str = Field("", description="The caption as training will use it: trigger word first.")
    source: str
    quality: str = Field("normal", description='"low" for template captions: no model looked at the pixels.')
    sound: str | None = Field(None, description='What the caption can say about the sound, when it matters: '
                              '"silent-blind" (template: nothing), "from-frames" (a vision model guessed it from '
                              'the pixels: check what is said), "as-written" (your own words).')
    error: str | None = None


class CaptionPreview(BaseModel):
    """A few captions to approve before the whole dataset is captioned."""

    dataset_id: str
    backend: str
    trigger_word: str | None
    quality: str
    guidance: str
    items: list[CaptionResult]
    note: str
    sound: bool = Field(False, description="The clips' sound trains (the recipe's audio), so captions describe it.")


class CaptionRun(BaseModel):
    dataset_id: str
    backend: str
    trigger_word: str | None
    captioned: int
    skipped: int = Field(0, description="Files that already had an approved caption (kept).")
    stopped: bool = False
    errors: dict[str, str] = Field(default_factory=dict)
    quality: str = "normal"


def clean_trigger(trigger_word: str | None) -> str | None:
    if trigger_word is None:
        return None
    word = clean_caption(trigger_word)
    if not word or len(word) > 50:
        raise LoraportError("the trigger word must be 1-50 characters, e.g. 'ohwx' or 'sks style'.")
    return word


def get_captioner(backend: str | None, report: DatasetReport | None = None, settings: Settings | None = None) -> Captioner:
    """The backend by name; ``auto`` = the user's own captions if every file has one, else a local VLM if one is
    configured, else Claude if a key is set, else the low-quality template."""
    settings = settings or get_settings()
    backend = backend or "auto"
    if backend not in BACKENDS:
        raise LoraportError(f"unknown caption backend {backend!r}: use one of {', '.join(BACKENDS)}.")
    if backend == "auto":
        good = [f for f in (report.files if report else []) if f.error is None]
        if good and all(f.caption_source == "sidecar" and f.caption for f in good):
            backend = "sidecar"
        elif settings.caption_model:
            backend = "vlm"
        elif settings.anthropic_api_key is not None:
            backend = "claude"
        else:
            backend = "template"
    if backend == "vlm":
        if not settings.caption_model:
            raise LoraportError("the vlm backend needs a model: set LORAPORT_CAPTION_MODEL to a local folder or "
                                "hub id of a vision-language model (e.g. a Qwen2.5-VL or SmolVLM checkpoint).")
        from tools.caption.vlm import VlmCaptioner

        return VlmCaptioner(settings.caption_model)
    if backend == "claude":
        from tools.caption.claude import ClaudeCaptioner

        return ClaudeCaptioner(settings)
    if backend == "sidecar":
        from tools.caption.sidecar import SidecarCaptioner

        return SidecarCaptioner()
    from tools.caption.template import TemplateCaptioner

    return TemplateCaptioner()


def caption_preview(dataset: str | Path, *, backend: str = "auto", trigger_word: str | None = None, n: int = 3,
                    recipe=None, captioner: Captioner | None = None, sound: bool | None = None,
                    workspace: Workspace | None = None) -> CaptionPreview:
    """Caption 3 files of a dataset with the trigger word, for the user to approve before captioning the rest.

    ``sound`` (default: whether the recipe trains the clips' sound) asks the captioner to describe the sound too."""
    db, workspace, report = _open(dataset, workspace)
    guidance = load_guidance(recipe if recipe is not None else report.recipe)
    sound = guidance.sound if sound is None else sound
    trigger = _trigger(db, report, trigger_word, guidance.trigger_word)
    captioner = captioner or get_captioner(backend, report)
    captioner.prepare()
    good = [f for f in report.files if f.error is None and f.role == "item"]
    picks = (sorted(good, key=lambda f: (f.kind != "video", f.split != "train", f.name)))[:max(1, n)]
    items = []
    for entry in picks:
        result = _caption_one(captioner, Path(report.path), entry, with_sound(guidance.caption_guidance, sound),
                              trigger, sound)
        if result.error is None and entry.caption_status != "final":
            _store(db, report.id, entry.name, result.caption, captioner.name, "preview")
        items.append(result)
    low = captioner.quality == "low"
    note = (f"Captions by the {captioner.name} backend, shown as they will be trained"
            + (f" (trigger word {trigger!r} first)." if trigger else " (no trigger word set).")
            + (" LOW QUALITY: no model looked at the pixels; edit them or use a vision model." if low else "")
            + f" Approve to caption all {len(good)} file(s); any caption can be edited afterwards "
            f"(set_caption, or `loraport caption {report.id} --edit FILE --text \"...\"`).")
    note += _sound_note(captioner, sound)
    return CaptionPreview(dataset_id=report.id, backend=captioner.name, trigger_word=trigger,
                          quality=captioner.quality, guidance=with_sound(guidance.caption_guidance, sound),
                          items=items, note=note, sound=sound)


def _sound_note(captioner: Captioner, sound: bool) -> str:
    if captioner.sound == "silent-blind":
        return (" SILENT-BLIND: these captions say nothing about the sound (no model heard it)"
                + ("; the sound trains too, so write who speaks, what is said (in quotes), music and effects "
                   "into each caption by hand." if sound else "."))
    if not sound:
        return ""
    if captioner.sound == "from-frames":
        return (" The sound trains too: the captions name the sound the frames show, but no model heard it; "
                "check who speaks and put what is said in quotes by hand.")
    return " The sound trains too: make sure your captions say who speaks, what is said, music and effects."


def caption_all(dataset: str | Path, *, backend: str = "auto", trigger_word: str | None = None,
                on_progress: Progress | None = None, should_stop: Callable[[], bool] | None = None,
                overwrite: bool = False, recipe=None, captioner: Captioner | None = None,
                workspace: Workspace | None = None) -> CaptionRun:
    """Caption every file of a dataset and store the captions (approved previews are reused, not redone)."""
    db, workspace, report = _open(dataset, workspace)
    guidance = load_guidance(recipe if recipe is not None else report.recipe)
    trigger = _trigger(db, report, trigger_word, guidance.trigger_word)
    captioner = captioner or get_captioner(backend, report)
    captioner.prepare()
    good = [f for f in report.files if f.error is None and f.role == "item"]  # references need no caption
    text = with_sound(guidance.caption_guidance, guidance.sound)
    run = CaptionRun(dataset_id=report.id, backend=captioner.name, trigger_word=trigger, captioned=0,
                     quality=captioner.quality)
    try:
        _caption_each(db, report, good, captioner, text, trigger, run,
                      overwrite=overwrite, on_progress=on_progress, should_stop=should_stop)
    finally:  # stopped, finished or failed: the file matches the DB
        _write_jsonl(db, report.id, Path(report.path))
    return run


def _caption_each(db: sqlite_utils.Database, report: DatasetReport, good: list[FileEntry], captioner: Captioner, guidance: str,
                  trigger: str | None, run: CaptionRun, *, overwrite: bool, on_progress: Progress | None,
                  should_stop: Callable[[], bool] | None) -> None:
    last_write = time.monotonic()
    for i, entry in enumerate(good):
        if should_stop is not None and should_stop():
            run.stopped = True
            break
        if entry.caption_status == "final" and entry.caption and not overwrite:
            run.skipped += 1
        elif entry.caption_status == "preview" and entry.caption_source == captioner.name and entry.caption:
            _store(db, report.id, entry.name, entry.caption, captioner.name, "final")  # the approved preview
            run.captioned += 1
        else:
            result = _caption_one(captioner, Path(report.path), entry, guidance, trigger)
            if result.error:
                run.errors[entry.name] = result.error
            else:
                _store(db, report.id, entry.name, result.caption, captioner.name, "final")
                run.captioned += 1
        if time.monotonic() - last_write > 2.0:  # the DB has every caption at once; the file catches up often
            _write_jsonl(db, report.id, Path(report.path))
            last_write = time.monotonic()
        if on_progress is not None:
            on_progress(i + 1, len(good), entry.name)


def set_caption(dataset: str | Path, media: str, text: str, *, workspace: Workspace | None = None) -> CaptionResult:
    """Set the caption of one file of a dataset (a user's edit); it is stored as plain text, never interpreted."""
    db, workspace, report = _open(dataset, workspace)
    entry = next((f for f in report.files if f.name == media), None)
    if entry is None or entry.error is not None or entry.role != "item":
        names = ", ".join(f.name for f in report.files if f.error is None and f.role == "item")[:300]
        raise NotFoundError(f"{media!r} is not a usable file of dataset {report.id}; its files: {names}")
    caption = clean_caption(text, report.trigger_word)
    _store(db, report.id, media, caption, "user", "final")
    _write_jsonl(db, report.id, Path(report.path))
    return CaptionResult(name=media, caption=caption, trained_as=with_trigger(caption, report.trigger_word),
                         source="user")


def _open(dataset: str | Path, workspace: Workspace | None) -> tuple[sqlite_utils.Database, Workspace, DatasetReport]:
    workspace = workspace or Workspace.from_settings()
    db = open_db(workspace)
    dataset_id = resolve_dataset_id(db, workspace, dataset)
    return db, workspace, load_report(db, workspace, dataset_id)


def _trigger(db: sqlite_utils.Database, report: DatasetReport, given: str | None, recipe_default: str | None) -> str | None:
    """The given trigger word is remembered on the dataset; otherwise the dataset's, then the recipe's."""
    trigger = clean_trigger(given) or report.trigger_word or clean_trigger(recipe_default)
    if trigger != report.trigger_word:
        db["datasets"].update(report.id, {"trigger_word": trigger})
        report.trigger_word = trigger
    return trigger


def _caption_one(captioner: Captioner, root: Path, entry: FileEntry, guidance: str, trigger: str | None,
                 sound: bool = False) -> CaptionResult:
    result = _caption_raw(captioner, root, entry, guidance, trigger)
    if captioner.sound == "silent-blind" or sound:
        result.sound = captioner.sound
    return result


def _caption_raw(captioner: Captioner, root: Path, entry: FileEntry, guidance: str, trigger: str | None
                 ) -> CaptionResult:
    try:
        raw = captioner.caption_item(CaptionItem(path=root / entry.name, entry=entry), guidance=guidance)
    except LoraportError as err:
        return CaptionResult(name=entry.name, source=captioner.name, quality=captioner.quality, error=err.message)
    caption = clean_caption(raw, trigger)
    if not caption:
        return CaptionResult(name=entry.name, source=captioner.name, quality=captioner.quality,
                             error="the backend returned an empty caption; edit it by hand or try another backend")
    return CaptionResult(name=entry.name, caption=caption, trained_as=with_trigger(caption, trigger),
                         source=captioner.name, quality=captioner.quality)


def _store(db: sqlite_utils.Database, dataset_id: str, name: str, caption: str, source: str, status: str) -> None:
    db["dataset_files"].update(f"{dataset_id}:{name}",
                               {"caption": caption, "caption_source": source, "caption_status": status})


def _write_jsonl(db: sqlite_utils.Database, dataset_id: str, root: Path) -> None:
    # Read and write under one lock: two edits at once (two tabs, a caption job and an edit) would otherwise each
    # write the rows they read, and the later file could lack the other's caption although the table has it.
    with locked(Path(root) / ".captions.lock"):
        rows = list(db["dataset_files"].rows_where("dataset_id = ? AND error IS NULL", [dataset_id]))
        references = {r["reference"] for r in rows if r.get("reference")}
        rows = [{"name": r["name"], "split": r["split"], "reference": r.get("reference"),
                 "caption": r["caption"] if r.get("caption_status") == "final" else ""}
                for r in rows if r["name"] not in references]
        write_captions_jsonl(root, rows)
