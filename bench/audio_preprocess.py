"""Preprocessing time with vs without the clips' sound, on the same clips (target: sound adds at most 15%).

Run: .venv/bin/python bench/audio_preprocess.py [--clips 8] [--frames 49] [--size 128] [--repeats 3]
Prints one JSON document: cold prepare_dataset seconds (median of the repeats, fresh cache each time) with
audio = off and audio = on, the overhead, and where the sound's time goes (decode + resample, log-mel, audio VAE).

On the tiny model the video VAE is a toy, so the sound's share is far larger than on LTX-2.3, whose video VAE
(0.73 B parameters, 32x spatial) dominates preprocessing; the per-clip audio figures carry over (the decode and
log-mel do not depend on the model; the real audio VAE is larger than the tiny one).
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

# the repo root replaces bench/ on the path: bench/inspect.py would shadow the stdlib module
sys.path[0] = str(Path(__file__).resolve().parents[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--frames", type=int, default=49)
    parser.add_argument("--size", type=int, default=128, help="clip side in pixels (bucket: size x size)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from tests.trainer.audio_clips import make_av_clip
    from trainer.audio import audio_settings, decode_audio, encode_audio, log_mel
    from trainer.config import ModelConfig, TrainConfig
    from trainer.data import prepare_dataset
    from trainer.models import load_components

    components = load_components(ModelConfig())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "clips"
        clips = [make_av_clip(root / f"c{i}.mp4", frames=args.frames, size=(args.size, args.size), rate=48000,
                              hz=200 + 30 * i) for i in range(args.clips)]

        def cold(audio: str) -> float:
            cfg = TrainConfig.model_validate({"data": {"dataset_dir": str(root), "audio": audio, "holdout_fraction": 0,
                                                       "buckets": [{"width": args.size, "height": args.size,
                                                                    "frames": args.frames}]}})
            with tempfile.TemporaryDirectory() as cache:
                t = time.perf_counter()
                prepare_dataset(cfg, components, cache_dir=Path(cache))
                return time.perf_counter() - t

        cold("off")  # warm-up: imports, first-call allocations
        off, on = [], []
        for _ in range(args.repeats):  # interleaved, so load on the shared machine hits both alike
            off.append(cold("off"))
            on.append(cold("on"))
        rate, hop, bins = audio_settings(components.audio_vae)
        seconds = args.frames / 24.0
        parts = {"decode_resample": [], "log_mel": [], "audio_vae": []}
        for clip in clips:
            t0 = time.perf_counter()
            track = decode_audio(clip, seconds, rate)
            t1 = time.perf_counter()
            log_mel(track.waveform, rate, hop, bins)
            t2 = time.perf_counter()
            encode_audio(components.audio_vae, track)  # includes a second log-mel
            t3 = time.perf_counter()
            parts["decode_resample"].append(t1 - t0)
            parts["log_mel"].append(t2 - t1)
            parts["audio_vae"].append((t3 - t2) - (t2 - t1))
    t_off, t_on = statistics.median(off), statistics.median(on)
    print(json.dumps({
        "clips": args.clips, "bucket": f"{args.size}x{args.size}x{args.frames}", "source_audio": "48 kHz stereo AAC",
        "threads": args.threads, "prepare_cold_s": {"audio_off": round(t_off, 3), "audio_on": round(t_on, 3)},
        "audio_overhead": round(t_on / t_off - 1.0, 3), "target_overhead": 0.15,
        "per_clip_audio_ms": {k: round(1000 * statistics.median(v), 2) for k, v in parts.items()},
        "runs": {"audio_off": [round(x, 3) for x in off], "audio_on": [round(x, 3) for x in on]},
    }, indent=2))


if __name__ == "__main__":
    main()
