"""LoRA Studio: generate one clip with a LoRA and, at the same seed, one without it, to compare side by side."""

from pathlib import Path

from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator

from core.errors import LoraportError
from core.settings import Settings
from core.workspace import Workspace
from trainer import jobs as jobstore
from trainer.config import ModelConfig
from web.deps import DbDep, SettingsDep, WorkspaceDep
from web.routes.artifacts import file_url
from trainer.media import MEDIA_EXTS
from web.uploads import load_upload

router = APIRouter(prefix="/api/studio", tags=["studio"])
TINY_NOTE = ("The tiny demo models have random weights: their clips are noise. They show the pipeline works end to "
             "end, not what your LoRA looks like; use ltx-2.3 or ltx-2.5 weights for real previews.")


class StudioRequest(BaseModel):
    lora_job_id: str | None = Field(None, description="A finished training job whose LoRA to use.")
    lora_upload_id: str | None = Field(None, description="An uploaded .safetensors (POST /api/uploads).")
    prompt: str = Field(min_length=1, max_length=2000)
    seed: int = Field(42, ge=0, le=2**31 - 1)
    compare: bool = Field(True, description="Also generate without the LoRA at the same seed.")
    width: int | None = Field(None, ge=32, le=2048, multiple_of=32)
    height: int | None = Field(None, ge=32, le=2048, multiple_of=32)
    frames: int | None = Field(None, ge=1, le=257, description="8k+1 frames.")
    steps: int | None = Field(None, ge=1, le=100, description="Denoising steps.")
    lora_strength: float = Field(1.0, ge=0, le=2, description="The LoRA's weight: 1.0 as trained, 0 turns it off.")
    negative_prompt: str | None = Field(None, max_length=2000, description="What guidance steers away from; "
                                        "default: the official LTX negative prompt.")
    model: str | None = Field(None, max_length=64, description="Render on this base model instead of the LoRA's own "
                              "(e.g. ltx-2.5: the as-is test of a 2.3 LoRA, with and without it at the same seed).")
    reference_upload_id: str | None = Field(None, description="IC-LoRA: an uploaded image or clip (POST /api/uploads) "
                                            "to render from.")
    reference_media: str | None = Field(None, max_length=1000, description="IC-LoRA: a reference of the trained "
                                        "LoRA's dataset, by its relative path (GET /api/studio/lora-info lists them).")

    @model_validator(mode="after")
    def _one_lora(self) -> "StudioRequest":
        if bool(self.lora_job_id) == bool(self.lora_upload_id):
            raise ValueError("name exactly one LoRA: lora_job_id (a trained one) or lora_upload_id (an upload)")
        return self


class Clip(BaseModel):
    video_url: str
    sheet_url: str | None = None


class StudioResult(BaseModel):
    id: str
    model_id: str
    prompt: str
    seed: int
    with_lora: Clip
    without_lora: Clip | None
    reference: Clip | None = Field(None, description="IC-LoRA: the reference both clips were rendered from, as read.")
    reference_name: str | None = None
    seconds: float
    note: str | None = Field(None, description="Why the clips look like noise, on the tiny model.")
    lora_strength: float = 1.0


@router.post("/generate")
def generate_clips(req: StudioRequest, db: DbDep, workspace: WorkspaceDep, settings: SettingsDep) -> StudioResult:
    """Generate with the LoRA (and without it, same seed) as a ``studio`` job; returns the clips' URLs."""
    from tools.jobs import JOB_KINDS
    from tools.studio import StudioRender, generate_clips as render_clips

    lora_path, model = _lora_and_model(req, db, workspace, settings)
    if req.model:  # the as-is comparison: the LoRA on another base, beside that base alone
        from tools.evaluate.source import on_model

        model = on_model(model, req.model)
    _check_frames(model.id, req.frames)  # a 400 now, not a render job that loads the model and then fails
    reference = _reference(req, lora_path, db, workspace)  # an IC-LoRA without one is a 400, before any render
    render = StudioRender(
        lora_path=str(lora_path), model=model.model_dump(mode="json"), prompt=req.prompt, seed=req.seed,
        compare=req.compare, width=req.width, height=req.height, frames=req.frames, steps=req.steps,
        lora_strength=req.lora_strength, negative_prompt=req.negative_prompt,
        reference={**vars(reference), "path": str(reference.path)} if reference else None)
    job, out = render_clips(render, workspace=workspace, runners=JOB_KINDS)
    return StudioResult(
        id=job.job_id, model_id=out["model_id"], prompt=req.prompt, seed=req.seed,
        with_lora=_clip(workspace, out["with_lora"]),
        without_lora=_clip(workspace, out["without_lora"]) if out.get("without_lora") else None,
        seconds=out["seconds"], note=TINY_NOTE if out.get("tiny") else None, reference_name=out.get("reference_name"),
        lora_strength=req.lora_strength,
        reference=_clip(workspace, out["reference"]) if out.get("reference") else None,
    )


