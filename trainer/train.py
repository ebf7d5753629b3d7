"""The training loop: one resolved TrainConfig in, a LoRA file, checkpoints and a report out.

Reads top to bottom like nanoGPT's train.py: config and derived values; data (cached latents); model (base +
peft LoRA); optimizer; resume; then the loop, whose body keeps one order: lr = lr_at(step) (a pure function),
maybe checkpoint / validate / stop, forward-backward-step, log. Everything random in the loop (which clips, the
noise, the timesteps, first-frame conditioning) is drawn from a generator seeded by (seed, micro-batch, rank),
so a resumed run replays exactly what the uninterrupted run would have done.

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
from pathlib import Path

import torch
from pydantic import BaseModel

from core.atomic import atomic_write_json
from core.errors import LoraportError
from core.settings import get_settings
from trainer import checkpoints, lora
from trainer.config import OptimConfig, TrainConfig
from trainer.batches import BatchOrder, collate
from trainer.export import export_lora, lora_metadata
from trainer.losses import adapters_off, flow_loss
from trainer.strategies import get_strategy, predict

Emit = Callable[[dict], None]
STEADY_AFTER = 2  # steps after (re)start excluded from speed and ETA: the first ones pay for warm-up


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


def lr_at(step: int, cfg: OptimConfig) -> float:
    """Learning rate before optimizer step `step` (0-based): linear warmup, then constant / linear / cosine to 0."""
    if step < cfg.warmup_steps:
        return cfg.learning_rate * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    if cfg.schedule == "linear":
        return cfg.learning_rate * (1.0 - progress)
    if cfg.schedule == "cosine":
        return cfg.learning_rate * 0.5 * (1.0 + math.cos(math.pi * progress))
    return cfg.learning_rate


def run_training(config: TrainConfig, run_dir: Path, *, emit: Emit | None = None,
                 should_stop: Callable[[], bool] | None = None, resume: bool = True) -> TrainResult:
    """Train a LoRA as `config` says, writing everything under `run_dir`; resumes from its latest checkpoint.

    `emit(event)` gets ARCHITECTURE.md's event dicts (started, progress, checkpoint; the caller adds job_id and
    the terminal event). `should_stop()` is polled before each step: True stops there, writes a checkpoint and
    the LoRA so far, and returns status "cancelled".
    """
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs

    from trainer.data import prepare_dataset
    from trainer.models import load_components

    t_start = time.perf_counter()
    should_stop = should_stop or (lambda: False)
    run_dir, cfg, opt_cfg = Path(run_dir), config, config.optim

    # -- derived values --------------------------------------------------------------------------------------
    cuda = torch.cuda.is_available()
    if not cuda and get_settings().torch_threads:  # small models on few cores: 1 thread is ~20x faster
        torch.set_num_threads(get_settings().torch_threads)
    bf16 = cuda and opt_cfg.mixed_precision in ("auto", "bf16")  # autocast on CUDA only: CPU bf16 is slow
    # Audio-branch LoRA parameters get no gradient from a video-only loss; DDP must be told, or it fails.
    ddp = DistributedDataParallelKwargs(find_unused_parameters=not cfg.lora.video_only)
    # Autocast is ours, not accelerate's: AcceleratorState is process-wide and refuses a second Accelerator with
    # another mixed_precision, which a worker running a bf16 job after an fp32 one would hit.
    acc = Accelerator(cpu=not cuda, kwargs_handlers=[ddp])
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16) if cuda else contextlib.nullcontext()
    rank, world, main = acc.process_index, acc.num_processes, acc.is_main_process
    emit = (emit or (lambda event: None)) if main else (lambda event: None)
    ckpt_dir, fp = run_dir / "checkpoints", checkpoints.fingerprint(cfg)
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(run_dir / "config.json", json.loads(cfg.model_dump_json()))

    # -- data and model (base + LoRA) ------------------------------------------------------------------------
    t0 = time.perf_counter()
    components = load_components(cfg.model, device=acc.device)
    transformer = components.transformer
    with acc.local_main_process_first():  # one process per machine encodes; the others then hit the cache
        data = prepare_dataset(cfg, components)
    if not data.train:
        raise LoraportError(f"no usable training clips in {cfg.data.dataset_dir}: add videos or images "
                            "(mp4, mov, webm, mkv, png, jpg, webp) and check the per-file errors")
    if data.errors:  # bad files were skipped, not fatal: say which
        emit({"type": "progress", "message": f"skipped {len(data.errors)} file(s): " + "; ".join(
            f"{e.media}: {e.message}" for e in data.errors[:5])})
    if cuda:  # the text encoder and VAE are idle until validation: give their memory to training
        _move_encoders(components, "cpu")
    torch.manual_seed(cfg.seed)  # LoRA A init, identical on every rank
    lora.add_lora(transformer, cfg.lora)
    transformer.train()  # from_pretrained leaves models in eval mode, which would switch LoRA dropout off
    if opt_cfg.gradient_checkpointing:
        transformer.enable_gradient_checkpointing()
    if not cfg.lora.video_only:
        emit({"type": "progress", "message": "the audio-branch LoRA layers get no training signal from video-only "
                                             "data: they are exported untrained (B = 0)"})
    strategy = get_strategy(cfg, transformer)
    forward_kwargs = dict(components.spec.transformer_forward_kwargs)
    params = lora.lora_parameters(transformer)
    # Only the model goes through accelerate (DDP when several processes); the optimizer, backward and clipping
    # stay plain torch: with bf16 autocast there is no loss scaler for accelerate's wrappers to apply, and they
    # cost a few percent of a small model's step.
    model, optimizer = acc.prepare(transformer), _optimizer(params, opt_cfg, emit)
    order = BatchOrder([tuple(it.latents.shape) for it in data.train], opt_cfg.batch_size, cfg.seed)
    t_setup = time.perf_counter() - t0

    # -- resume ----------------------------------------------------------------------------------------------
    step, losses, holdout_curve, resumed_from = 0, [], [], None
    latest = checkpoints.latest_checkpoint(ckpt_dir) if resume else None
    if latest is not None:
        ck = checkpoints.load_checkpoint(latest, fp, device=acc.device)
        lora.load_lora_state_dict(transformer, ck.lora)
        optimizer.load_state_dict(ck.optimizer)
        checkpoints.set_rng_state(ck.rng)
        step, losses, resumed_from = ck.step, ck.losses, ck.step
        holdout_curve = [tuple(x) for x in ck.extra.get("holdout_curve", [])]
    if world > 1 and not _same_on_all_ranks(acc, step):
        raise LoraportError(f"the processes found different checkpoints under {ckpt_dir}: with several machines "
                            "the run directory must be on a filesystem all of them see (NFS, Lustre, ...)")
    if main:
        _write_jsonl(run_dir / "losses.jsonl", [{"step": s, "loss": v} for s, v in losses])
    emit({"type": "started", "step": step, "total": opt_cfg.steps,
          "message": f"resumed from step {step}" if latest is not None else "training started"})

    def checkpoint(at_step: int) -> None:
        if main:
            if data.holdout:
                holdout_curve.append((at_step, flow_loss(transformer, strategy, data.holdout, forward_kwargs)))
            path = checkpoints.save_checkpoint(
                ckpt_dir, at_step, lora=lora.lora_state_dict(transformer), optimizer=optimizer.state_dict(),
                rng=checkpoints.rng_state(), losses=losses, fp=fp, keep=cfg.checkpoints.keep,
                extra={"holdout_curve": holdout_curve})
            emit({"type": "checkpoint", "step": at_step, "total": opt_cfg.steps, "path": str(path)})
        acc.wait_for_everyone()

    def validate(at_step: int) -> None:
        if main and cfg.validation.every and cfg.validation.prompts:
            _sample(components, cfg, run_dir / "samples", at_step, emit)
        acc.wait_for_everyone()

    # -- the loop --------------------------------------------------------------------------------------------
    timer, status, t_loop, cpu_loop = _StepTimer(), "finished", time.perf_counter(), time.process_time()
    while step < opt_cfg.steps:
        lr = lr_at(step, opt_cfg)
        if _any_rank(acc, should_stop()):
            status = "cancelled"
            break
        if step % cfg.checkpoints.every == 0 and step not in (0, resumed_from):
            checkpoint(step)
        if cfg.validation.every and step % cfg.validation.every == 0 and step != resumed_from:
            validate(step)  # step 0 too: the baseline the user compares later samples against
        for group in optimizer.param_groups:
            group["lr"] = lr

        timer.start()
        loss = 0.0
        for micro in range(opt_cfg.grad_accum):
            index = (step * opt_cfg.grad_accum + micro) * world + rank  # this rank's micro-batch, unique overall
            gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + index)
            inputs = strategy.prepare_inputs(collate([data.train[i] for i in order.batch(index)]).to(acc.device), gen)
            last = micro == opt_cfg.grad_accum - 1
            with autocast, (contextlib.nullcontext() if last else acc.no_sync(model)):
                micro_loss = strategy.compute_loss(predict(model, inputs, forward_kwargs), inputs).mean()
                (micro_loss / opt_cfg.grad_accum).backward()
            loss += micro_loss.item() / opt_cfg.grad_accum
        loss = _mean_over_ranks(acc, loss)
        if not math.isfinite(loss):  # stop before a NaN reaches the weights (the "black video" LoRA)
            raise LoraportError(f"training diverged at step {step + 1}: the loss is {loss}. Checkpoints up to "
                                f"step {step} are kept; start a new run with a lower learning rate (now {lr:g}) "
                                "or more warmup steps")
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, opt_cfg.max_grad_norm))  # DDP grads are synced
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1

        losses.append((step, loss))
        timer.stop()
        if main:
            _append_jsonl(run_dir / "losses.jsonl", {"step": step, "loss": loss, "lr": lr, "grad_norm": grad_norm})
        emit(timer.progress(step, opt_cfg.steps, loss, lr))

    # -- the end: checkpoint, LoRA file, holdout loss, report ------------------------------------------------
    t_train, cpu_train = time.perf_counter() - t_loop, time.process_time() - cpu_loop
    if step != resumed_from:
        checkpoint(step)
        if status == "finished" and cfg.validation.every:
            validate(step)  # the final LoRA's samples
    holdout = base_holdout = None
    if main and data.holdout:
        holdout = holdout_curve[-1][1] if holdout_curve and holdout_curve[-1][0] == step else \
            flow_loss(transformer, strategy, data.holdout, forward_kwargs)
        with adapters_off(transformer):
            base_holdout = flow_loss(transformer, strategy, data.holdout, forward_kwargs)
    in_sync = _replicas_in_sync(acc, params)
    lora_path = run_dir / "lora.safetensors"
    result = TrainResult(status=status, run_dir=run_dir, lora_path=lora_path, steps=step, total_steps=opt_cfg.steps,
                         final_loss=losses[-1][1] if losses else None, losses=losses, holdout_loss=holdout,
                         holdout_loss_base=base_holdout, trigger_word=cfg.data.trigger_word,
                         resumed_from=resumed_from)
    if main:
        meta = lora_metadata(cfg, steps=step, dataset_hash=data.dataset_hash, dataset_size=len(data.train),
                             extra={"loraport.status": status, "loraport.total_steps": opt_cfg.steps})
        export_lora(transformer, lora_path, meta)
        timings = {"setup_s": t_setup, "train_s": t_train, "train_cpu_s": cpu_train, "total_s": time.perf_counter() - t_start,
                   "steps_per_s": timer.steps_per_s(), "world_size": world, "replicas_in_sync": in_sync}
        atomic_write_json(run_dir / "report.json", {**json.loads(result.model_dump_json()), "timings": timings,
                                                    "holdout_curve": holdout_curve, "peak_mem_mb": _peak_mem_mb(),
                                                    "data": _data_summary(data)})
    acc.wait_for_everyone()
    return result


def _data_summary(data) -> dict:
    return {"train": len(data.train), "holdout": len(data.holdout), "dataset_hash": data.dataset_hash,
            "skipped": [{"media": e.media, "message": e.message} for e in data.errors], **data.stats}


def _optimizer(params: list, cfg: OptimConfig, emit: Emit) -> torch.optim.Optimizer:
    """AdamW; bitsandbytes' AdamW8bit when asked and possible (it needs CUDA), else AdamW with a message."""
    if cfg.optimizer == "adamw8bit":
        try:
            import bitsandbytes as bnb  # noqa: PLC0415  (optional GPU dependency)
        except ImportError:
            bnb = None
        if bnb is not None and torch.cuda.is_available():
            return bnb.optim.AdamW8bit(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
        why = "CUDA is not available" if bnb is not None else "bitsandbytes is not installed"
        emit({"type": "progress", "message": f"AdamW8bit asked for but {why}: using AdamW (optimizer state "
                                             "takes 4x the memory; install bitsandbytes on a CUDA machine)"})
    return torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)


