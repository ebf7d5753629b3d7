"""How good is the plan's time estimate? Plan a tiny-model run (measured calibration), then train it for real.

Prints the calibration cost, the estimate's range and per-step time, the real run's wall time and per-step time,
and whether the real time fell inside the range. Runs in a temporary workspace on synthetic clips.

    .venv/bin/python bench/plan_estimate.py [--steps 60] [--clips 6]
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # bench/inspect.py would shadow the stdlib's inspect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--clips", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LORAPORT_HOME"] = str(Path(tmp) / "home")
        import torch

        torch.set_num_threads(1)
        from tests.trainer.clips import make_clip
        from tools.plan.estimate import human_duration
        from tools.plan.service import plan
        from trainer.train import run_training

        for i in range(args.clips):
            make_clip(Path(tmp) / "clips" / f"c{i}.mp4", frames=17, size=(96, 64), color=(40 * i % 255, 90, 30),
                      pattern="moving")
        t0 = time.perf_counter()
        p = plan("character", Path(tmp) / "clips", overrides={"steps": str(args.steps), "validation_every": "0"})
        t_plan = time.perf_counter() - t0
        e = p.estimate
        print(f"plan (incl. calibration): {t_plan:.2f} s; basis {e.basis}; buckets "
              f"{', '.join(p.settings['buckets'].value)}")
        print(f"estimate: {e.seconds_low:.1f}-{e.seconds_high:.1f} s for {e.steps} steps, {e.per_step_s:.4f} s/step, "
              f"preprocess {e.preprocess_s:.1f} s, sampling {e.sampling_s:.1f} s")
        t0 = time.perf_counter()
        run_training(p.config, Path(tmp) / "run")
        wall = time.perf_counter() - t0
        real = _steps_per_s(Path(tmp) / "run" / "report.json")
        print(f"real run: {wall:.1f} s ({human_duration(wall)}), {1 / real:.4f} s/step steady" if real else
              f"real run: {wall:.1f} s")
        inside = e.seconds_low <= wall <= e.seconds_high
        print(f"real time inside the estimate's range: {inside} (ratio real/estimate-mid "
              f"{wall / ((e.seconds_low + e.seconds_high) / 2):.2f})")


def _steps_per_s(report: Path) -> float | None:
    import json

    return (json.loads(report.read_text()).get("timings") or {}).get("steps_per_s")


if __name__ == "__main__":
    main()
