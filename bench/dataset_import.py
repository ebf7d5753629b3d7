"""Benchmark dataset import, check and captioning on generated clips; prints figures, asserts nothing.

    .venv/bin/python bench/dataset_import.py [--clips 40] [--frames 49] [--size 256]

Times: import of a folder and of a zip of the same clips (hash + PyAV header probe + copy), a re-check of the
imported dataset (re-hash + re-probe of every file), the template caption of every file (frame-free), and frame
sampling (decode through trainer.media) per clip, which bounds any vision backend from below.
"""

import sys
from pathlib import Path

# Run as a script, sys.path[0] is bench/, whose inspect.py would shadow the stdlib `inspect`: swap it for the root.
ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import argparse  # noqa: E402  (after the path fix above, on purpose)
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import zipfile  # noqa: E402


def _timed(label: str, fn, n: int):
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    print(f"{label:<34} {elapsed:8.3f} s   {n / elapsed:8.1f} files/s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--frames", type=int, default=49)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--pattern", default="noise", help="noise (large files) | moving | solid")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["LORAPORT_HOME"] = str(tmp / "home")
        from tests.trainer.clips import clip_frames
        from trainer.media import write_mp4
        from tools.caption import caption_all
        from tools.caption.frames import sample_frames
        from tools.dataset import check_dataset, import_dataset

        src = tmp / "clips"
        for i in range(args.clips):
            frames = clip_frames(args.frames, (args.size, args.size * 3 // 4), color=(i * 6 % 256, 80, 160),
                                 pattern=args.pattern, seed=i)  # (F, H, W, 3) uint8, distinct per clip
            write_mp4(frames, src / f"clip{i:03d}.mp4")
        mb = sum(p.stat().st_size for p in src.iterdir()) / 2**20
        with zipfile.ZipFile(tmp / "clips.zip", "w") as zf:
            for p in sorted(src.iterdir()):
                zf.write(p, p.name)
        print(f"{args.clips} clips, {args.frames} frames at {args.size}x{args.size * 3 // 4}, {mb:.1f} MiB in all")
        report = _timed("import folder", lambda: import_dataset(src), args.clips)
        _timed("import zip", lambda: import_dataset(tmp / "clips.zip"), args.clips)
        _timed("check (re-hash + re-probe)", lambda: check_dataset(report.id), args.clips)
        _timed("caption all (template)", lambda: caption_all(report.id, backend="template"), args.clips)
        paths = [Path(report.path) / f.name for f in report.files]
        _timed("sample 4 frames per clip (decode)", lambda: [sample_frames(p, 4) for p in paths], args.clips)


if __name__ == "__main__":
    main()
