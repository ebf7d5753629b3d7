"""The training loop: one resolved TrainConfig in, a LoRA file, checkpoints and a report out.

Reads top to bottom like nanoGPT's train.py, in phases: prepare (config and derived values; data (cached
latents); model (base + peft LoRA); optimizer; resume), then the loop, whose body keeps one order: lr =
lr_at(step) (a pure function), maybe stop / checkpoint / validate, step (forward-backward-step), log; then
finish (last checkpoint and samples, holdout loss, the LoRA file, the report). Everything random in the loop
(which clips, the noise, the timesteps, first-frame conditioning) is drawn from a generator seeded by (seed,
micro-batch, rank), so a resumed run replays exactly what the uninterrupted run would have done.

Several processes, one entry point (`python -m trainer.train CONFIG.json RUN_DIR` under a launcher):
    torchrun --nproc_per_node 8 -m trainer.train CONFIG.json RUN_DIR              # GPUs, or CPUs over gloo
    accelerate launch --multi_gpu --num_processes 8 -m trainer.train CONFIG.json RUN_DIR
    torchrun --nnodes 2 --node_rank R --master_addr HOST --nproc_per_node 8 -m trainer.train ...   # 2 nodes
accelerate's Accelerator wraps the transformer in DDP (NCCL on GPUs, gloo on CPU), each rank trains its own
micro-batches, only rank 0 writes files. (`accelerate launch --cpu --num_processes 2` starts one process:
accelerate runs several CPU processes only through mpirun; use torchrun there.)
"""

import contextlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel

from core.atomic import atomic_write_json
from core.errors import LoraportError
from trainer import checkpoints, lora, ranks
from trainer.config import OptimConfig, TrainConfig
from trainer.batches import BatchOrder, collate
from trainer.export import export_dtype, export_lora, lora_metadata
from trainer.audio import sound_message, sound_summary
from trainer.models import phases
from trainer.optim import make_optimizer
from trainer.losses import adapters_off, flow_loss, flow_losses
from trainer.media import supported_media
from trainer.progress import StepTimer, append_jsonl, peak_mem_mb, read_jsonl, write_jsonl
from trainer.strategies import get_strategy, predict

Emit = Callable[[dict], None]
LINEAR_END_FACTOR = 0.1  # the linear schedule ends at 10% of the peak learning rate, not at 0 (ltx-trainer)


class TrainResult(BaseModel):
    status: str  # finished | cancelled
    run_dir: Path
    lora_path: Path | None
    steps: int
    total_steps: int
    final_loss: float | None
    losses: list[tuple[int, float]]
    holdout_loss: float | None
    holdout_loss_base: float | None
    trigger_word: str | None
    resumed_from: int | None = None
    holdout_audio_loss: float | None = None  # audio runs: the held-out audio part, with the LoRA and without
    holdout_audio_loss_base: float | None = None


def lr_at(step: int, cfg: OptimConfig) -> float:
    """Learning rate before optimizer step `step` (0-based): linear warmup, then constant, linear down to
    LINEAR_END_FACTOR of the peak (as ltx-trainer's LinearLR(start_factor=1, end_factor=0.1, total_iters=steps)),
    or cosine down to 0 (ltx-trainer's CosineAnnealingLR, eta_min=0)."""
    if step < cfg.warmup_steps:
        return cfg.learning_rate * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    if cfg.schedule == "linear":
        return cfg.learning_rate * (1.0 - (1.0 - LINEAR_END_FACTOR) * progress)
    if cfg.schedule == "cosine":
        return cfg.learning_rate * 0.5 * (1.0 + math.cos(math.pi * progress))
    return cfg.learning_rate


