"""What the job queue costs a training step: event writes, the cancel check, and a tiny run with and without it.

    .venv/bin/python bench/job_events.py [--events 300] [--train-steps 40] [--repeats 3]

Prints ms per event (fsync per commit vs the worker's synchronous=NORMAL), ms per cancel check, and the tiny
model's steady-state steps/s when run_training is called bare (no-op emit) and when the worker runs it as a job.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

# The repo root instead of bench/ itself: a bench script named like a stdlib module must not shadow it.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from core.store import open_db  # noqa: E402
from core.workspace import Workspace  # noqa: E402
from trainer import jobs, worker  # noqa: E402


def per_event_ms(workspace: Workspace, n: int, synchronous: str) -> float:
    db = open_db(workspace)
    db.conn.execute(f"PRAGMA synchronous = {synchronous}")
    job_id = jobs.enqueue(db, "bench", {"steps": n}, workspace=workspace)
    run_dir = workspace.run_dir(job_id)
    t = time.perf_counter()
    for step in range(n):
        jobs.append_event(db, run_dir, {"job_id": job_id, "kind": "bench", "type": "progress", "step": step,
                                        "total": n, "loss": 0.1, "it_per_s": 10.0, "eta_s": 1.0})
    return (time.perf_counter() - t) / n * 1000


def cancel_check_ms(workspace: Workspace, n: int) -> float:
    db = open_db(workspace)
    job_id = jobs.enqueue(db, "bench", {}, workspace=workspace)
    t = time.perf_counter()
    for _ in range(n):
        jobs.cancel_requested(db, job_id)
    return (time.perf_counter() - t) / n * 1000


def tiny_config(home: Path, steps: int):
    from tests.trainer.clips import make_clip
    from trainer.config import Bucket, CheckpointConfig, DataConfig, LoraConfig, OptimConfig, TrainConfig

    clips = home / "clips"
    for i in range(3):
        make_clip(clips / f"c{i}.mp4", frames=17, pattern="moving", color=(60 * i, 100, 200))
    return TrainConfig(data=DataConfig(dataset_dir=clips, buckets=[Bucket(width=64, height=64, frames=17)]),
                       lora=LoraConfig(rank=4, alpha=4), optim=OptimConfig(steps=steps),
                       checkpoints=CheckpointConfig(every=10**6))


def steady_steps_per_s(run_dir: Path) -> float:
    import json

    return json.loads((run_dir / "report.json").read_text())["timings"]["steps_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--train-steps", type=int, default=40, help="0 skips the training comparison")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Workspace(Path(tmp) / "home").ensure()
        full = per_event_ms(workspace, args.events, "FULL")
        normal = per_event_ms(workspace, args.events, "NORMAL")
        print(f"append_event: {full:.2f} ms/event with fsync per commit, {normal:.2f} ms with synchronous=NORMAL")
        print(f"cancel check (should_stop): {cancel_check_ms(workspace, 2000) * 1000:.1f} us")
        if args.train_steps:
            compare_training(workspace, Path(tmp), args.train_steps, args.repeats)


def compare_training(workspace: Workspace, tmp: Path, steps: int, repeats: int) -> None:
    """Interleaved runs, medians: on a shared CPU one run's speed swings by 2x, so a single pair means little."""
    from trainer.train import run_training

    config = tiny_config(tmp, steps)
    bare, queued = [], []
    for i in range(repeats):
        run_training(config, tmp / f"bare{i}", emit=lambda e: None, should_stop=lambda: False, resume=False)
        bare.append(steady_steps_per_s(tmp / f"bare{i}"))
        job_id = jobs.enqueue(open_db(workspace), "train", config, workspace=workspace)
        worker.run_job(workspace, job_id, device="cpu")
        queued.append(steady_steps_per_s(workspace.run_dir(job_id)))
    b, q = statistics.median(bare), statistics.median(queued)
    print(f"tiny model, {steps} steps x {repeats}: bare run_training {b:.2f} steps/s (runs {_fmt(bare)}), as a "
          f"worker job {q:.2f} steps/s (runs {_fmt(queued)}); median ratio {q / b:.3f}")


def _fmt(values: list[float]) -> str:
    return " ".join(f"{v:.1f}" for v in values)


if __name__ == "__main__":
    main()
