"""p50 / p95 / p99 latency and CPU of guided sidekick turns that start no job (target p95 < 50 ms).

Each turn is a full Sidekick.send(): graph run, SQLite checkpoint writes, the guided brain and a light tool
(explain a setting, list recipes) or none (help, unknown). Runs in a temporary workspace; prints its figures.
CPU per turn is the process's CPU time (all threads) over the counted turns: unlike latency, it barely moves
when other processes share the cores.

    .venv/bin/python bench/agent_turns.py [--turns 1000]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Replace (not prepend) the script's folder: bench/inspect.py would shadow the standard library's inspect.
sys.path[0] = str(Path(__file__).resolve().parents[1])

PHRASES = ["help", "what does rank do?", "which recipes are there?", "why that learning rate?", "make me a sandwich",
           "what is the trigger word?", "explain frames", "hello"]
THREAD_TURNS = 50  # a user's thread grows; start a new one every 50 turns, as people do


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=1000)
    turns = parser.parse_args().turns

    from agent.brains.guided import GuidedBrain
    from agent.session import Sidekick
    from core.settings import get_settings
    from core.workspace import Workspace

    with tempfile.TemporaryDirectory() as home:
        settings = get_settings(home=home)
        workspace = Workspace.from_settings(settings)
        kick, times, kinds, cpu = None, [], {}, 0.0
        for i in range(-20, turns):  # 20 warm-up turns (imports, first SQLite pages) are not counted
            if i % THREAD_TURNS == 0 or kick is None:
                kick = Sidekick(workspace, f"bench-{i}", brain=GuidedBrain(), settings=settings)
            text = PHRASES[i % len(PHRASES)]
            start, cpu_start = time.perf_counter(), time.process_time()
            events = list(kick.send(text))
            elapsed = (time.perf_counter() - start) * 1000
            cpu += (time.process_time() - cpu_start) * 1000 if i >= 0 else 0.0
            assert events[-1].type == "turn_end" and not kick.job_ids()
            if i >= 0:
                times.append(elapsed)
                kinds.setdefault(text, []).append(elapsed)
    times.sort()
    p50, p95, p99 = (times[int(len(times) * q) - 1] for q in (0.5, 0.95, 0.99))
    print(f"guided turns (no job): n={len(times)}  p50={p50:.1f} ms  p95={p95:.1f} ms  p99={p99:.1f} ms  "
          f"max={times[-1]:.1f} ms  CPU {cpu / len(times):.1f} ms per turn  "
          f"target p95 < 50 ms: {'met' if p95 < 50 else 'NOT met'}")
    for text, values in kinds.items():
        print(f"  {text!r:32} median {statistics.median(values):6.1f} ms")


if __name__ == "__main__":
    main()