@dataclass
class _Run:
    """What the loop reads and advances: built by `_prepare`, moved on by `_train_step`, closed by `_finish`."""

    cfg: TrainConfig
    run_dir: Path
    acc: Any  # accelerate.Accelerator
    autocast: Any  # bf16 autocast on CUDA, a null context elsewhere
    emit: Emit  # a no-op on ranks other than 0
    components: Any  # trainer.models.Components
    data: Any  # trainer.data.PreparedDataset
    strategy: Any  # trainer.strategies.Strategy
    forward_kwargs: dict
    params: list  # the LoRA parameters: the only ones with gradients
    model: torch.nn.Module  # the transformer as accelerate wrapped it (DDP with several processes)
    optimizer: torch.optim.Optimizer
    order: BatchOrder
    fp: dict  # config fingerprint: resume refuses a checkpoint whose fingerprint differs
    t_setup: float
    step: int = 0
    losses: list = field(default_factory=list)  # [(step, loss)]
    holdout_curve: list = field(default_factory=list)  # [(step, holdout loss)] at each checkpoint
    audio_curve: list = field(default_factory=list)  # [(step, held-out audio loss)] when clips train their sound
    resumed_from: int | None = None

    @property
    def main(self) -> bool:
        return self.acc.is_main_process

    @property
    def transformer(self) -> torch.nn.Module:
        return self.components.transformer

    @property
    def ckpt_dir(self) -> Path:
        return self.run_dir / "checkpoints"


def run_training(config: TrainConfig, run_dir: Path, *, emit: Emit | None = None,
                 should_stop: Callable[[], bool] | None = None, resume: bool = True,
                 cache_dir: Path | None = None, threads: int | None = None) -> TrainResult:
    """Train a LoRA as `config` says, writing everything under `run_dir`; resumes from its latest checkpoint.

    `cache_dir` keeps the encoded latents and text embeddings (the worker passes the workspace's per-model cache,
    shared by runs; default: `run_dir/cache`). `threads` sets torch's CPU threads when there is no GPU (small
    models on few cores run ~20x faster on one thread); None leaves the process's setting.

    `emit(event)` gets ``core.events.JobEvent`` dicts (started, progress, checkpoint; the caller adds job_id and
    the terminal event). `should_stop()` is polled before each step: True stops there, writes a checkpoint and
    the LoRA so far, and returns status "cancelled".
    """
    t_start, should_stop = time.perf_counter(), should_stop or (lambda: False)
    run = _prepare(config, Path(run_dir), emit, Path(cache_dir or Path(run_dir) / "cache"), threads)
    _resume(run, resume)
    opt_cfg, timer, status = config.optim, StepTimer(), "finished"
    t_loop, cpu_loop = time.perf_counter(), time.process_time()
    while run.step < opt_cfg.steps:
        lr = lr_at(run.step, opt_cfg)  # a pure function of the step
        if ranks.any_rank(run.acc, should_stop()):
            status = "cancelled"
            break
        _checkpoint_and_validate_when_due(run)
        timer.start()
        loss, grad_norm = _train_step(run, lr)  # forward, backward, clip, optimizer step
        run.step += 1
        run.losses.append((run.step, loss))
        timer.stop()
        if run.main:
            append_jsonl(run.run_dir / "losses.jsonl", {"step": run.step, "loss": loss, "lr": lr,
                                                         "grad_norm": grad_norm})
        run.emit(timer.progress(run.step, opt_cfg.steps, loss, lr))
    timings = {"train_s": time.perf_counter() - t_loop, "train_cpu_s": time.process_time() - cpu_loop,
               "steps_per_s": timer.steps_per_s()}
    return _finish(run, status, timings, t_start)


# -- prepare: derived values, data, model (base + LoRA), optimizer, resume ---------------------------------------

