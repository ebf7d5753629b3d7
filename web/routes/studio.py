"""LoRA Studio: generate one clip with a LoRA and, at the same seed, one without it, to compare side by side."""

import secrets
import threading
import time
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
from web.uploads import load_upload

router = APIRouter(prefix="/api/studio", tags=["studio"])
_one_at_a_time = threading.Lock()  # generation takes the whole CPU/GPU; a second request waits its turn
TINY_NOTE = ("tiny-ltx-2.3 has random weights: its clips are noise. They show the pipeline works end to end, "
             "not what your LoRA looks like; use ltx-2.3 weights for real previews.")


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
    seconds: float
    note: str | None = Field(None, description="Why the clips look like noise, on the tiny model.")


@router.post("/generate")
def generate_clips(req: StudioRequest, db: DbDep, workspace: WorkspaceDep, settings: SettingsDep) -> StudioResult:
    """Generate with the LoRA (and without it, same seed); returns the clips' URLs."""
    from trainer.models import load_components
    from trainer.sample import generate
    from trainer.worker import default_device

    lora_path, model = _lora_and_model(req, db, workspace, settings)
    size = dict(width=req.width, height=req.height, frames=req.frames, steps=req.steps)  # None: the model's default
    gen_id = f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    out = workspace.home / "studio" / gen_id
    started = time.perf_counter()
    with _one_at_a_time:
        components = load_components(model, default_device())
        with_lora = generate(components, req.prompt, lora_path=lora_path, seed=req.seed, out_dir=out, name="with-lora",
                             **size)
        without = (generate(components, req.prompt, seed=req.seed, out_dir=out, name="without-lora", **size)
                   if req.compare else None)
    return StudioResult(
        id=gen_id, model_id=model.id, prompt=req.prompt, seed=req.seed, with_lora=_clip(workspace, with_lora),
        without_lora=_clip(workspace, without) if without else None, seconds=round(time.perf_counter() - started, 2),
        note=TINY_NOTE if components.spec.tiny else None,
    )


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


def _clip(workspace: Workspace, result) -> Clip:
    return Clip(video_url=file_url(workspace, result.mp4_path), sheet_url=file_url(workspace, result.sheet_path))
