"""What is being evaluated: a job id, a run directory, or a LoRA file (with a dataset), resolved to one shape."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import LoraportError, NotFoundError
from trainer.config import TrainConfig

if TYPE_CHECKING:
    from tools.inspect.safetensors_header import Header


@dataclass
class Source:
    lora_path: Path
    config: TrainConfig
    job_id: str | None = None
    run_dir: Path | None = None
    train_report: dict | None = None  # the trainer's report.json: losses, holdout_curve, steps

    @property
    def steps(self) -> int | None:
        if self.train_report and self.train_report.get("steps") is not None:
            return int(self.train_report["steps"])
        return None


def resolve(lora_or_job: str | Path, dataset: str | Path | None = None, model: str | None = None, *,
            workspace=None, header: "Header | None" = None) -> Source:
    """A job id of this workspace, a run folder (runs/<job>/), or a .safetensors file; ``dataset`` overrides the
    run's dataset (a folder or an imported dataset id) and is required for a file trained elsewhere. ``model``
    puts the LoRA on another base than the one it was trained on (the as-is test), weights from the settings.
    ``header``: the file's safetensors header when the caller has read it already (not read again)."""
    ref = str(lora_or_job)
    path = Path(ref).expanduser()
    if path.is_dir():
        src = _from_run_dir(path, None)
    elif path.is_file():
        src = _from_file(path, dataset, header)
    elif "/" not in ref and not ref.endswith(".safetensors"):
        src = _from_job(ref, workspace)
    else:
        raise LoraportError(f"{ref} is neither a LoRA file, a run folder nor a job id: pass the .safetensors a "
                            "run produced, or its job id (loraport jobs list).")
    if dataset is not None:
        from tools.train.config import resolve_dataset

        data = src.config.data.model_copy(update={"dataset_dir": resolve_dataset(dataset)})
        src.config = src.config.model_copy(update={"data": data})
    if model is not None and model != src.config.model.id:
        src.config = src.config.model_copy(update={"model": on_model(src.config.model, model)})
    return src


def on_model(current, model_id: str):
    """``current`` (a ModelConfig) moved to ``model_id``: that model's local weights, the same dtype and
    quantisation. The run's buckets stay: every LTX-2.x model takes the same frame and size rules."""
    from tools.plan.versions import weights_for
    from trainer.models import get_model_spec

    get_model_spec(model_id)  # an unknown id is refused here, naming the choices
    path, te = weights_for(model_id)
    return current.model_copy(update={"id": model_id, "path": path, "text_encoder_path": te})


def _from_job(job_id: str, workspace) -> Source:
    from core.store import open_db
    from core.workspace import Workspace
    from trainer.jobs import get_job

    try:
        job = get_job(open_db(workspace or Workspace.from_settings()), job_id)
    except NotFoundError:
        raise NotFoundError(f"there is no job {job_id!r} and no file of that name: pass a LoRA path or a job id "
                            "from `loraport jobs list`.") from None
    if job.kind != "train":
        raise LoraportError(f"job {job_id} is a {job.kind} job, not a training run: evaluate a train job.")
    if job.status not in ("finished", "cancelled"):
        raise LoraportError(f"job {job_id} is {job.status}: evaluate it once it has finished.")
    return _from_run_dir(Path(job.run_dir), job_id, job.lora_path)


def _from_run_dir(run_dir: Path, job_id: str | None, lora_path: str | None = None) -> Source:
    cfg_file, lora = run_dir / "config.json", Path(lora_path) if lora_path else run_dir / "lora.safetensors"
    if not cfg_file.is_file() or not lora.is_file():
        raise LoraportError(f"{run_dir} is not a finished run folder (it needs config.json and lora.safetensors): "
                            "pass the LoRA file and --dataset instead.")
    try:
        config = TrainConfig.model_validate_json(cfg_file.read_text())
    except ValueError as err:
        raise LoraportError(f"{cfg_file} is not a loraport training config ({err}); pass the LoRA file and "
                            "--dataset instead.") from None
    report = _read_json(run_dir / "report.json")
    return Source(lora_path=lora, config=config, job_id=job_id or run_dir.name, run_dir=run_dir, train_report=report)


def _from_file(path: Path, dataset: str | Path | None, header: "Header | None" = None) -> Source:
    run_dir = path.parent
    if (run_dir / "config.json").is_file() and path.suffix == ".safetensors":
        src = _from_run_dir(run_dir, None, str(path))
        if path.name != "lora.safetensors":
            src.train_report = None  # an exported checkpoint: the run's curves are not this file's
        return src
    if dataset is None:
        raise LoraportError(f"{path.name} was not trained in this workspace, so the clips to measure it on are "
                            "unknown: pass --dataset FOLDER (or a dataset id).")
    return Source(lora_path=path, config=_config_from_metadata(path, dataset, header))


def _config_from_metadata(path: Path, dataset: str | Path, header: "Header | None" = None) -> TrainConfig:
    """A config for a LoRA made elsewhere: model, trigger and buckets from its metadata where present."""
    from core.settings import get_settings
    from tools.inspect.safetensors_header import read_header
    from tools.train.config import resolve_dataset
    from trainer.models import get_model_spec

    md = (header or read_header(path)).metadata  # bounded header read; a bad file raises LoraportError naming it
    model_id = md.get("loraport.base_model") or get_settings().default_model
    spec = get_model_spec(model_id)
    buckets = [b.model_dump() for b in spec.default_buckets]
    if md.get("loraport.buckets"):
        try:
            buckets = json.loads(md["loraport.buckets"])
        except ValueError:
            pass  # keep the model's default buckets
    from trainer.ic_marks import lora_names
    from trainer.reference import reference_settings

    # an IC-LoRA (ours, ltx-trainer's, musubi's) is rendered and scored with references
    ref = reference_settings(md, lora_names(path, md))
    strategy = {"name": "ic-lora", "reference_downscale_factor": ref.downscale_factor} if ref.ic_lora else {}
    try:
        return TrainConfig.model_validate({
            "recipe": md.get("loraport.recipe") or None, "model": {"id": model_id}, "strategy": strategy,
            "lora": {"rank": int(md.get("loraport.rank") or 32), "alpha": float(md.get("loraport.rank") or 32)},
            "data": {"dataset_dir": str(resolve_dataset(dataset)), "buckets": buckets,
                     "trigger_word": md.get("loraport.trigger_word") or md.get("modelspec.trigger_phrase") or None}})
    except ValueError as err:
        raise LoraportError(f"{path.name}'s metadata does not describe a usable run ({err}): pass a LoRA made "
                            "for an LTX-2.x model.") from None


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
