"""What rendering from an IC-LoRA reference costs: the same clip with and without a reference (the in-context
pipeline doubles the video tokens, decodes and encodes the reference, and writes the side-by-side clip).

Run: .venv/bin/python -m bench.ic_sample [--repeats 5] [--frames 17] [--size 64]. Prints one JSON document with
the median seconds per render, interleaved so load from other processes hits both alike; no assertions.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repo root, not bench/ (bench/inspect.py)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--frames", type=int, default=17)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()

    import torch

    from tests.trainer.clips import make_clip
    from trainer.config import ModelConfig
    from trainer.models import load_components
    from trainer.reference import Reference
    from trainer.sample import generate

    torch.set_num_threads(1)
    components = load_components(ModelConfig())
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        ref = Reference(make_clip(out / "ref.mp4", frames=args.frames, size=(args.size, args.size), pattern="moving"))
        kw = dict(seed=1, width=args.size, height=args.size, frames=args.frames, steps=args.steps, out_dir=out)
        generate(components, "warm-up", name="warm", **kw)
        times: dict[str, list[float]] = {"plain": [], "reference": []}
        for i in range(args.repeats):
            for label, reference in (("plain", None), ("reference", ref)):
                t = time.perf_counter()
                generate(components, "a person waves", name=f"{label}{i}", reference=reference, **kw)
                times[label].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(json.dumps({"model": "tiny-ltx-2.3", "size": args.size, "frames": args.frames, "steps": args.steps,
                      "repeats": args.repeats, "median_s": med,
                      "reference_over_plain": med["reference"] / med["plain"]}, indent=2))


if __name__ == "__main__":
    main()
