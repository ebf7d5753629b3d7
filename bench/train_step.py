"""Training-step speed and memory: loraport's loop against a bare diffusers + peft loop, and LTX-2.3 at real size.

    python bench/train_step.py                 # tiny-ltx-2.3 on CPU: loraport vs bare loop, steps/s ratio
    python bench/train_step.py --gpu           # LTX-2.3 real dims, random bf16 weights: 512x512x49, 768x512x97

The tiny comparison runs both loops in one process on the same model, cached data, LoRA and seed, alternating
them `--repeats` times. On a shared machine wall time swings with other people's work, so it also prints
steps per second of this process's CPU time (single-threaded, that is the work itself), best and median. Both timings cover the whole loop, warm-up steps
and per-step logging included. Target: loraport >= 0.95x the bare loop's steps/s.

The real-size path builds the transformer on the meta device and materialises it on the GPU in bf16 (never 19 B
fp32 parameters on the CPU), adds the default LoRA (rank 32, q/k/v/out.0 of attn1/attn2, fp32), turns on
gradient checkpointing and times loraport's step (strategy inputs, forward, loss, backward, clip, AdamW) under
bf16 autocast. Model FLOPs per step = 2x the forward's FLOPs (counted by torch's FlopCounterMode): the base is
frozen, so backward computes activation gradients only (~1x forward); checkpointing's recompute is not counted
(it is in the hardware figure, 3x). `--device cpu --layers 1 --sizes 64x64x9` runs that path small on a CPU.
"""

import sys
from pathlib import Path

# Run as a script, Python puts bench/ first on sys.path, where bench/inspect.py would shadow the stdlib module
# that numpy and torch import: put the repository root there instead.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L40S": 362.0, "RTX 4090": 165.0}


# -- tiny model: loraport vs bare ------------------------------------------------------------------------------

def _dataset(root: Path, n: int) -> Path:
    from trainer.media import write_mp4

    for i in range(n):  # a bright square sweeping right over a warm background: one consistent concept
        frames = np.zeros((17, 64, 64, 3), np.uint8)
        frames[:] = (200, 60 + 15 * i, 40)
        for f in range(17):
            frames[f, 24:40, 3 * f: 3 * f + 16] = 255
        write_mp4(frames, root / f"clip{i}.mp4")
        (root / f"clip{i}.txt").write_text("a white square moving over a red background")
    return root


def _config(dataset: Path, steps: int, seed: int, grad_ckpt: bool):
    from trainer.config import TrainConfig

    return TrainConfig.model_validate({
        "seed": seed, "model": {"id": "tiny-ltx-2.3"}, "lora": {"rank": 8, "alpha": 8},
        "optim": {"steps": steps, "learning_rate": 1e-3, "schedule": "constant", "gradient_checkpointing": grad_ckpt},
        # No first-frame conditioning: the bare loop has none, and the comparison is of the same work.
        "data": {"dataset_dir": str(dataset), "buckets": [{"width": 64, "height": 64, "frames": 17}],
                 "holdout_fraction": 0.0, "first_frame_conditioning_p": 0.0},
        "checkpoints": {"every": steps, "keep": 1}, "validation": {"every": 0},
    })


def loraport_loop(cfg, run_dir: Path) -> tuple[float, float]:
    """(wall, CPU-time) steps/s of run_training's loop: the whole loop, warm-up included; setup and export not."""
    import json

    from trainer.train import run_training

    run_training(cfg, run_dir, resume=False, cache_dir=run_dir.parent / "cache")
    timings = json.loads((run_dir / "report.json").read_text())["timings"]
    return cfg.optim.steps / timings["train_s"], cfg.optim.steps / timings["train_cpu_s"]