def _prepare(cfg: TrainConfig, run_dir: Path, emit: Emit | None, cache_dir: Path, threads: int | None) -> _Run:
    from trainer.models import load_components  # noqa: PLC0415  (heavy: diffusers)

    acc, autocast = _accelerator(cfg, threads)
    emit = (emit or (lambda event: None)) if acc.is_main_process else (lambda event: None)
    if acc.is_main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(run_dir / "config.json", json.loads(cfg.model_dump_json()))
    t0 = time.perf_counter()
    components = load_components(cfg.model, device=acc.device, phased=True)  # parts wait on the CPU
    data = _prepare_data(cfg, components, acc, emit, cache_dir)  # text phase, then VAE phase
    transformer = components.transformer
    torch.manual_seed(cfg.seed)  # LoRA A init, identical on every rank
    lora.add_lora(transformer, cfg.lora)
    transformer.train()  # from_pretrained leaves models in eval mode, which would switch LoRA dropout off
    if cfg.optim.gradient_checkpointing:
        transformer.enable_gradient_checkpointing()
    offload = cfg.model.offload == "blocks"
    if offload:  # after the LoRA is injected, so its layers travel with their blocks
        components.offloaded = ("transformer",)
        phases.apply_group_offload(transformer, acc.device, use_stream=acc.device.type == "cuda")
    phases.enter(components, "train")  # only the transformer on the GPU from here on
    if not cfg.lora.video_only and cfg.data.audio == "off":
        emit({"type": "progress", "message": "the audio-branch LoRA layers get no training signal from video-only "
                                             "data: they are exported untrained (B = 0)"})
    params = lora.lora_parameters(transformer)
    # Only the model goes through accelerate (DDP when several processes); the optimizer, backward and clipping
    # stay plain torch: with bf16 autocast there is no loss scaler for accelerate's wrappers to apply, and they
    # cost a few percent of a small model's step.
    return _Run(cfg=cfg, run_dir=run_dir, acc=acc, autocast=autocast, emit=emit, components=components, data=data,
                strategy=get_strategy(cfg, transformer),
                forward_kwargs=dict(components.spec.transformer_forward_kwargs), params=params,
                model=acc.prepare(transformer, device_placement=[not offload]),
                optimizer=make_optimizer(params, cfg.optim, emit),
                order=BatchOrder([it.bucket_key for it in data.train], cfg.optim.batch_size, cfg.seed),
                fp=checkpoints.fingerprint(cfg), t_setup=time.perf_counter() - t0)


def _accelerator(cfg: TrainConfig, threads: int | None) -> tuple[Any, Any]:
    """The Accelerator (one process, or one of several under torchrun) and the autocast context of each step."""
    from accelerate import Accelerator  # noqa: PLC0415
    from accelerate.utils import DistributedDataParallelKwargs  # noqa: PLC0415

    cuda = torch.cuda.is_available()
    if not cuda and threads:
        torch.set_num_threads(threads)
    bf16 = cuda and cfg.optim.mixed_precision in ("auto", "bf16")  # autocast on CUDA only: CPU bf16 is slow
    # Audio-branch LoRA parameters get no gradient from a video-only loss; DDP must be told, or it fails.
    ddp = DistributedDataParallelKwargs(find_unused_parameters=not cfg.lora.video_only)
    # Autocast is ours, not accelerate's: AcceleratorState is process-wide and refuses a second Accelerator with
    # another mixed_precision, which a worker running a bf16 job after an fp32 one would hit.
    acc = Accelerator(cpu=not cuda, kwargs_handlers=[ddp])
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16) if cuda else contextlib.nullcontext()
    return acc, autocast


def _prepare_data(cfg: TrainConfig, components, acc, emit: Emit, cache_dir: Path):
    from trainer.data import prepare_dataset  # noqa: PLC0415

    with acc.local_main_process_first():  # one process per machine encodes; the others then hit the cache
        data = prepare_dataset(cfg, components, cache_dir)
    if not data.train:
        raise LoraportError(f"no usable training clips in {cfg.data.dataset_dir}: add videos or images "
                            f"({supported_media()}) and check the per-file errors")
    if data.errors:  # bad files were skipped, not fatal: say which
        emit({"type": "progress", "message": f"skipped {len(data.errors)} file(s): " + "; ".join(
            f"{e.media}: {e.message}" for e in data.errors[:5])})
    if data.without_sound:  # an audio run: these clips train the picture only
        emit({"type": "progress", "message": sound_message(data)})
    return data


def _resume(run: _Run, resume: bool) -> None:
    """Continue from the latest complete checkpoint (weights, optimizer, RNG, loss history), if any."""
    latest = checkpoints.latest_checkpoint(run.ckpt_dir) if resume else None
    if latest is not None:
        ck = checkpoints.load_checkpoint(latest, run.fp, device=run.acc.device)
        lora.load_lora_state_dict(run.transformer, ck.lora)
        run.optimizer.load_state_dict(ck.optimizer)
        checkpoints.set_rng_state(ck.rng)
        run.step, run.losses, run.resumed_from = ck.step, ck.losses, ck.step
        run.holdout_curve = [tuple(x) for x in ck.extra.get("holdout_curve", [])]
        run.audio_curve = [tuple(x) for x in ck.extra.get("holdout_audio_curve", [])]
    if run.acc.num_processes > 1 and not ranks.same_on_all_ranks(run.acc, run.step):
        raise LoraportError(f"the processes found different checkpoints under {run.ckpt_dir}: with several "
                            "machines the run directory must be on a filesystem all of them see (NFS, Lustre, ...)")
    if run.main:
        write_jsonl(run.run_dir / "losses.jsonl", [{"step": s, "loss": v} for s, v in run.losses])
    run.emit({"type": "started", "step": run.step, "total": run.cfg.optim.steps,
              "message": f"resumed from step {run.step}" if latest is not None else "training started"})


