"""A tiny job kind for queue and worker tests: counts steps, checkpoints a JSON state, resumes from it.

It stands in for training where a test is about the queue, not the model: it obeys the same runner contract
(emit progress/checkpoint events, poll ``should_stop`` every step, resume from ``checkpoints/step-XXXXXX``).
Config: ``{"steps": N, "sleep_s": s, "checkpoint_every": k, "fail_at": step | None}``.
"""

import json
import sys
import time
from pathlib import Path

from core.atomic import atomic_replace_dir, atomic_write_json
from trainer.checkpoints import latest_checkpoint
from trainer.worker import JOB_RUNNERS, run_worker


def count_runner(workspace, job, emit, should_stop) -> dict:
    cfg, run_dir = job.config, Path(job.run_dir)
    latest = latest_checkpoint(run_dir / "checkpoints")
    start = json.loads((latest / "state.json").read_text())["step"] if latest else 0
    step = start
    while step < cfg["steps"]:
        if should_stop():
            break
        step += 1
        if cfg.get("fail_at") == step:
            raise ValueError(f"boom at step {step}")
        time.sleep(cfg.get("sleep_s", 0))
        emit({"type": "progress", "step": step, "total": cfg["steps"], "loss": 1.0 / step})
        if step % cfg.get("checkpoint_every", 10**9) == 0:
            tmp = run_dir / "checkpoints" / f".step-{step:06d}.tmp"
            atomic_write_json(tmp / "state.json", {"step": step})
            ckpt = atomic_replace_dir(tmp, run_dir / "checkpoints" / f"step-{step:06d}")
            emit({"type": "checkpoint", "step": step, "path": str(ckpt)})
    out = atomic_write_json(run_dir / "out.json", {"steps": step, "resumed_at": start})
    return {"steps": step, "final_loss": 1.0 / max(step, 1), "lora_path": str(out), "resumed_at": start}


RUNNERS = {**JOB_RUNNERS, "count": count_runner}  # the runners a worker for these tests is handed


if __name__ == "__main__":  # a worker process that can run `count` jobs: python -m tests.trainer.fake_jobs HOME
    from core.workspace import Workspace

    run_worker(Workspace(Path(sys.argv[1])).ensure(), poll_s=0.05, device="cpu", runners=RUNNERS)
