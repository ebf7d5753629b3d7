"""How long a run will take and how much disk it needs, before anything is launched.

Time comes from a short *measured* calibration when one is possible: a few real training steps through
``trainer.train.run_training`` on this machine, this model, these buckets and this rank, cached in the workspace
(``calibration.json``) by (device, model, buckets, rank, base quantization, checkpointing). Without one (a real
model before the user asked to calibrate) it comes from a table: model FLOPs per step over the GPU's peak bf16
throughput at 25-45% utilisation, and says so (``basis: "table"``). Disk comes from latent and text-embedding
sizes (the trainer's cache layout) and the LoRA's parameter count.
"""

import json
import logging
import math
import tempfile
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from core.atomic import atomic_write_json
from core.workspace import Workspace
from tools.plan.hardware import Hardware
from tools.plan.memory import lora_params as memory_lora_params
from tools.plan.memory import tokens as latent_tokens
from trainer.config import TrainConfig
from trainer.models import is_tiny

log = logging.getLogger(__name__)
CALIBRATION_FILE = "calibration.json"
CALIBRATION_STEPS = 6  # the trainer leaves the first 2 out of its steady-state speed
# Per model: (video dim, audio dim, layers, text dims (video, audio), text tokens, embed bytes, latent ch, vae ratio)
_DIMS = {
    "tiny-ltx-2.3": dict(dim=16, adim=8, layers=2, text=(16, 8), tokens=32, ebytes=4, ch=8, ratio=8),
    "ltx-2.3": dict(dim=4096, adim=2048, layers=48, text=(4096, 2048), tokens=1024, ebytes=2, ch=128, ratio=32),
    "ltx-2": dict(dim=4096, adim=2048, layers=48, text=(4096, 2048), tokens=1024, ebytes=2, ch=128, ratio=32),
}
# LTX-2.5's transformer and connector outputs have 2.3's dimensions (only the video FF bias went), and so do
# the tiny twins': the same rows apply. Its text encoder differs, which these per-step figures do not include.
_DIMS["ltx-2.5"], _DIMS["tiny-ltx-2.5"] = _DIMS["ltx-2.3"], _DIMS["tiny-ltx-2.3"]
VIDEO_STREAM_PARAMS = 13.25e9  # 18.99 B transformer minus 5.74 B audio-named (meta-device count, docs/ltx.md)
_PEAK_BF16_TFLOPS = {"H200": 989, "H100": 989, "GH200": 989, "B200": 2250, "A100": 312, "L40S": 362, "L40": 181,
                     "A6000": 155, "RTX 6000 Ada": 365, "5090": 209, "4090": 165, "3090": 71, "A10": 125}
TINY_STEP_S = 0.066  # one fwd+bwd of the tiny model, 1 CPU thread, ~192 latent tokens (measured)


class DiskMB(BaseModel):
    cache: float = Field(description="Cached latents and text embeddings (MB), kept for later runs.")
    checkpoints: float = Field(description="The kept checkpoints: LoRA + optimizer state (MB).")
    lora: float = Field(description="The final .safetensors (MB).")
    samples: float = Field(0.0, description="Validation sample clips and contact sheets (MB).")

    @property
    def total(self) -> float:
        return self.cache + self.checkpoints + self.lora + self.samples


class Estimate(BaseModel):
    steps: int
    seconds_low: float
    seconds_high: float
    per_step_s: float
    preprocess_s: float
    sampling_s: float
    disk_mb: DiskMB
    basis: Literal["measured", "table"]
    lora_params: int
    note: str = Field(description="How the figures were made, in plain words.")


