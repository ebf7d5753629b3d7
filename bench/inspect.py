"""Benchmark `loraport inspect` against safetensors.torch.load_file on an LTX-2-shaped rank-32 bf16 LoRA.

    .venv/bin/python bench/inspect.py [--rank 32] [--repeats 3] [--keep DIR]

Builds the default Lightricks-trainer layout (48 blocks x 6 attention families x q/k/v/out.0 = 1152 Linears,
2304 tensors, real LTX-2 widths) in a child process, so its ~1 GB of build-time tensors never count against this
process, then times header-only inspect, full inspect and load_file here on the same file, twice: with the page
cache warm (the file was just read) and cold (this file evicted with posix_fadvise before every run).
Times are the fastest of N runs (the machine is shared); peak memory is the rise of the resident high-water mark
(VmHWM, reset through /proc/self/clear_refs) over the resident size before one run, in a fresh child process.
Targets: header-only >= 50x faster than load_file; full inspect no slower than load_file, with peak memory under
twice the largest tensor. Then whole processes, as a user meets them: `loraport inspect --header-only FILE` (which
imports no torch) against `python -c "load_file(FILE)"`, fastest of N with a warm page cache; target >= 5x.
"""

import sys
from pathlib import Path

# Run as a script, sys.path[0] is bench/, where this file would shadow the stdlib `inspect`: swap it for the root.
ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import argparse  # noqa: E402  (after the path fix above, on purpose)
import gc  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

BUILD = """
import sys, torch
sys.path.insert(0, {root!r})
from tests.tools.lora_factory import make_ltx2_lora
make_ltx2_lora({path!r}, rank={rank})
"""


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def drop_from_page_cache(path: Path) -> None:
    """Evict this one file from the OS page cache (nothing else), so the next read comes from disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)  # dirty pages cannot be dropped
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def timed(fn, repeats: int, cold_path: Path | None = None) -> float:
    """Fastest of ``repeats`` runs (the least disturbed one on a shared machine)."""
    times = []
    for _ in range(repeats):
        if cold_path is not None:
            drop_from_page_cache(cold_path)
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        del result
    return min(times)


def phases(path: Path) -> dict:
    from safetensors.torch import load_file

    from tools.inspect import inspect_lora

    return {
        "inspect --header-only": lambda: inspect_lora(path, header_only=True),
        "inspect (full)": lambda: inspect_lora(path),
        "load_file": lambda: load_file(str(path)),
    }


def child_peak(path: Path, phase: str, cold: bool) -> float:
    """Peak resident rise (MiB) of one run of ``phase`` in a fresh process, so no earlier run's freed memory hides
    it. The child first runs a header-only inspection and one small reduction (imports, torch's one-off thread and
    kernel set-up, none of it proportional to the file), then resets VmHWM."""
    out = subprocess.run([sys.executable, __file__, "--peak-of", phase, "--file", str(path)] + (["--cold"] * cold),
                         check=True, capture_output=True, text=True).stdout
    return float(out.split()[-1])


def _peak_here(path: Path, phase: str, cold: bool) -> None:
    import torch

    fns = phases(path)
    fns["inspect --header-only"]()
    torch.linalg.vector_norm(torch.ones(1 << 15), dtype=torch.float32)  # torch's one-off kernel/thread set-up
    if cold:
        drop_from_page_cache(path)
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = _status_kb("VmRSS")
    result = fns[phase]()
    print((_status_kb("VmHWM") - before) / 1024)
    del result


def process_seconds(path: Path, repeats: int) -> dict[str, float]:
    """Fastest wall time of whole processes, alternated so both see the same load on a shared machine."""
    commands = {
        "loraport inspect --header-only": [str(Path(sys.executable).parent / "loraport"), "inspect", "--header-only",
                                           str(path)],
        "python -c load_file": [sys.executable, "-c", f"from safetensors.torch import load_file; load_file({str(path)!r})"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, cmd in commands.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            times[name].append(time.perf_counter() - t0)
    return {name: min(t) for name, t in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rank", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--keep", type=Path, help="Build (or reuse) the file in this folder and keep it.")
    ap.add_argument("--peak-of", help=argparse.SUPPRESS)  # internal: the memory child
    ap.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--cold", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peak_of:
        return _peak_here(args.file, args.peak_of, args.cold)

    import torch

    from tools.inspect import inspect_lora
    from tools.inspect.safetensors_header import RUN_BYTES, read_header

    with tempfile.TemporaryDirectory(prefix="loraport-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "ltx-2-19b-bench-lora.safetensors"
        t0 = time.perf_counter()
        if not path.exists():  # --keep DIR reuses a file built by an earlier run
            subprocess.run([sys.executable, "-c", BUILD.format(root=str(ROOT), path=str(path), rank=args.rank)],
                           check=True)
        build_s = time.perf_counter() - t0
        header = read_header(path)
        largest = max(t.nbytes for t in header.tensors)
        print(f"file: {path.name}  {path.stat().st_size / 2**20:.1f} MiB, {len(header.tensors)} tensors, "
              f"largest tensor {largest / 2**10:.0f} KiB, built in {build_s:.1f} s")
        print(f"torch threads: {torch.get_num_threads()} (the default; the health scan itself runs on 1); read runs of "
              f"up to {max(RUN_BYTES, largest) // 2**10} KiB; seconds = fastest of {args.repeats}; peak = resident rise "
              "of one run in a fresh process")
        fns = phases(path)
        inspect_lora(path, header_only=True)  # warm the imports
        results = {}
        for cache in ("warm", "cold"):
            for name, fn in fns.items():
                if cache == "warm":
                    fn()  # bring the file into the page cache
                sec = timed(fn, args.repeats, path if cache == "cold" else None)
                results[cache, name] = sec, child_peak(path, name, cache == "cold")
        report = inspect_lora(path)
        procs = process_seconds(path, args.repeats)

    print(f"{'page cache':<12}{'phase':<24}{'seconds':>10}{'peak MiB':>10}")
    for (cache, name), (sec, mb) in results.items():
        print(f"{cache:<12}{name:<24}{sec:>10.3f}{mb:>10.1f}")
    for cache in ("warm", "cold"):
        head_s, head_mb = results[cache, "inspect --header-only"]
        full_s, full_mb = results[cache, "inspect (full)"]
        load_s, load_mb = results[cache, "load_file"]
        print(f"[{cache}] header-only is {load_s / head_s:.0f}x faster than load_file (target >= 50x); "
              f"full inspect takes {full_s / load_s:.2f}x load_file's time (target <= 1x)")
        print(f"[{cache}] peak memory: full inspect {full_mb:.1f} MiB, 2x largest tensor = "
              f"{2 * largest / 2**20:.2f} MiB, load_file {load_mb:.1f} MiB")
    print("whole processes (warm page cache, fastest of N, alternated):")
    for name, sec in procs.items():
        print(f"  {name:<34}{sec:>8.3f} s")
    head_s, load_s = procs["loraport inspect --header-only"], procs["python -c load_file"]
    print(f"  header-only process is {load_s / head_s:.1f}x faster than a load_file process (target >= 5x)")
    print(f"report: {report.base_model.family}, {report.verdict.status}, health {report.health.status}, "
          f"rank {report.rank.mode}, {report.targets.layers_adapted} layers")


if __name__ == "__main__":
    main()