class LoraCheck(BaseModel):
    verdict: str = Field(description="The inspector's verdict for LTX-2.3: works, loads-but-invalid, broken, ...")
    text: str = Field(description="The verdict in plain words, and what to do.")
    trained_for: str | None = None
    trigger: str | None = None


@router.get("/check")
def check_lora(db: DbDep, workspace: WorkspaceDep, settings: SettingsDep, lora_job_id: str | None = None,
               lora_upload_id: str | None = None) -> LoraCheck:
    """Does this LoRA still work? The inspector's verdict in plain words, before anything renders."""
    from tools.inspect import inspect_lora

    req = _named_lora(lora_job_id, lora_upload_id)
    lora_path, _ = _lora_and_model(req, db, workspace, settings)
    report = inspect_lora(lora_path)
    verdict = report.verdict
    triggers = report.trigger_words or []
    text = " ".join(part for part in (verdict.reason, verdict.action) if part)
    return LoraCheck(verdict=verdict.status, text=text or verdict.status, trained_for=report.base_model.family,
                     trigger=triggers[0] if triggers else None)


class LoraInfoPublic(BaseModel):
    ic_lora: bool
    downscale_factor: int
    references: list[str]
    message: str


@router.get("/lora-info")
def lora_info(db: DbDep, workspace: WorkspaceDep, settings: SettingsDep, lora_job_id: str | None = None,
              lora_upload_id: str | None = None) -> LoraInfoPublic:
    """Whether the LoRA needs a reference (an IC-LoRA, from its metadata) and which its dataset offers."""
    from tools.references import reference_info

    req = _named_lora(lora_job_id, lora_upload_id)
    lora_path, _ = _lora_and_model(req, db, workspace, settings)
    return LoraInfoPublic(**reference_info(lora_path, _job_config(req, db)).model_dump())


def _named_lora(lora_job_id: str | None, lora_upload_id: str | None) -> StudioRequest:
    """The query's LoRA as a request; naming none or both is the client's mistake (400), not a server error."""
    if bool(lora_job_id) == bool(lora_upload_id):
        raise LoraportError("Name exactly one LoRA: ?lora_job_id= (a trained one) or ?lora_upload_id= (an upload).")
    return StudioRequest(lora_job_id=lora_job_id, lora_upload_id=lora_upload_id, prompt="-")


def _check_frames(model_id: str, frames: int | None) -> None:
    from trainer.models import get_model_spec

    spec = get_model_spec(model_id)
    if frames is not None and not spec.frames_ok(frames):
        step, rest = spec.frame_rule
        nearest = max(1, (frames - rest) // step * step + rest)
        raise LoraportError(f"{frames} frames: {model_id} renders {step}k+{rest} frames ({rest}, {step + rest}, "
                            f"{2 * step + rest}, ...); use {nearest}.")


def _job_config(req: StudioRequest, db) -> dict | None:
    return jobstore.get_job(db, req.lora_job_id).config if req.lora_job_id else None


def _reference(req: StudioRequest, lora_path: Path, db, workspace: Workspace):
    from tools.references import pick_reference

    upload_file = None
    if req.reference_upload_id:
        upload = load_upload(workspace, req.reference_upload_id)
        media = [f for f in upload.files if Path(f.name).suffix.lower() in MEDIA_EXTS]
        if upload.kind != "dataset" or len(media) != 1:
            raise LoraportError(f"Upload {upload.id} is not one image or clip: upload a single reference file.")
        upload_file = Path(upload.path) / media[0].name
    return pick_reference(lora_path, config=_job_config(req, db), upload_file=upload_file, media=req.reference_media)


def _lora_and_model(req: StudioRequest, db, workspace: Workspace, settings: Settings) -> tuple[Path, ModelConfig]:
    if req.lora_job_id:
        job = jobstore.get_job(db, req.lora_job_id)
        if not job.lora_path or not Path(job.lora_path).is_file():
            raise LoraportError(f"Job {job.job_id} has no LoRA yet ({job.status}): pick a finished training.")
        return Path(job.lora_path), ModelConfig.model_validate((job.config or {}).get("model") or {})
    upload = load_upload(workspace, req.lora_upload_id)
    if upload.kind != "lora":
        raise LoraportError(f"Upload {upload.id} is a dataset, not a LoRA: upload a .safetensors file.")
    model = ModelConfig(id=settings.default_model, path=settings.model_path,
                        text_encoder_path=settings.text_encoder_path)
    return Path(upload.path), model


def _clip(workspace: Workspace, files: dict) -> Clip:
    """A rendered clip (``{"mp4", "sheet"}`` of the studio job's result) as URLs the panel can load."""
    return Clip(video_url=file_url(workspace, files["mp4"]), sheet_url=file_url(workspace, files["sheet"]))