def estimate(config: TrainConfig, hardware: Hardware | None = None, *, n_items: int = 10,
             calibrate: bool | None = None, workspace: Workspace | None = None) -> Estimate:
    """Estimate a run's time (a range) and disk before launch, from a measured calibration when possible.

    Calibrations are kept in ``workspace`` (default: the settings' workspace)."""
    workspace = workspace or Workspace.from_settings()
    from tools.plan.hardware import detect_hardware

    hw = hardware or detect_hardware()
    dims = _DIMS.get(config.model.id, _DIMS["ltx-2.3"])
    tiny = is_tiny(config.model.id)
    measured = cached_calibration(config, hw, workspace)
    failed = ""
    if measured is None and (calibrate if calibrate is not None else tiny) and _can_train(config, hw):
        try:
            measured = run_calibration(config, hw, n_items=n_items, workspace=workspace)
        except Exception as err:  # best effort: an estimate must never stop a plan; the table stands in
            log.warning("calibration failed: %s", err)
            failed = f" (A measured calibration was tried and failed: {err})"
    if measured:
        per_step, pre = measured["per_step_s"], measured["preprocess_per_item_s"] * n_items
        low_f, high_f, basis = 0.9, 1.25, "measured"
        note = (f"Measured: {CALIBRATION_STEPS} real training steps of {config.model.id} on {hw.name} at "
                f"{_buckets(config)}, rank {config.lora.rank}.")
    else:
        per_step, pre, low_f, high_f, note = _table(config, hw, dims, n_items)
        basis, note = "table", note + failed
    sampling = _sampling_s(config, per_step)
    train = per_step * config.optim.steps
    params = lora_params(config)
    return Estimate(steps=config.optim.steps, seconds_low=round(train * low_f + pre + sampling, 1),
                    seconds_high=round(train * high_f + pre + sampling, 1), per_step_s=round(per_step, 4),
                    preprocess_s=round(pre, 1), sampling_s=round(sampling, 1),
                    disk_mb=_disk(config, dims, n_items, params), basis=basis, lora_params=params, note=note)


def _can_train(config: TrainConfig, hw: Hardware) -> bool:
    return is_tiny(config.model.id) or hw.device == "cuda"


def calibration_key(config: TrainConfig, hw: Hardware) -> str:
    return "|".join([hw.device, hw.name, config.model.id, _buckets(config), f"r{config.lora.rank}",
                     config.model.quantize_base, f"gc{int(config.optim.gradient_checkpointing)}",
                     f"b{config.optim.batch_size}x{config.optim.grad_accum}", config.strategy.name])


def _calibration_path(workspace: Workspace) -> Path:
    return workspace.home / CALIBRATION_FILE


def _read_calibrations(workspace: Workspace) -> dict:
    path = _calibration_path(workspace)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def cached_calibration(config: TrainConfig, hw: Hardware, workspace: Workspace) -> dict | None:
    entry = _read_calibrations(workspace).get(calibration_key(config, hw))
    return entry if isinstance(entry, dict) and entry.get("per_step_s") else None


def run_calibration(config: TrainConfig, hw: Hardware, *, n_items: int, workspace: Workspace) -> dict | None:
    """Train a few steps for real (temp run dir; the latent cache it fills is reused by the real run)."""
    import torch

    from core.settings import get_settings

    from trainer.train import run_training
    probe = config.model_copy(deep=True)
    probe.optim.steps, probe.optim.warmup_steps = CALIBRATION_STEPS, 0
    probe.checkpoints.every, probe.checkpoints.keep = CALIBRATION_STEPS + 1, 1
    probe.validation.every, probe.data.holdout_fraction = 0, 0.0
    threads = torch.get_num_threads()
    if (want := get_settings().torch_threads) > 0:  # small models on few cores run ~20x faster on one thread
        torch.set_num_threads(want)
    try:
        with tempfile.TemporaryDirectory(prefix=".calibration-", dir=workspace.runs_dir) as tmp:
            t0 = time.perf_counter()
            run_training(probe, Path(tmp) / "run", resume=False, cache_dir=workspace.cache_dir(probe.model.id))
            wall = time.perf_counter() - t0
            report = json.loads((Path(tmp) / "run" / "report.json").read_text(encoding="utf-8"))
    finally:
        torch.set_num_threads(threads)
    timings = report.get("timings") or {}
    rate = timings.get("steps_per_s")
    if not rate:
        return None
    setup = timings.get("setup_s", timings.get("model_and_data_s", 0.0))  # model load + encoding the clips
    entry = {"per_step_s": 1.0 / rate, "preprocess_per_item_s": setup / max(1, n_items),
             "wall_s": wall, "measured_at": time.time(), "steps": CALIBRATION_STEPS}
    data = _read_calibrations(workspace)
    data[calibration_key(config, hw)] = entry
    atomic_write_json(_calibration_path(workspace), data)
    return entry


def _mean_tokens(config: TrainConfig, ratio: int) -> float:
    b = config.data.buckets
    return sum(latent_tokens(x.width, x.height, x.frames, ratio) for x in b) / len(b)


