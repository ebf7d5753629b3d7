"""Studio generation as a ``studio`` job: one clip with a LoRA and, at the same seed, one without it.

The web route resolves what to render (the LoRA file, the base model, an IC-LoRA's reference) and refuses a bad
request before anything is queued; the render runs here, as a job of the worker that owns the device, so a
render and a training never share a GPU. To give Studio a new input (a reference, a sound track), add it to
``StudioRender`` and use it in ``run_studio_job``; what it writes goes into the job's result, which
``generate_clips`` returns to the route.
"""

import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from core.errors import LoraportError
from core.store import open_db
from core.workspace import Workspace
from trainer import jobs as jobstore
from trainer.jobs import JobRecord

KIND = "studio"


class StudioRender(BaseModel):
    """Everything one render needs, resolved by the caller: the job's config."""

    lora_path: str
    model: dict = Field(description="The base model as ModelConfig JSON (the LoRA's own, or the as-is target).")
    prompt: str
    seed: int = 42
    compare: bool = Field(True, description="Also render without the LoRA at the same seed.")
    width: int | None = None
    height: int | None = None
    frames: int | None = None
    steps: int | None = None
    lora_strength: float = 1.0
    negative_prompt: str | None = None
    reference: dict | None = Field(None, description="IC-LoRA: trainer.reference.Reference fields (path as text).")


def enqueue_studio_job(render: StudioRender, *, workspace: Workspace, thread_id: str | None = None) -> str:
    """Queue a render; the worker (or ``generate_clips`` when none runs) renders it into the job's folder."""
    return jobstore.enqueue(open_db(workspace), KIND, render.model_dump(mode="json"), thread_id=thread_id,
                            workspace=workspace)


def generate_clips(render: StudioRender, *, workspace: Workspace, runners: dict) -> tuple[JobRecord, dict]:
    """Queue the render and wait for it: the running worker renders it; without one it renders in this process
    (as ``loraport train`` runs a job in the foreground). Returns the finished job and its result."""
    from trainer.worker import live_workers, run_job

    job_id = enqueue_studio_job(render, workspace=workspace)
    db = open_db(workspace)
    if live_workers(workspace):
        for _ in jobstore.follow(db, job_id):
            pass
        record = jobstore.get_job(db, job_id)
    else:
        record = run_job(workspace, job_id, runners=runners)
    if record.status != "finished":
        raise LoraportError(_plain(record.error) or f"the render ended {record.status}.")
    return record, record.result if isinstance(record.result, dict) else {}


def run_studio_job(workspace: Workspace, job: JobRecord, emit: Callable[[dict], None],
                   should_stop: Callable[[], bool]) -> dict:
    """The worker's runner for ``studio`` jobs: the clip with the LoRA, then (``compare``) the one without."""
    from trainer.config import GuidanceConfig, ModelConfig
    from trainer.models import load_components
    from trainer.reference import Reference
    from trainer.sample import generate
    from trainer.worker import default_device

    render = StudioRender.model_validate(job.config)
    model = ModelConfig.model_validate(render.model)
    lora_path, out = Path(render.lora_path), Path(job.run_dir)
    reference = Reference(**{**render.reference, "path": Path(render.reference["path"])}) if render.reference else None
    guidance = (GuidanceConfig(negative_prompt=render.negative_prompt.strip())
                if render.negative_prompt and render.negative_prompt.strip() else None)
    size = dict(width=render.width, height=render.height, frames=render.frames, steps=render.steps,
                guidance=guidance, reference=reference)  # None: the model's defaults
    started = time.perf_counter()
    components = load_components(model, default_device())
    emit({"type": "progress", "step": 1, "total": 2 if render.compare else 1, "message": "with the LoRA"})
    with_lora = _render_with(lora_path, model.id, lambda: generate(
        components, render.prompt, lora_path=lora_path, lora_scale=render.lora_strength, seed=render.seed,
        out_dir=out, name="with-lora", **size))
    without = None
    if render.compare and not should_stop():
        emit({"type": "progress", "step": 2, "total": 2, "message": "without the LoRA"})
        without = generate(components, render.prompt, seed=render.seed, out_dir=out, name="without-lora", **size)
    return {"model_id": model.id, "tiny": bool(components.spec.tiny), "seconds": round(time.perf_counter() - started, 2),
            "with_lora": _files(with_lora), "without_lora": _files(without) if without else None,
            "reference": _reference_files(with_lora, out), "reference_name": with_lora.reference,
            "steps": 2 if without else 1}


def _files(result) -> dict:
    return {"mp4": str(result.mp4_path), "sheet": str(result.sheet_path)}


def _reference_files(result, out: Path) -> dict | None:
    """The reference as the pipeline read it, as its own clip and sheet (shown beside both generations)."""
    if result.reference_frames is None:
        return None
    from trainer.media import contact_sheet, write_mp4

    return {"mp4": str(write_mp4(result.reference_frames, out / "reference.mp4")),
            "sheet": str(contact_sheet(result.reference_frames, out / "reference.png"))}


def _render_with(lora_path: Path, model_id: str, render):
    """Render with the LoRA; weights that do not fit this base become a plain sentence, not a traceback."""
    try:
        return render()
    except LoraportError as err:
        if "does not load" not in err.message:
            raise
    except (RuntimeError, ValueError, KeyError):  # shape or key mismatches from the LoRA loader
        pass
    from tools.inspect import inspect_lora
    from tools.inspect.report import TARGETS
    from trainer.models import get_model_spec

    target = f"ltx-{get_model_spec(model_id).version}"  # judged for the base it was rendered on
    target = target if target in TARGETS else "ltx-2.3"
    version = target.removeprefix("ltx-")
    report = inspect_lora(lora_path, target=target)
    raise LoraportError(f"{lora_path.name} does not load on {model_id}: it was made for "
                        f"{report.base_model.family or 'another model'} and its layers have other sizes than this "
                        f"model's. Verdict for LTX-{version}: {report.verdict.status}. {report.verdict.reason} "
                        f"{report.verdict.action}".strip()) from None


def _plain(error: str | None) -> str | None:
    """A failed job's message for the person in the browser: without the worker's note of where the traceback is."""
    return error.split(" (traceback: ")[0] if error else error
