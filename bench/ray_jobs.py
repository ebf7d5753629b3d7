"""Jobs per minute through a Ray cluster vs the local worker, for the same tiny trainings.

    .venv/bin/python -m bench.ray_jobs [--jobs 4] [--steps 6] [--slots 2]

Starts its own Ray head on loopback (CPU only, small object store, no dashboard) and ends it by its process
group. Runs the same tiny-model trainings three ways: the local worker (one at a time), Ray with one slot (same
parallelism: the difference is Ray's overhead per job: task submission, event relay through the hub actor) and
Ray with ``--slots`` slots (what a cluster adds; on this 2-core machine the slots share the same cores). Each
worker's first job is timed apart (a fresh worker's start-up); the figures are for the jobs after it.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repo root: bench/inspect.py must not shadow inspect

from core.store import open_db  # noqa: E402
from core.workspace import Workspace  # noqa: E402
from tests.cluster.ray_head import RayHead  # noqa: E402
from tests.trainer.train_utils import concept_dataset, tiny_config  # noqa: E402
from trainer import jobs  # noqa: E402
from trainer.worker import JOB_RUNNERS, run_worker  # noqa: E402


def run_batch(home: Path, data: Path, n: int, steps: int, executor=None, warm: int = 1) -> tuple[float, float]:
    """One worker run of ``warm`` + n jobs: (seconds to the warm jobs' end, seconds for the n after them).

    The first job on each slot pays what a fresh worker pays once (imports, the model cache, Ray's hub actor and
    worker process); the n after them are the steady state that jobs per minute describe.
    """
    workspace = Workspace(home).ensure()
    os.environ["LORAPORT_HOME"] = str(home)  # the jobs' caches follow the workspace, as under `loraport worker`
    db = open_db(workspace)
    ids = [jobs.enqueue(db, "train", tiny_config(data, steps=steps, checkpoints={"every": steps, "keep": 1}))
           for _ in range(n + warm)]
    t = time.time()
    run_worker(workspace, once=True, poll_s=0.05, device="cpu", executor=executor)
    ends = []
    for job_id in ids:
        job = jobs.get_job(db, job_id)
        if job.status != "finished":
            raise SystemExit(f"job {job_id} did not finish: {job.error}")
        ends.append(jobs.events(db, job_id)[-1]["ts"])
    first = sorted(ends)[warm - 1]
    return first - t, max(ends) - first


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--slots", type=int, default=2, help="CPUs the Ray head offers: tiny jobs run this many at once")
    args = ap.parse_args()
    import ray

    from trainer.cluster.executor import RayExecutor

    root = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    data = concept_dataset(root / "clips", n=3)
    results, first = {}, {}
    first["local"], results["local worker (1 at a time)"] = run_batch(root / "local", data, args.jobs, args.steps)
    for slots in sorted({1, args.slots}):
        head = RayHead(num_cpus=slots)
        try:
            ray.init(address=head.address, namespace="loraport", log_to_driver=False)
            executor = RayExecutor(head.address, JOB_RUNNERS, max_pending=args.jobs + slots)
            first[slots], results[f"ray, {slots} slot(s)"] = run_batch(root / f"ray-{slots}", data, args.jobs,
                                                                      args.steps, executor, warm=slots)
        finally:
            head.stop()
    print(f"{args.jobs} tiny trainings of {args.steps} steps each, machine: {os.cpu_count()} CPU(s), shared")
    for name, wall in results.items():
        print(f"  {name:28} {wall:7.1f} s   {args.jobs / wall * 60:6.1f} jobs/min")
    one, local = results["ray, 1 slot(s)"], results["local worker (1 at a time)"]
    print(f"  Ray overhead at the same parallelism: {(one - local) / args.jobs:+.2f} s per job "
          f"({(one / local - 1) * 100:+.0f}% of the local time)")
    print(f"  a fresh worker's first job: local {first['local']:.1f} s, Ray {first[1]:.1f} s (hub actor, Ray "
          "worker process, imports; once per worker start)")


if __name__ == "__main__":
    main()