# -- step -------------------------------------------------------------------------------------------------------

def _train_step(run: _Run, lr: float) -> tuple[float, float]:
    """One optimizer step over grad_accum micro-batches; returns (loss averaged over ranks, grad norm)."""
    opt_cfg, acc = run.cfg.optim, run.acc
    for group in run.optimizer.param_groups:
        group["lr"] = lr
    loss = 0.0
    for micro in range(opt_cfg.grad_accum):
        # This rank's micro-batch, unique overall; its generator draws clips, noise, timesteps and conditioning,
        # so a resumed run replays what the uninterrupted run would have drawn.
        index = (run.step * opt_cfg.grad_accum + micro) * acc.num_processes + acc.process_index
        gen = torch.Generator().manual_seed(run.cfg.seed * 1_000_003 + index)
        batch = collate([run.data.train[i] for i in run.order.batch(index)]).to(acc.device)
        inputs = run.strategy.prepare_inputs(batch, gen)
        last = micro == opt_cfg.grad_accum - 1
        with run.autocast, (contextlib.nullcontext() if last else acc.no_sync(run.model)):
            micro_loss = run.strategy.compute_loss(predict(run.model, inputs, run.forward_kwargs), inputs).mean()
            (micro_loss / opt_cfg.grad_accum).backward()
        loss += micro_loss.item() / opt_cfg.grad_accum
    loss = ranks.mean_over_ranks(acc, loss)
    if not math.isfinite(loss):  # stop before a NaN reaches the weights (the "black video" LoRA)
        raise LoraportError(f"training diverged at step {run.step + 1}: the loss is {loss}. Checkpoints up to "
                            f"step {run.step} are kept; start a new run with a lower learning rate (now {lr:g}) "
                            "or more warmup steps")
    grad_norm = float(torch.nn.utils.clip_grad_norm_(run.params, opt_cfg.max_grad_norm))  # DDP grads are synced
    run.optimizer.step()
    run.optimizer.zero_grad(set_to_none=True)
    return loss, grad_norm


# -- checkpoint and validate ------------------------------------------------------------------------------------

def _checkpoint_and_validate_when_due(run: _Run) -> None:
    """Before the step: checkpoint every N (not at 0 or where we resumed); validation samples every M, step 0
    included: the baseline the user compares later samples against."""
    step, cfg = run.step, run.cfg
    if step % cfg.checkpoints.every == 0 and step not in (0, run.resumed_from):
        _checkpoint(run, step)
    if cfg.validation.every and step % cfg.validation.every == 0 and step != run.resumed_from:
        _validate(run, step)


def _checkpoint(run: _Run, at_step: int) -> None:
    if run.main:
        if run.data.holdout:
            split = flow_losses(run.transformer, run.strategy, run.data.holdout, run.forward_kwargs)
            run.holdout_curve.append((at_step, split.total))
            if split.audio is not None:
                run.audio_curve.append((at_step, split.audio))
        path = checkpoints.save_checkpoint(
            run.ckpt_dir, at_step, lora=lora.lora_state_dict(run.transformer), optimizer=run.optimizer.state_dict(),
            rng=checkpoints.rng_state(), losses=run.losses, fp=run.fp, keep=run.cfg.checkpoints.keep,
            extra={"holdout_curve": run.holdout_curve, "holdout_audio_curve": run.audio_curve})
        run.emit({"type": "checkpoint", "step": at_step, "total": run.cfg.optim.steps, "path": str(path)})
    run.acc.wait_for_everyone()