def _any_rank(acc, flag: bool) -> bool:
    """Stop together: one rank seeing the cancel flag must stop them all, or DDP hangs in the next all-reduce."""
    if acc.num_processes == 1:
        return flag
    return bool(acc.reduce(torch.tensor([float(flag)], device=acc.device), reduction="sum").item() > 0)


def _replicas_in_sync(acc, params: list) -> bool | None:
    """DDP keeps replicas identical by averaging gradients; check it once, cheaply: per-tensor float64 sums
    of the LoRA weights, gathered from every rank, must agree exactly. None for a single process."""
    if acc.num_processes == 1:
        return None
    sums = torch.stack([p.detach().double().sum() for p in params])[None]  # (1, n_tensors)
    every = acc.gather(sums)  # (world, n_tensors)
    return bool((every == every[0]).all().item())


def _same_on_all_ranks(acc, value: int) -> bool:
    every = acc.gather(torch.tensor([value], device=acc.device))
    return bool((every == every[0]).all().item())


def _mean_over_ranks(acc, value: float) -> float:
    if acc.num_processes == 1:
        return value
    return acc.reduce(torch.tensor([value], device=acc.device), reduction="mean").item()


class _StepTimer:
    """it/s and ETA from steady-state step time only: the first steps after a (re)start pay for warm-up, and
    checkpoints and validation samples happen between start() and stop() of no step."""

    def __init__(self):
        self.count, self.t0 = 0, 0.0
        self.steady_time, self.steady_steps = 0.0, 0

    def start(self) -> None:
        self.t0 = time.perf_counter()

    def stop(self) -> None:
        self.count += 1
        if self.count > STEADY_AFTER:
            self.steady_time += time.perf_counter() - self.t0
            self.steady_steps += 1

    def steps_per_s(self) -> float | None:
        return self.steady_steps / self.steady_time if self.steady_steps and self.steady_time > 0 else None

    def progress(self, step: int, total: int, loss: float, lr: float) -> dict:
        rate = self.steps_per_s()
        return {"type": "progress", "step": step, "total": total, "loss": loss, "lr": lr, "it_per_s": rate,
                "eta_s": (total - step) / rate if rate else None, "peak_mem_mb": _peak_mem_mb()}


