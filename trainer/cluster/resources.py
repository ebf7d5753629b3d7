"""What one job asks of the cluster, and whether any node can ever give it.

GPU memory is not one of Ray's built-in resources. A node declares its GPUs' memory as the custom resource
``gpu_memory_gb`` (the sum over its GPUs: ``ray start --num-gpus 2 --resources '{"gpu_memory_gb": 160}'``) and a
job asks ``num_gpus * gpu_memory_gb``; Ray subtracts it while the job runs. On a cluster where no node declares
it, the ask is dropped (every GPU is then taken to be large enough) and the job's start event says so.
"""

from pydantic import BaseModel, Field

from trainer.jobs import JobRecord
from trainer.models import is_tiny

GPU_MEMORY = "gpu_memory_gb"


class Resources(BaseModel):
    """One job's ask; ``why`` is shown to the user when no node can run it."""

    num_cpus: float = Field(1.0, ge=0)
    num_gpus: int = Field(0, ge=0, description="Whole GPUs; a training on several runs torchrun in its task.")
    gpu_memory_gb: float | None = Field(None, ge=0, description="Memory each GPU needs, in GiB.")
    memory_gb: float | None = Field(None, ge=0, description="CPU RAM the job needs, in GiB.")
    gpu_optional: bool = Field(False, description="Runs on CPU (slower) when no node has a GPU.")
    processes: int | None = Field(None, ge=1, description="Training processes in its task (torchrun); default: "
                                  "one per GPU. Several CPU processes (gloo) test the same path without a GPU.")
    beside_store: bool = Field(False, description="The job writes the store (SQLite): it runs on the dispatcher's "
                               "node, since SQLite must never be shared over a network filesystem.")
    why: str = ""

    def describe(self) -> str:
        parts = [f"{self.num_cpus:g} CPU"]
        if self.num_gpus:
            each = f" with {self.gpu_memory_gb:g} GB each" if self.gpu_memory_gb else ""
            parts.append(f"{self.num_gpus} GPU{'s' if self.num_gpus > 1 else ''}{each}")
        if self.memory_gb:
            parts.append(f"{self.memory_gb:g} GB RAM")
        return ", ".join(parts)


def default_resources(job: JobRecord) -> Resources:
    """The ask without a memory model: the tiny model on one CPU, a real model's training on one GPU."""
    model = (job.config.get("model") or {}).get("id") or job.model_id or ""
    if job.kind == "train" and model and not is_tiny(model):
        return Resources(num_gpus=1, why=f"{model} trains on a GPU")
    return Resources(why="a CPU job")


def ray_options(res: Resources, cluster_resources: dict[str, float]) -> tuple[dict, list[str]]:
    """Ray task options for ``res`` on this cluster, and notes on what was relaxed."""
    notes: list[str] = []
    opts: dict = {"num_cpus": res.num_cpus, "num_gpus": res.num_gpus}
    if res.num_gpus and res.gpu_optional and not cluster_resources.get("GPU"):
        opts["num_gpus"] = 0
        notes.append("no node has a GPU: running on CPU")
    if res.memory_gb:
        opts["memory"] = int(res.memory_gb * 2**30)
    if opts["num_gpus"] and res.gpu_memory_gb:
        if GPU_MEMORY in cluster_resources:
            opts["resources"] = {GPU_MEMORY: res.gpu_memory_gb * opts["num_gpus"]}
        else:
            notes.append(f"no node declares {GPU_MEMORY}, so GPU memory ({res.gpu_memory_gb:g} GB) is not checked")
    return opts, notes


def fits_somewhere(opts: dict, nodes: list[dict]) -> bool:
    """Whether one alive node has, in total, everything the task asks (Ray would otherwise wait forever)."""
    need = {"CPU": opts.get("num_cpus", 1), "GPU": opts.get("num_gpus", 0), "memory": opts.get("memory", 0),
            **(opts.get("resources") or {})}
    for node in nodes:
        if not node.get("Alive", node.get("alive", True)):
            continue
        have = node.get("Resources") or {}
        if all(have.get(name, 0) >= amount for name, amount in need.items() if amount):
            return True
    return False


def describe_nodes(nodes: list[dict]) -> str:
    out = []
    for node in nodes:
        if not node.get("Alive", True):
            continue
        have = node.get("Resources") or {}
        gpu = f", {have['GPU']:g} GPU" if have.get("GPU") else ""
        mem = f", {have[GPU_MEMORY]:g} GB GPU memory" if have.get(GPU_MEMORY) else ""
        ram = f", {have.get('memory', 0) / 2**30:.0f} GB RAM" if have.get("memory") else ""
        out.append(f"{node.get('NodeManagerAddress', '?')}: {have.get('CPU', 0):g} CPU{gpu}{mem}{ram}")
    return "; ".join(out) or "no alive node"
