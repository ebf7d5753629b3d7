"""The one event shape that flows from the engine to every surface (jobs, the worker, the CLI, the web panel and the bots)."""

import time
from typing import Literal

from pydantic import BaseModel, Field

EventType = Literal[
    "queued", "started", "progress", "checkpoint", "sample", "finished", "failed", "cancelled", "interrupted"
]


class JobEvent(BaseModel):
    job_id: str
    kind: str = Field(description="Job kind: train | caption | preprocess | evaluate.")
    type: EventType
    step: int | None = None
    total: int | None = None
    loss: float | None = None
    lr: float | None = None
    it_per_s: float | None = None
    eta_s: float | None = None
    peak_mem_mb: float | None = None
    path: str | None = None
    message: str | None = None
    ts: float = Field(default_factory=time.time)

    @property
    def is_terminal(self) -> bool:
        return self.type in ("finished", "failed", "cancelled")
