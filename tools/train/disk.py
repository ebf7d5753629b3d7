"""Will the run fit on the disk? The plan's disk estimate held against the free space of the workspace.

Checked before a run is queued (``launch`` refuses a run that cannot fit) and shown in the approval, so a user
learns it before the GPU time is spent, not at the first checkpoint an hour in.
"""

from pydantic import BaseModel, Field

from core.disk import MiB, ensure_free, free_space, human_bytes
from core.workspace import Workspace
from tools.plan.estimate import DiskMB, disk_need
from trainer.config import TrainConfig
from trainer.media import is_media

HEADROOM = 1.2  # estimates of compressed samples and caches are rough: ask for a fifth more than they say


class DiskCheck(BaseModel):
    need_mb: float = Field(description="What the run will write, with headroom (MB).")
    free_mb: float = Field(description="Free space on the disk that holds the workspace (MB).")
    fits: bool
    parts: DiskMB
    folder: str = Field(description="Where the run writes: the workspace.")

    def summary(self) -> str:
        p = self.parts
        verdict = "fits" if self.fits else "does NOT fit"
        return (f"Disk: needs about {human_bytes(self.need_mb * MiB)} (cache {p.cache:.0f} MB, checkpoints "
                f"{p.checkpoints:.0f} MB, samples {p.samples:.0f} MB, LoRA {p.lora:.1f} MB); "
                f"{human_bytes(self.free_mb * MiB)} free in {self.folder}: {verdict}.")


def check_disk(config: TrainConfig, workspace: Workspace) -> DiskCheck:
    """The run's disk need (cache, checkpoints, samples, export) against the workspace's free space."""
    folder = config.data.dataset_dir
    n_items = sum(1 for p in folder.rglob("*") if is_media(p)) if folder.is_dir() else 1
    parts = disk_need(config, max(1, n_items))
    need = parts.total * HEADROOM
    free = free_space(workspace.home) / MiB
    return DiskCheck(need_mb=round(need, 2), free_mb=round(free, 1), fits=free >= need, parts=parts,
                     folder=str(workspace.home))


def require_disk(config: TrainConfig, workspace: Workspace) -> DiskCheck:
    """``check_disk``, raising a plain error when the run cannot fit."""
    check = check_disk(config, workspace)
    ensure_free(workspace.home, int(check.need_mb * MiB), "this training run (cache, checkpoints, samples and "
                "the exported LoRA)")
    return check
