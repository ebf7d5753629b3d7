"""Figures for an evaluation on the tiny model: seconds per phase, with and without checkpoint scoring.

Run: .venv/bin/python bench/evaluate.py [--steps 40] [--seeds 1]. Trains one short run on a synthetic concept in a
temporary workspace, evaluates it, and prints one JSON document (phase -> seconds, verdict, key metrics).
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

# the repo root replaces bench/ on the path: bench/inspect.py would shadow the stdlib module
sys.path[0] = str(Path(__file__).resolve().parents[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--seeds", type=int, default=1, help="sample seeds per prompt")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LORAPORT_HOME"] = str(Path(tmp) / "home")
        from tests.trainer.train_utils import concept_dataset, tiny_config
        from tools.evaluate import evaluate
        from trainer.train import run_training

        cfg = tiny_config(concept_dataset(Path(tmp) / "ds", n=6), steps=args.steps,
                          checkpoints={"every": max(1, args.steps // 4), "keep": 3})
        t = time.perf_counter()
        run = run_training(cfg, Path(tmp) / "run").run_dir
        figures = {"train_s": round(time.perf_counter() - t, 2)}
        for checkpoints in (False, True):
            phases, last = {}, [time.perf_counter(), "start"]

            def note(message: str) -> None:
                now = time.perf_counter()
                phases[last[1]] = round(now - last[0], 2)
                last[:] = [now, message]

            t = time.perf_counter()
            report = evaluate(run, checkpoints=checkpoints, seeds=tuple(range(42, 42 + args.seeds)),
                              out_dir=Path(tmp) / f"eval-{checkpoints}", on_progress=note)
            figures[f"evaluate_checkpoints_{checkpoints}"] = {
                "total_s": round(time.perf_counter() - t, 2), "phases_s": phases,
                "renders": 2 * len(report.samples), "verdict": report.verdict.status,
                "holdout_improvement": report.metrics["holdout_loss"].detail.get("improvement"),
                "strength": report.value("strength"), "html_kb": Path(report.report_html).stat().st_size // 1024}
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
