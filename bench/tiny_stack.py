"""Figures for the tiny-ltx-2.3 stack: build time, data preparation (cold and cached) and sampling.

Run: .venv/bin/python bench/tiny_stack.py [--clips 5]. Prints one JSON document; no assertions (targets live in
the issue: the stack builds in well under a second, a second prepare encodes nothing).
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

# the repo root replaces bench/ on the path: bench/inspect.py would shadow the stdlib module
sys.path[0] = str(Path(__file__).resolve().parents[1])


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clips", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    def imports():
        from diffusers import AutoencoderKLLTX2Audio, AutoencoderKLLTX2Video, LTX2Pipeline  # noqa: F401
        from diffusers import LTX2VideoTransformer3DModel  # noqa: F401
        from diffusers.pipelines.ltx2 import LTX2TextConnectors  # noqa: F401
        from transformers import Gemma3ForConditionalGeneration  # noqa: F401

    (_, t_import) = _timed(imports)
    import torch

    torch.set_num_threads(args.threads)
    from tests.trainer.clips import make_clip
    from trainer.config import ModelConfig, TrainConfig
    from trainer.data import prepare_dataset
    from trainer.models import load_components
    from trainer.sample import generate

    components, t_first = _timed(lambda: load_components(ModelConfig()))
    _, t_again = _timed(lambda: load_components(ModelConfig()))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for i in range(args.clips):
            make_clip(tmp / "ds" / f"c{i}.mp4", frames=17, size=(96, 64), pattern="moving", color=(40 * i, 80, 160))
        cfg = TrainConfig(data=dict(dataset_dir=tmp / "ds", buckets=[dict(width=64, height=64, frames=17)]))
        cold, t_cold = _timed(lambda: prepare_dataset(cfg, components, tmp / "cache"))
        warm, t_warm = _timed(lambda: prepare_dataset(cfg, components, tmp / "cache"))
        _, t_sample = _timed(lambda: generate(components, "a red ball", seed=0, width=64, height=64, frames=17,
                                             steps=4, out_dir=tmp / "s"))
    print(json.dumps({
        "threads": args.threads,
        "import_ltx2_and_gemma3_classes_s": round(t_import, 3),
        "first_build_after_imports_s": round(t_first, 3),
        "cached_load_components_fresh_copy_s": round(t_again, 3),
        "transformer_params": sum(p.numel() for p in components.transformer.parameters()),
        "clips": args.clips,
        "prepare_cold_s": round(t_cold, 3), "prepare_cold_stats": cold.stats,
        "prepare_cached_s": round(t_warm, 3), "prepare_cached_stats": warm.stats,
        "sample_64x64x17_4_steps_s": round(t_sample, 3),
    }, indent=2))


if __name__ == "__main__":
    main()
