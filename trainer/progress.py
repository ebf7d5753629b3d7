"""Progress of a training run: steady-state speed and ETA, peak memory, and the losses.jsonl rows."""

import json
import time
from pathlib import Path

import torch

STEADY_AFTER = 2  # steps after (re)start excluded from speed and ETA: the first ones pay for warm-up


class StepTimer:
    """it/s and ETA from steady-state step time only: the first steps after a (re)start pay for warm-up, and
    checkpoints and validation samples happen between start() and stop() of no step."""

    def __init__(self):
        self.count, self.t0 = 0, 0.0
        self.steady_time, self.steady_steps = 0.0, 0

    def start(self) -> None:
        self.t0 = time.perf_counter()

    def stop(self) -> None:
        self.count += 1
        if self.count > STEADY_AFTER:
            self.steady_time += time.perf_counter() - self.t0
            self.steady_steps += 1

    def steps_per_s(self) -> float | None:
        return self.steady_steps / self.steady_time if self.steady_steps and self.steady_time > 0 else None

    def progress(self, step: int, total: int, loss: float, lr: float) -> dict:
        rate = self.steps_per_s()
        return {"type": "progress", "step": step, "total": total, "loss": loss, "lr": lr, "it_per_s": rate,
                "eta_s": (total - step) / rate if rate else None, "peak_mem_mb": peak_mem_mb()}


def peak_mem_mb() -> float:
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    import resource  # noqa: PLC0415  (POSIX only; CPU runs report the process's peak RSS)

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_jsonl(path: Path, rows: list[dict]) -> None:
    from core.atomic import atomic_write_text  # noqa: PLC0415

    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in rows))


def append_jsonl(path: Path, row: dict) -> None:
    # Appends are not atomic; a torn last line is rewritten from the checkpoint's history on resume.
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")


def read_jsonl(path: Path) -> list[dict]:
    """The rows of a JSON-lines file (none if it is missing); a torn line from a crash mid-append is skipped."""
    rows = []
    for line in path.read_text().splitlines() if path.is_file() else []:
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows
