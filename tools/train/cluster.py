"""Jobs on a Ray cluster: what each job asks of it, and the executor the worker uses when one is configured.

With ``LORAPORT_RAY_ADDRESS`` unset, ``cluster_executor`` returns None and the local worker runs everything as
before. The ask comes from the plan's figures: the tiny model runs on one CPU; a real model's training takes
``ray_gpus_per_job`` GPUs, each with the memory its tier needs (the standard tier's 80 GB class, or the
low-VRAM tier's 24 GB floor when the base weights are 8-bit); captioning with a vision-language model and
evaluation / Studio renders of a real model ask for one GPU.
"""

from collections.abc import Callable, Mapping

from core.settings import Settings, get_settings
from tools.plan.hardware import LOW_VRAM_MIN_GB, STANDARD_MIN_GB
from trainer.cluster.resources import Resources
from trainer.jobs import JobRecord


def job_resources(job: JobRecord, settings: Settings | None = None) -> Resources:
    """What ``job`` needs from the cluster: GPUs, the memory of each GPU, CPUs."""
    settings = settings or get_settings()
    cfg = job.config or {}
    if job.kind == "train":
        model = cfg.get("model") or {}
        return _model_resources(str(model.get("id") or job.model_id or settings.default_model),
                                int8=model.get("quantize_base") == "int8", gpus=settings.ray_gpus_per_job,
                                what="training")
    if job.kind == "caption":
        vlm = cfg.get("backend") in ("auto", "vlm") and settings.caption_model
        return Resources(num_gpus=1 if vlm else 0, gpu_optional=True,
                         why="captioning with a vision-language model" if vlm else "captioning without a model")
    if job.kind in ("evaluate", "studio"):
        model = str((cfg.get("model") or {}).get("id") or job.model_id or settings.default_model)
        return _model_resources(model, int8=False, gpus=1, what="rendering")
    return Resources(why=f"a {job.kind} job")


def _model_resources(model: str, *, int8: bool, gpus: int, what: str) -> Resources:
    if model.startswith("tiny-"):
        return Resources(why=f"{what} on {model}, the tiny model, runs on one CPU")
    need = LOW_VRAM_MIN_GB if int8 else STANDARD_MIN_GB
    tier = "low-VRAM tier (8-bit base weights)" if int8 else "standard tier (bf16 base weights)"
    return Resources(num_gpus=gpus, gpu_memory_gb=need, why=f"{what} on {model}, {tier}")


def cluster_executor(runners: Mapping[str, Callable], settings: Settings | None = None):
    """The Ray executor when ``LORAPORT_RAY_ADDRESS`` is set (joins the cluster now), else None."""
    settings = settings or get_settings()
    if not settings.ray_address:
        return None
    from trainer.cluster.executor import RayExecutor

    return RayExecutor(settings.ray_address, runners, resources_for=lambda job: job_resources(job, settings))
