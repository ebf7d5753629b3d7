"""GPU proof of the memory model: LTX-2.3 at real dimensions (random weights), one LoRA step per memory configuration.

    python bench/gpu_memory.py                                  # every configuration at 512x512x49 and 768x512x49
    python bench/gpu_memory.py --configs bf16 int8 nf4-offload --sizes 768x512x121
    python bench/gpu_memory.py --help                           # runs anywhere; the bench itself needs CUDA

For each configuration (base weights bf16 / int8 / float8 / nf4, block offload, 8-bit AdamW; gradient
checkpointing on; rank 32 on attn1/attn2 q/k/v/out) it builds the transformer on the meta device, materialises it
in bf16 with random weights (on the GPU, or in host RAM when blocks are offloaded), quantises it with the same code
the trainer uses (``trainer.models.quantize``), applies group offload through ``trainer.models.phases``, and times
``--timed`` steps after ``--warmup``: s/step, peak allocated and reserved GiB, MFU (2x the forward's FLOPs counted
by torch's FlopCounterMode over the device's dense bf16 peak), and beside each measured peak the memory model's
prediction for the train phase (``tools.plan.memory.predict``, CUDA overhead excluded, so it compares with
allocated). The target is a prediction within 15% of the measured peak.
"""

import sys
from pathlib import Path

# Run as a script, Python puts bench/ first on sys.path, where bench/inspect.py would shadow the stdlib module
# that numpy and torch import: put the repository root there instead.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse  # noqa: E402
import gc  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

CONFIGS = {  # name -> (quantize_base, offload, optimizer)
    "bf16": ("none", "none", "adamw"),
    "int8": ("int8", "none", "adamw"),
    "float8": ("float8", "none", "adamw"),
    "nf4": ("nf4", "none", "adamw8bit"),
    "int8-offload": ("int8", "blocks", "adamw"),
    "nf4-offload": ("nf4", "blocks", "adamw8bit"),
}
PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "GH200": 989.0, "B200": 2250.0, "A100": 312.0, "L40S": 362.0,
                    "RTX 4090": 165.0, "RTX 5090": 209.0}


def build(layers: int, device: torch.device):
    """LTX-2.3's transformer (its real config), random bf16 weights, materialised on ``device``."""
    from diffusers import LTX2VideoTransformer3DModel

    from trainer.models.ltx2_configs import TRANSFORMER_23

    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)  # meta params in bf16, so to_empty allocates 2 bytes each
    try:
        with torch.device("meta"):
            t = LTX2VideoTransformer3DModel.from_config({**TRANSFORMER_23, "num_layers": layers})
    finally:
        torch.set_default_dtype(default)
    t = t.to_empty(device=device)
    with torch.no_grad():
        for name, p in t.named_parameters():
            p.normal_(0.0, 0.02) if p.ndim >= 2 else (p.fill_(1.0) if "norm" in name else p.zero_())
    return t.requires_grad_(False)