def bare_loop(cfg, cache_dir: Path) -> tuple[float, float]:
    """The loop a diffusers example would write: peft adapter, AdamW, the same forward arguments, plain MSE."""
    from diffusers import LTX2Pipeline
    from diffusers.training_utils import cast_training_params
    from peft import LoraConfig

    from trainer.data import prepare_dataset
    from trainer.models import load_components

    components = load_components(cfg.model)
    items = prepare_dataset(cfg, components, cache_dir).train
    t = components.transformer
    torch.manual_seed(cfg.seed)
    t.add_adapter(LoraConfig(r=cfg.lora.rank, lora_alpha=cfg.lora.alpha,
                             target_modules=r"transformer_blocks\.\d+\.(attn1|attn2)\.(to_k|to_q|to_v|to_out\.0)"))
    cast_training_params(t, dtype=torch.float32)
    if cfg.optim.gradient_checkpointing:
        t.enable_gradient_checkpointing()
    t.train()
    params = [p for p in t.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.optim.learning_rate, weight_decay=cfg.optim.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    start, cpu_start = time.perf_counter(), time.process_time()
    for step in range(cfg.optim.steps):
        item = items[step % len(items)]
        _, f, h, w = item.latents.shape
        x0 = LTX2Pipeline._pack_latents(item.latents[None])  # (1, T, C)
        s = torch.sigmoid(torch.randn(1, generator=gen) + 0.95)
        noise = torch.randn(x0.shape, generator=gen)
        xt = (1 - s) * x0 + s * noise
        pred = t(hidden_states=xt, audio_hidden_states=torch.zeros(1, 1, t.config.audio_in_channels),
                 encoder_hidden_states=item.video_embeds[None], audio_encoder_hidden_states=item.audio_embeds[None],
                 timestep=(s * 1000).expand(1, x0.shape[1]), audio_timestep=s * 1000, sigma=s * 1000,
                 encoder_attention_mask=item.mask[None], audio_encoder_attention_mask=item.mask[None],
                 num_frames=f, height=h, width=w, fps=item.fps, audio_num_frames=1, isolate_modalities=True,
                 use_cross_timestep=True, return_dict=False)[0]
        loss = torch.nn.functional.mse_loss(pred, noise - x0)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.optim.max_grad_norm)
        opt.step()
        opt.zero_grad(set_to_none=True)
        loss.item()  # the one sync a logging loop pays for
    return cfg.optim.steps / (time.perf_counter() - start), cfg.optim.steps / (time.process_time() - cpu_start)


def bench_tiny(args) -> None:
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cfg = _config(_dataset(tmp / "ds", 5), args.steps, args.seed, args.grad_ckpt)
        ours, bare = [], []
        for r in range(args.repeats):
            ours.append(loraport_loop(cfg, tmp / f"run{r}"))
            bare.append(bare_loop(cfg, tmp / "cache"))  # the cache dies with the temporary folder
            print(f"repeat {r + 1}: loraport {ours[-1][0]:.1f} steps/s ({ours[-1][1]:.1f} by CPU time), "
                  f"bare {bare[-1][0]:.1f} ({bare[-1][1]:.1f})", flush=True)
    import resource

    print(f"tiny-ltx-2.3, {args.steps} steps, 5 clips 64x64x17, rank 8, {args.threads} thread(s), "
          f"gradient checkpointing {'on' if args.grad_ckpt else 'off'}, {args.repeats} alternating repeats")
    for clock, i in (("wall", 0), ("CPU time", 1)):
        for label, pick in (("best", max), ("median", statistics.median)):
            o, b = pick(x[i] for x in ours), pick(x[i] for x in bare)
            print(f"{clock:8} {label:6}: loraport {o:6.1f} steps/s, bare {b:6.1f} steps/s, ratio {o / b:.3f} "
                  "(target >= 0.95)")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (whole process; "
          "on CUDA the real-size path reports torch's peak allocation)")


# -- real LTX-2.3 dimensions -----------------------------------------------------------------------------------

def build_real_transformer(device: torch.device, layers: int):
    """LTX-2.3's transformer at full width, random bf16 weights, built on meta and materialised on `device`."""
    from diffusers import LTX2VideoTransformer3DModel

    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)  # meta params in bf16, so to_empty allocates 2 bytes each
    try:
        with torch.device("meta"):
            t = LTX2VideoTransformer3DModel(rope_type="split", gated_attn=True, cross_attn_mod=True,
                                            audio_gated_attn=True, audio_cross_attn_mod=True,
                                            use_prompt_embeddings=False, perturbed_attn=True, num_layers=layers)
    finally:
        torch.set_default_dtype(default)
    t = t.to_empty(device=device)
    gen = torch.Generator(device=device).manual_seed(0)
    with torch.no_grad():
        for name, p in t.named_parameters():
            if p.ndim >= 2:
                p.normal_(0.0, 0.02, generator=gen)
            elif "norm" in name:
                p.fill_(1.0)
            else:
                p.zero_()
    t.requires_grad_(False)
    return t


def _size(text: str) -> tuple[int, int, int]:
    w, h, f = (int(v) for v in text.lower().split("x"))
    return w, h, f


def bench_real(args) -> None:
    from torch.utils.flop_counter import FlopCounterMode

    from trainer import lora
    from trainer.config import LoraConfig, TimestepConfig
    from trainer.strategies import Batch, TextToVideo, predict

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    cuda = device.type == "cuda"
    t = build_real_transformer(device, args.layers)
    lora.add_lora(t, LoraConfig(rank=32, alpha=32))
    t.enable_gradient_checkpointing()
    t.train()
    params = lora.lora_parameters(t)
    opt = torch.optim.AdamW(params, lr=1e-4)
    strategy = TextToVideo(t, TimestepConfig(), first_frame_p=0.5)
    name = torch.cuda.get_device_name(device) if cuda else "cpu"
    peak = args.peak_tflops or next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)
    n_params = sum(p.numel() for p in t.parameters())
    print(f"LTX-2.3 transformer, {args.layers} layers, {n_params / 1e9:.2f} B params (bf16, random), "
          f"LoRA rank 32 on attn1/attn2 ({sum(p.numel() for p in params) / 1e6:.1f} M fp32), on {name}")
    for w, h, f in (_size(s) for s in args.sizes):
        lat = (128, (f - 1) // 8 + 1, h // 32, w // 32)
        gen = torch.Generator().manual_seed(0)
        batch = Batch(latents=torch.randn(1, *lat, generator=gen).to(device, torch.bfloat16),
                      prompt_embeds=torch.randn(1, args.text_len, 4096, generator=gen).to(device, torch.bfloat16),
                      prompt_mask=torch.ones(1, args.text_len, device=device),
                      audio_prompt_embeds=torch.randn(1, args.text_len, 2048, generator=gen).to(device, torch.bfloat16))
        autocast = torch.autocast(device.type, dtype=torch.bfloat16)

        def step():
            inputs = strategy.prepare_inputs(batch, gen)
            with autocast:
                loss = strategy.compute_loss(predict(t, inputs, {"use_cross_timestep": True}), inputs).mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            return loss.item()

        with torch.no_grad(), autocast, FlopCounterMode(display=False) as counter:
            predict(t, strategy.prepare_inputs(batch, gen, sigma=torch.tensor([0.5])), {"use_cross_timestep": True})
        fwd = counter.get_total_flops()
        if cuda:
            torch.cuda.reset_peak_memory_stats(device)
        for _ in range(args.warmup):
            step()
        if cuda:
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        for _ in range(args.timed):
            step()
        if cuda:
            torch.cuda.synchronize(device)
        s_per_step = (time.perf_counter() - start) / args.timed
        mem = torch.cuda.max_memory_allocated(device) / 2**30 if cuda else float("nan")
        tokens = lat[1] * lat[2] * lat[3]
        mfu = f"{2 * fwd / s_per_step / (peak * 1e12):.1%}" if peak else "n/a (pass --peak-tflops)"
        hfu = f"{3 * fwd / s_per_step / (peak * 1e12):.1%}" if peak else "n/a"
        print(f"{w}x{h}x{f} ({tokens} tokens): {s_per_step:.3f} s/step, peak {mem:.1f} GiB, "
              f"fwd {fwd / 1e12:.1f} TFLOP, MFU {mfu}, HFU {hfu}", flush=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gpu", action="store_true", help="LTX-2.3 real dimensions (needs ~60 GB of GPU memory).")
    p.add_argument("--steps", type=int, default=100, help="tiny: steps per loop")
    p.add_argument("--repeats", type=int, default=3, help="tiny: alternating runs of each loop")
    p.add_argument("--threads", type=int, default=1, help="tiny: torch CPU threads")
    p.add_argument("--grad-ckpt", action="store_true", help="tiny: gradient checkpointing in both loops")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="real: cuda (default when present) or cpu")
    p.add_argument("--layers", type=int, default=48, help="real: transformer blocks (48 = LTX-2.3)")
    p.add_argument("--sizes", nargs="+", default=["512x512x49", "768x512x97"], help="real: WxHxF clips")
    p.add_argument("--text-len", type=int, default=1024, help="real: prompt tokens after the connectors")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--timed", type=int, default=5)
    p.add_argument("--peak-tflops", type=float, default=None, help="real: the device's dense bf16 peak")
    args = p.parse_args(argv)
    bench_real(args) if args.gpu or args.device else bench_tiny(args)


if __name__ == "__main__":
    main()