def _table(config: TrainConfig, hw: Hardware, dims: dict, n_items: int) -> tuple[float, float, float, float, str]:
    tokens = _mean_tokens(config, dims["ratio"]) * (2 if config.strategy.name == "ic-lora" else 1)
    tokens *= config.optim.batch_size * config.optim.grad_accum
    if is_tiny(config.model.id):
        per_step = TINY_STEP_S * max(1.0, tokens / 192)
        return per_step, 0.05 * n_items + 1.0, 0.7, 2.0, (
            "From a table (no calibration yet): the tiny model's measured 0.07 s/step on one CPU thread, scaled "
            "by clip size.")
    peak = next((v for k, v in _PEAK_BF16_TFLOPS.items() if k.lower() in hw.name.lower()), 150)
    # fwd+bwd = 6 FLOPs per parameter per token; checkpointing recomputes the forward (+1/3)
    flops = 6 * VIDEO_STREAM_PARAMS * tokens * (4 / 3 if config.optim.gradient_checkpointing else 1)
    per_step = flops / (peak * 1e12 * 0.35) * _technique_slowdown(config)
    pre = 90.0 + 3.0 * n_items  # load ~60 GB of weights, then VAE + Gemma per clip
    return per_step, pre, 0.35 / 0.45, 0.35 / 0.25, (
        f"From a table, not measured: model FLOPs per step over {hw.name if hw.device == 'cuda' else 'an H100-class GPU'}"
        f"'s peak bf16 throughput ({peak} TFLOPS) at 25-45% utilisation. `loraport plan --calibrate` on the "
        "training machine measures it.")


def _technique_slowdown(config: TrainConfig) -> float:
    """How much the config's memory techniques (dequantised base weights, block offload's copies) lengthen a
    step, from the memory model; checkpointing's recompute is already in the FLOPs above."""
    from tools.plan.memory import predict_config

    relative = predict_config(config).seconds_per_step_relative
    return relative / (4 / 3 if config.optim.gradient_checkpointing else 1.0)


def _sampling_s(config: TrainConfig, per_step: float) -> float:
    v = config.validation
    if v.every <= 0 or not v.prompts:
        return 0.0
    n = (config.optim.steps // v.every + 1) * len(v.prompts) * len(v.seeds)  # +1: the final samples
    # one denoising step = two forwards (guidance) ~ 0.6 of a training fwd+bwd step at the same size
    b = config.data.buckets[0]
    size = (v.width * v.height * v.frames) / max(1, b.width * b.height * b.frames)
    return n * v.inference_steps * per_step * 0.6 * size


def lora_params(config: TrainConfig) -> int:
    """Trainable LoRA parameters of ``config``'s adapter, counted by the memory model (``memory.lora_params``)."""
    lora = config.lora
    return memory_lora_params(config.model.id, lora.rank, tuple(lora.target_modules), lora.video_only)


def _disk(config: TrainConfig, dims: dict, n_items: int, params: int) -> DiskMB:
    b = config.data.buckets
    latent = sum(dims["ch"] * latent_tokens(x.width, x.height, x.frames, dims["ratio"]) for x in b) / len(b)
    latent *= 4  # fp32
    latent *= 2 if config.strategy.name == "ic-lora" else 1  # reference latents too
    text = dims["tokens"] * sum(dims["text"]) * dims["ebytes"]
    opt_bytes = 2 if config.optim.optimizer == "adamw8bit" else 8  # two moments per parameter
    mb = 2**20
    v = config.validation
    n_samples = (config.optim.steps // v.every + 1) * len(v.prompts) * len(v.seeds) if v.every > 0 else 0
    # An H.264 sample takes roughly 0.05 bytes a pixel a frame at the encoder's default quality; its contact
    # sheet about as much again. A rough figure: enough to warn before a disk fills, not an exact size.
    sample_bytes = 2 * 0.05 * v.width * v.height * v.frames
    return DiskMB(cache=round(n_items * (latent + text) / mb, 2),
                  checkpoints=round(config.checkpoints.keep * params * (4 + opt_bytes) / mb, 2),
                  lora=round(params * 4 / mb, 2), samples=round(n_samples * sample_bytes / mb, 2))


def disk_need(config: TrainConfig, n_items: int) -> DiskMB:
    """The disk a run will write (cache, checkpoints, samples, export), without timing anything."""
    dims = _DIMS.get(config.model.id, _DIMS["ltx-2.3"])
    return _disk(config, dims, n_items, lora_params(config))


def _buckets(config: TrainConfig) -> str:
    return ",".join(f"{b.width}x{b.height}x{b.frames}" for b in config.data.buckets)


def human_range(low: float, high: float) -> str:
    """"2 to 3 min" style; one figure when both ends round to the same words."""
    a, b = human_duration(low), human_duration(high)
    return a if a == b else f"{a} to {b}"


def human_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{math.ceil(seconds)} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
