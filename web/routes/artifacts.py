"""Artifacts: trained LoRAs (downloaded with their trigger word), sample videos, reports; only workspace files."""

from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import FileResponse
from pydantic import BaseModel

from core.errors import NotFoundError
from core.workspace import Workspace
from trainer import jobs as jobstore
from trainer.jobs import JobRecord
from web.deps import DbDep, WorkspaceDep

router = APIRouter(prefix="/api", tags=["artifacts"])
SERVED_ROOTS = ("runs", "uploads", "studio", "datasets")  # never the database, the cache or anything above home
SERVED_EXT = {".mp4", ".webm", ".png", ".jpg", ".jpeg", ".webp", ".gif", ".json", ".html", ".safetensors", ".txt"}
MEDIA_TYPES = {".mp4": "video/mp4", ".webm": "video/webm", ".safetensors": "application/octet-stream",
               ".json": "application/json", ".html": "text/html; charset=utf-8", ".txt": "text/plain; charset=utf-8"}
TRIGGER_HEADER = "X-Loraport-Trigger-Word"
# A served report may quote captions (user data): it may show pictures and clips, never run a script.
FILE_HEADERS = {"X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; img-src 'self' data:; media-src 'self'; "
                                           "style-src 'unsafe-inline'; sandbox"}


class LoraPublic(BaseModel):
    job_id: str
    name: str
    url: str
    size: int
    trigger_word: str | None
    recipe: str | None
    model_id: str | None
    created_at: str | None
    final_loss: float | None


def resolve_workspace_file(workspace: Workspace, relative: str) -> Path:
    """The file ``relative`` names under the workspace; anything outside it (``..``, symlinks) is a 404."""
    home = workspace.home.resolve()
    if "\x00" in relative:  # no file name holds NUL; resolve() would raise on it
        raise NotFoundError(f"No file {relative!r} in this workspace's runs, uploads, studio or datasets.")
    try:
        target = (home / relative).resolve()
        inside = target.is_relative_to(home) and target != home and target.relative_to(home).parts[0] in SERVED_ROOTS
        found = inside and target.is_file() and target.suffix.lower() in SERVED_EXT
    except OSError:  # a name longer than the file system allows, a loop of symlinks: no such file either way
        found = False
    if not found:
        raise NotFoundError(f"No file {relative!r} in this workspace's runs, uploads, studio or datasets.")
    return target


def file_url(workspace: Workspace, path: str | Path) -> str:
    relative = Path(path).resolve().relative_to(workspace.home.resolve())
    return "/api/files/" + quote(relative.as_posix())


def lora_trigger_word(job: JobRecord, path: Path) -> str | None:
    """From the resolved config, else the file's own metadata (header only; the weights are not read)."""
    word = ((job.config or {}).get("data") or {}).get("trigger_word")
    if word:
        return word
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception:  # a file we cannot read simply has no trigger word to show
        return None
    return meta.get("loraport.trigger_word") or meta.get("modelspec.trigger_phrase")


def _trained_lora(job: JobRecord) -> Path:
    if not job.lora_path or not Path(job.lora_path).is_file():
        raise NotFoundError(f"Job {job.job_id} has no LoRA file yet ({job.status}); it is written when training ends.")
    return Path(job.lora_path)


@router.get("/loras")
def list_loras(db: DbDep, workspace: WorkspaceDep) -> list[LoraPublic]:
    """Every trained LoRA of this workspace, newest first (what the Studio offers)."""
    out = []
    for job in jobstore.list_jobs(db, status="finished", kind="train", limit=200):
        if not job.lora_path or not Path(job.lora_path).is_file():
            continue
        path = Path(job.lora_path)
        out.append(LoraPublic(
            job_id=job.job_id, name=path.name, url=f"/api/jobs/{job.job_id}/lora", size=path.stat().st_size,
            trigger_word=lora_trigger_word(job, path), recipe=job.recipe, model_id=job.model_id,
            created_at=job.created_at, final_loss=job.final_loss,
        ))
    return out


@router.get("/jobs/{job_id}/lora", response_class=FileResponse,
            responses={200: {"content": {"application/octet-stream": {}}, "description": "The .safetensors file"}})
def download_lora(job_id: str, db: DbDep) -> FileResponse:
    """The trained .safetensors; its trigger word rides in the X-Loraport-Trigger-Word header."""
    job = jobstore.get_job(db, job_id)
    path = _trained_lora(job)
    trigger = lora_trigger_word(job, path)
    stem = "-".join(x for x in (job.recipe, trigger, job.job_id) if x)
    headers = {TRIGGER_HEADER: quote(trigger)} if trigger else {}
    return FileResponse(path, media_type="application/octet-stream", filename=f"{stem}.safetensors", headers=headers)


@router.get("/files/{relative:path}", response_class=FileResponse,
            responses={200: {"content": {"video/mp4": {}, "image/png": {}}, "description": "A workspace file"}})
def read_file(relative: str, workspace: WorkspaceDep) -> FileResponse:
    """A sample video, contact sheet, report or upload from the workspace (nothing outside it)."""
    path = resolve_workspace_file(workspace, relative)
    return FileResponse(path, media_type=MEDIA_TYPES.get(path.suffix.lower()), headers=FILE_HEADERS)
