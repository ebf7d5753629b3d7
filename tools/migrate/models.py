"""The shapes of a library migration: one item per LoRA file, the batch plan the user approves, the final table."""

from typing import Any, Literal

from pydantic import BaseModel, Field

MatchedBy = Literal["stem", "metadata", "user"]


class MigrationItem(BaseModel):
    """One LoRA file of the folder: migrated (with its own plan) or skipped (with the reason)."""

    file: str
    name: str = Field(description="The file's stem, the LoRA's name in every table.")
    action: Literal["migrate", "skip"]
    reason: str = Field(description="Why it is skipped, or what the inspection found.")
    made_for: str | None = Field(None, description="The base model family the inspection found.")
    note: str | None = Field(None, description="What the user should know before approving (an assumption, ...).")
    clips: str | None = Field(None, description="The clip folder it retrains from.")
    matched_by: MatchedBy | None = None
    recipe: str | None = None
    trigger: str | None = None
    steps: int | None = None
    model_id: str | None = None
    seconds: float = Field(0.0, description="Estimated training time.")
    gpus: int = Field(0, description="GPUs one run takes (0: the CPU).")
    config: dict[str, Any] | None = Field(None, description="The resolved TrainConfig (JSON).")


class MigrationPlan(BaseModel):
    """What ``loraport migrate`` asks the user to approve once: every item, the time and the GPU-hours."""

    folder: str
    datasets: str
    model_id: str | None
    items: list[MigrationItem]
    unmatched: list[str] = Field(default_factory=list, description="Names of LTX-2 LoRAs with no clip folder yet.")
    parallel: int = Field(1, description="Trainings that can run at once (GPUs of the cluster, or 1 locally).")
    total_seconds: float = Field(description="Sum of every training's estimate.")
    wall_seconds: float = Field(description="Expected time to the last result with `parallel` runs at once.")
    gpu_hours: float
    summary: str

    @property
    def to_migrate(self) -> list[MigrationItem]:
        return [i for i in self.items if i.action == "migrate"]


class BatchRow(BaseModel):
    """One line of the final table."""

    name: str
    file: str
    verdict: str = Field(description="good | weak | over-fit | broken (the evaluation), or skipped / failed / ...")
    trigger: str | None = None
    lora_path: str | None = None
    train_job: str | None = None
    eval_job: str | None = None
    retry: str = Field("", description="What to do next: nothing, a setting to change, a command, the skip reason.")


class BatchReport(BaseModel):
    batch_id: str
    done: bool
    rows: list[BatchRow]
    summary: str