def _validate(run: _Run, at_step: int) -> None:
    """Validation samples; the optimizer state waits in host RAM meanwhile (on a GPU), and a sample that runs the
    GPU out of memory is skipped with a message rather than ending the run."""
    from trainer.sample import render_validation  # noqa: PLC0415  (the pipelines load only when a run samples)

    if run.main and run.cfg.validation.every and run.cfg.validation.prompts:
        try:
            with phases.optimizer_state_on_cpu(run.optimizer, run.acc.device.type == "cuda"):
                render_validation(run.components, run.cfg, run.run_dir / "samples", at_step, run.emit, run.data)
        except torch.cuda.OutOfMemoryError:
            phases.enter(run.components, "train")
            run.emit({"type": "progress", "message": f"validation samples at step {at_step} skipped: the GPU ran "
                      "out of memory while rendering them. Training goes on; set vae_tiling = true, smaller "
                      "validation sizes, or validation_every = 0."})
    run.acc.wait_for_everyone()


# -- finish: last checkpoint and samples, holdout loss, LoRA file, report -----------------------------------------

def _finish(run: _Run, status: str, timings: dict, t_start: float) -> TrainResult:
    step, cfg = run.step, run.cfg
    if step != run.resumed_from:
        _checkpoint(run, step)
        if status == "finished" and cfg.validation.every:
            _validate(run, step)  # the final LoRA's samples
    holdout = base_holdout = audio_pair = None
    if run.main and run.data.holdout:
        last = run.holdout_curve[-1] if run.holdout_curve else None
        holdout = last[1] if last and last[0] == step else \
            flow_loss(run.transformer, run.strategy, run.data.holdout, run.forward_kwargs)
        with adapters_off(run.transformer):
            base = flow_losses(run.transformer, run.strategy, run.data.holdout, run.forward_kwargs)
        base_holdout, audio = base.total, run.audio_curve[-1] if run.audio_curve else None
        audio_pair = (audio[1], base.audio) if audio and audio[0] == step and base.audio is not None else None
    in_sync = ranks.replicas_in_sync(run.acc, run.params)
    lora_path = run.run_dir / "lora.safetensors"
    result = TrainResult(status=status, run_dir=run.run_dir, lora_path=lora_path, steps=step,
                         total_steps=cfg.optim.steps, final_loss=run.losses[-1][1] if run.losses else None,
                         losses=run.losses, holdout_loss=holdout, holdout_loss_base=base_holdout,
                         trigger_word=cfg.data.trigger_word, resumed_from=run.resumed_from,
                         **_audio_result(audio_pair))
    if run.main:
        meta = lora_metadata(cfg, steps=step, dataset_hash=run.data.dataset_hash, dataset_size=len(run.data.train),
                             extra={"loraport.status": status, "loraport.total_steps": cfg.optim.steps})
        export_lora(run.transformer, lora_path, meta, dtype=export_dtype(cfg))
        timings = {"setup_s": run.t_setup, **timings, "total_s": time.perf_counter() - t_start,
                   "world_size": run.acc.num_processes, "replicas_in_sync": in_sync}
        atomic_write_json(run.run_dir / "report.json", {
            **json.loads(result.model_dump_json()), "timings": timings, "holdout_curve": run.holdout_curve,
            "holdout_audio_curve": run.audio_curve,
            "peak_mem_mb": peak_mem_mb(), "data": _data_summary(run.data),
            "samples": read_jsonl(run.run_dir / "samples.jsonl")})
    run.acc.wait_for_everyone()
    return result


def _data_summary(data) -> dict:
    return {"train": len(data.train), "holdout": len(data.holdout), "dataset_hash": data.dataset_hash,
            "skipped": [{"media": e.media, "message": e.message} for e in data.errors], **data.stats,
            **sound_summary(data)}


def _audio_result(pair: tuple[float, float] | None) -> dict:
    return {} if pair is None else {"holdout_audio_loss": pair[0], "holdout_audio_loss_base": pair[1]}


def main(argv: list[str] | None = None) -> None:
    """`python -m trainer.train CONFIG.json RUN_DIR`: the entry point for torchrun / accelerate launch."""
    import sys  # noqa: PLC0415

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        raise SystemExit("usage: python -m trainer.train CONFIG.json RUN_DIR")
    cfg = TrainConfig.model_validate_json(Path(args[0]).read_text())
    try:
        result = run_training(cfg, Path(args[1]))
    except LoraportError as err:
        raise SystemExit(f"error: {err.message}") from err
    print(json.dumps({"status": result.status, "steps": result.steps, "lora_path": str(result.lora_path)}))


if __name__ == "__main__":
    main()