def run_config(name: str, args, size: tuple[int, int, int], device: torch.device) -> dict:
    from torch.utils.flop_counter import FlopCounterMode

    from trainer import lora
    from trainer.config import LoraConfig, OptimConfig, TimestepConfig
    from trainer.models import phases, quantize
    from trainer.strategies import Batch, TextToVideo, predict

    kind, offload, optimizer = CONFIGS[name]
    t = build(args.layers, torch.device("cpu") if offload == "blocks" else device)
    t = quantize.quantize_in_place(t, kind, torch.bfloat16)
    lora.add_lora(t, LoraConfig(rank=32, alpha=32))
    t.enable_gradient_checkpointing()
    t.train()
    if offload == "blocks":
        phases.apply_group_offload(t, device, use_stream=True)
    params = lora.lora_parameters(t)
    from trainer.optim import make_optimizer  # the trainer's own choice of AdamW / 8-bit AdamW

    opt = make_optimizer(params, OptimConfig(optimizer=optimizer), lambda e: print(e.get("message")))
    strategy = TextToVideo(t, TimestepConfig(), first_frame_p=0.5)
    w, h, f = size
    lat = (128, (f - 1) // 8 + 1, h // 32, w // 32)
    gen = torch.Generator().manual_seed(0)
    batch = Batch(latents=torch.randn(1, *lat, generator=gen).to(device, torch.bfloat16),
                  prompt_embeds=torch.randn(1, args.text_len, 4096, generator=gen).to(device, torch.bfloat16),
                  prompt_mask=torch.ones(1, args.text_len, device=device),
                  audio_prompt_embeds=torch.randn(1, args.text_len, 2048, generator=gen).to(device, torch.bfloat16))
    autocast = torch.autocast("cuda", dtype=torch.bfloat16)
    fwd_kwargs = {"use_cross_timestep": True}

    def step():
        inputs = strategy.prepare_inputs(batch, gen)
        with autocast:
            loss = strategy.compute_loss(predict(t, inputs, fwd_kwargs), inputs).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    with torch.no_grad(), autocast, FlopCounterMode(display=False) as counter:
        predict(t, strategy.prepare_inputs(batch, gen, sigma=torch.tensor([0.5])), fwd_kwargs)
    torch.cuda.reset_peak_memory_stats(device)
    for _ in range(args.warmup):
        step()
    torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(args.timed):
        step()
    torch.cuda.synchronize(device)
    s = (time.perf_counter() - start) / args.timed
    out = {"config": name, "size": f"{w}x{h}x{f}", "s_per_step": s,
           "allocated_gib": torch.cuda.max_memory_allocated(device) / 2**30,
           "reserved_gib": torch.cuda.max_memory_reserved(device) / 2**30, "fwd_tflop": counter.get_total_flops() / 1e12}
    del t, opt, params, batch
    gc.collect()
    torch.cuda.empty_cache()
    return out


def predicted_gib(name: str, size: tuple[int, int, int], layers: int) -> float | None:
    """The memory model's train-phase peak without the CUDA overhead (what torch counts as allocated)."""
    if layers != 48:
        return None
    from tools.plan.memory import CUDA_OVERHEAD_GIB, Techniques, predict
    from trainer.config import DEFAULT_TARGETS

    kind, offload, optimizer = CONFIGS[name]
    t = Techniques(quantize_base=kind, offload=offload, optimizer=optimizer, gradient_checkpointing=True)
    return predict("ltx-2.3", size, 32, tuple(DEFAULT_TARGETS), True, t).phases["train"].peak_gib - CUDA_OVERHEAD_GIB


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    p.add_argument("--sizes", nargs="+", default=["512x512x49", "768x512x49"], help="WxHxF clips")
    p.add_argument("--layers", type=int, default=48, help="transformer blocks (48 = LTX-2.3; fewer: no prediction)")
    p.add_argument("--text-len", type=int, default=1024, help="prompt tokens after the connectors")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--timed", type=int, default=3)
    p.add_argument("--peak-tflops", type=float, default=None, help="the device's dense bf16 peak (else by name)")
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit("bench/gpu_memory.py measures GPU memory and needs a CUDA GPU; none is visible here. "
                         "`loraport plan --vram-gb N` gives the predictions without one.")
    device = torch.device("cuda")
    gpu = torch.cuda.get_device_name(device)
    peak = args.peak_tflops or next((v for k, v in PEAK_BF16_TFLOPS.items() if k in gpu), None)
    print(f"LTX-2.3 transformer ({args.layers} blocks, random weights), rank 32, checkpointing, on {gpu}")
    print(f"{'config':14} {'size':11} {'s/step':>7} {'alloc':>7} {'reserved':>8} {'predicted':>9} {'error':>6} "
          f"{'MFU':>6}")
    for size in args.sizes:
        w, h, f = (int(v) for v in size.lower().split("x"))
        for name in args.configs:
            try:
                r = run_config(name, args, (w, h, f), device)
            except (RuntimeError, ImportError, ValueError) as err:  # OOM, or a library missing here
                print(f"{name:14} {size:11} failed: {str(err).splitlines()[0][:90]}", flush=True)
                gc.collect()
                torch.cuda.empty_cache()
                continue
            pred = predicted_gib(name, (w, h, f), args.layers)
            err = f"{(pred - r['allocated_gib']) / r['allocated_gib']:+.0%}" if pred else "n/a"
            mfu = f"{2 * r['fwd_tflop'] * 1e12 / r['s_per_step'] / (peak * 1e12):.0%}" if peak else "n/a"
            print(f"{name:14} {size:11} {r['s_per_step']:7.2f} {r['allocated_gib']:7.1f} {r['reserved_gib']:8.1f} "
                  f"{pred if pred else float('nan'):9.1f} {err:>6} {mfu:>6}", flush=True)


if __name__ == "__main__":
    main()
