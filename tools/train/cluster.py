"""Jobs on a Ray cluster: what each job asks of it, and the executor the worker uses when one is configured.

With ``LORAPORT_RAY_ADDRESS`` unset, ``cluster_executor`` returns None and the local worker runs everything as
before. The ask comes from the plan's figures: the tiny model runs on one CPU; a real model's training takes
``ray_gpus_per_job`` GPUs, each with the memory the memory model predicts for the job's config (its bucket, rank
and memory techniques); captioning with a vision-language model and
evaluation / Studio renders of a real model ask for one GPU.
"""

from collections.abc import Callable, Mapping

from core.settings import Settings, get_settings
from trainer.cluster.resources import Resources
from trainer.jobs import JobRecord
from trainer.models import is_tiny


STANDARD_RENDER_GB = 70.0  # rendering keeps the bf16 transformer (35 GiB) and its activations on the GPU


def job_resources(job: JobRecord, settings: Settings | None = None) -> Resources:
    """What ``job`` needs from the cluster: GPUs, the memory of each GPU, CPUs."""
    settings = settings or get_settings()
    cfg = job.config or {}
    if job.kind == "train":
        model = cfg.get("model") or {}
        return _model_resources(str(model.get("id") or job.model_id or settings.default_model),
                                config=cfg, gpus=settings.ray_gpus_per_job, what="training")
    if job.kind == "caption":  # it stores each caption in the workspace's store: it runs beside it
        vlm = cfg.get("backend") in ("auto", "vlm") and settings.caption_model
        return Resources(num_gpus=1 if vlm else 0, gpu_optional=True, beside_store=True,
                         why="captioning with a vision-language model" if vlm else "captioning without a model")
    if job.kind in ("evaluate", "studio"):
        model = str((cfg.get("model") or {}).get("id") or job.model_id or _parent_model(job)
                    or settings.default_model)
        return _model_resources(model, config=None, gpus=1, what="rendering")
    return Resources(why=f"a {job.kind} job")


def _parent_model(job: JobRecord) -> str | None:
    """The model of the training an evaluation is about (its run's ``config.json``, beside this job's run dir)."""
    import json
    from pathlib import Path

    if not job.parent_job_id:
        return None
    config = Path(job.run_dir).parent / job.parent_job_id / "config.json"
    try:
        return (json.loads(config.read_text()).get("model") or {}).get("id")
    except (OSError, ValueError, AttributeError):
        return None


def _model_resources(model: str, *, config: dict | None, gpus: int, what: str) -> Resources:
    if is_tiny(model):
        return Resources(why=f"{what} on {model}, the tiny model, runs on one CPU")
    from tools.plan.memory import predict_config
    from trainer.config import TrainConfig

    if config:  # training: the predicted peak of its largest phase, with the techniques it was planned with
        peak = predict_config(TrainConfig.model_validate(config)).peak_gib
        return Resources(num_gpus=gpus, gpu_memory_gb=round(peak + 0.5, 1),
                         why=f"{what} on {model}: predicted peak {peak:.1f} GiB with its memory techniques")
    return Resources(num_gpus=gpus, gpu_memory_gb=STANDARD_RENDER_GB,
                     why=f"{what} on {model} in bf16 (transformer, VAE and vocoder on one GPU)")


def cluster_executor(runners: Mapping[str, Callable], settings: Settings | None = None, *,
                     job_id: str | None = None):
    """The Ray executor when ``LORAPORT_RAY_ADDRESS`` is set (joins the cluster now), else None; with ``job_id``
    it takes only that job (the foreground of `loraport train`)."""
    settings = settings or get_settings()
    if not settings.ray_address:
        return None
    from trainer.cluster.executor import RayExecutor

    runners = {**runners, **({"evaluate": run_evaluate_from_run_dir} if "evaluate" in runners else {})}
    return RayExecutor(settings.ray_address, runners, resources_for=lambda job: job_resources(job, settings),
                       job_id=job_id)


def run_evaluate_from_run_dir(workspace, job: JobRecord, emit, should_stop) -> dict:
    """``evaluate`` on a cluster node: the trained job is named by its run folder (runs/<job-id>/, on the shared
    workspace) instead of its id, so the evaluation reads files only, never the store from another machine."""
    from pathlib import Path

    from tools.evaluate.jobs import run_evaluate_job

    ref = str(job.config.get("lora_or_job") or "")
    run_dir = Path(job.run_dir).parent / ref
    if ref and "/" not in ref and not ref.endswith(".safetensors") and (run_dir / "config.json").is_file():
        job = job.model_copy(update={"config": {**job.config, "lora_or_job": str(run_dir)}})
    return run_evaluate_job(workspace, job, emit, should_stop)


def _snapshot_nodes(workspace, settings: Settings | None) -> list[dict]:
    """The nodes the worker's executor last saw (``cluster.json``); empty without Ray or before its first look."""
    import json

    settings = settings or get_settings()
    snapshot = workspace.home / "cluster.json"
    if not settings.ray_address or not snapshot.is_file():
        return []
    return [n.get("resources") or {} for n in json.loads(snapshot.read_text()).get("nodes", [])]


def cluster_hardware(workspace, settings: Settings | None = None):
    """The cluster's best node as a plan's ``Hardware`` (from the worker's ``cluster.json``), or None without Ray.

    A plan made on the server (which may have no GPU) must pick its tier for the machines that will run it. A
    GPU's memory is known only where its node declares ``gpu_memory_gb``; without it the plan cannot tell the
    tier and says so, as for a machine without a GPU.
    """
    from tools.plan.hardware import Hardware
    from trainer.cluster.resources import GPU_MEMORY

    nodes = _snapshot_nodes(workspace, settings)
    if not nodes:
        return None
    best = max(nodes, key=lambda r: (r.get(GPU_MEMORY, 0) / max(r.get("GPU", 0), 1), r.get("GPU", 0)))
    gpus = int(sum(r.get("GPU", 0) for r in nodes))
    per_gpu = best[GPU_MEMORY] / best["GPU"] if best.get("GPU") and best.get(GPU_MEMORY) else None
    return Hardware(device="cuda" if gpus else "cpu", name=f"Ray cluster ({len(nodes)} node(s), {gpus} GPU(s))",
                    vram_gb=round(per_gpu, 1) if per_gpu else None, gpu_count=gpus, bf16=bool(gpus),
                    cpu_threads=max(1, int(best.get("CPU", 1))),
                    ram_gb=round(best.get("memory", 0) / 2**30, 1) or None)


def cluster_slots(workspace, settings: Settings | None = None) -> int:
    """Trainings that run at once on the cluster: its GPUs, or its CPUs when it has none; 1 without Ray."""
    nodes = _snapshot_nodes(workspace, settings)
    gpus = sum(r.get("GPU", 0) for r in nodes)
    return max(1, int(gpus or sum(r.get("CPU", 0) for r in nodes)))