def _sample(components, cfg: TrainConfig, out_dir: Path, step: int, emit: Emit) -> None:
    """Validation clips at fixed seeds through LTX2Pipeline, with the adapter as it is now (dropout off)."""
    from trainer.sample import generate  # noqa: PLC0415

    v, transformer = cfg.validation, components.transformer
    trigger = (cfg.data.trigger_word or "").strip()
    cuda = transformer.device.type == "cuda"
    if cuda:
        _move_encoders(components, transformer.device)
    transformer.eval()
    try:
        for i, prompt in enumerate(v.prompts):
            # Captions got the trigger at preprocessing; prompts get it the same way.
            text = prompt if not trigger or trigger in prompt.split() else f"{trigger} {prompt}"
            for seed in v.seeds:
                res = generate(components, text, seed=seed, width=v.width, height=v.height, frames=v.frames,
                               steps=v.inference_steps, out_dir=out_dir, name=f"step-{step:06d}-p{i}-s{seed}")
                emit({"type": "sample", "step": step, "path": str(res.mp4_path), "message": text})
    finally:
        transformer.train()
        if cuda:
            _move_encoders(components, "cpu")


def _move_encoders(components, device) -> None:
    for part in (components.text_encoder, components.vae):
        part.to(device)
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _peak_mem_mb() -> float:
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    import resource  # noqa: PLC0415  (POSIX only; CPU runs report the process's peak RSS)

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    from core.atomic import atomic_write_text  # noqa: PLC0415

    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in rows))


def _append_jsonl(path: Path, row: dict) -> None:
    # Appends are not atomic; a torn last line is rewritten from the checkpoint's history on resume.
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")


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
