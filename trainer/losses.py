"""Held-out flow-matching loss: the one number that says whether a LoRA learned the data, with or without it.

The training loss is noisy (a random timestep per step); this one is not: every item is scored at the same
`n_timesteps` noise levels s_k = (k + 0.5) / n with the same noise (from `seed`), no first-frame conditioning.
Two runs, or a LoRA and the base, are then compared on identical inputs.
"""

from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from trainer.batches import collate
from trainer.strategies import ICLora, Strategy, TextToVideo, predict

EVAL_ADAPTER = "loraport_eval"


@dataclass(frozen=True)
class FlowLosses:
    """Held-out flow losses, split by modality. `total` is what training minimises (video + audio where a clip
    has sound); `video` and `audio` are each modality's mean, `audio` over the clips with sound only."""

    total: float
    video: float
    audio: float | None  # None: no item has sound in this run
    audio_items: int = 0


@torch.no_grad()
def flow_losses(transformer, strategy: Strategy, items: Sequence, forward_kwargs: dict | None = None, *,
                seed: int = 0, n_timesteps: int = 8) -> FlowLosses:
    """Mean masked flow losses of `transformer` (as it is: adapters on or off) over items x fixed timesteps."""
    was_training = transformer.training
    transformer.eval()  # LoRA dropout off
    device = next(transformer.parameters()).device
    total = video = audio = 0.0
    audio_n = 0
    try:
        for i, item in enumerate(items):
            batch = collate([item]).to(device)
            for k in range(n_timesteps):
                gen = torch.Generator().manual_seed(seed * 1_000_003 + i * 1009 + k)
                sigma = torch.tensor([(k + 0.5) / n_timesteps])
                inputs = strategy.prepare_inputs(batch, gen, sigma=sigma)
                v, a = strategy.modality_losses(predict(transformer, inputs, forward_kwargs), inputs)
                video += v.item()
                total += v.item() + (a.item() if a is not None else 0.0)
                if a is not None:
                    audio += a.item()
                    audio_n += 1
    finally:
        transformer.train(was_training)
    n = max(1, len(items) * n_timesteps)
    return FlowLosses(total / n, video / n, audio / audio_n if audio_n else None, audio_n // max(1, n_timesteps))


def flow_loss(transformer, strategy: Strategy, items: Sequence, forward_kwargs: dict | None = None, *, seed: int = 0,
              n_timesteps: int = 8) -> float:
    """The total of `flow_losses`: one number per run or checkpoint."""
    return flow_losses(transformer, strategy, items, forward_kwargs, seed=seed, n_timesteps=n_timesteps).total


def holdout_losses(components, items: Sequence, lora_path: Path | None = None, seed: int = 0,
                   n_timesteps: int = 8) -> FlowLosses:
    """Flow losses of the base model, or of the base with the LoRA file at `lora_path`, over cached items.

    The file is loaded the way users load it (diffusers' LTX-2 LoRA loader, which converts `diffusion_model.`
    keys) and removed afterwards, so `components` is left as it was. Items with sound are scored on both
    modalities together (cross-modal attention on), as they trained.
    """
    transformer = components.transformer
    kind = ICLora if getattr(items[0], "ref_latents", None) is not None else TextToVideo
    strategy = kind(transformer)
    kwargs = components.spec.transformer_forward_kwargs
    if lora_path is None:
        return flow_losses(transformer, strategy, items, kwargs, seed=seed, n_timesteps=n_timesteps)
    with _loaded(transformer, Path(lora_path)):
        return flow_losses(transformer, strategy, items, kwargs, seed=seed, n_timesteps=n_timesteps)


def holdout_loss(components, items: Sequence, lora_path: Path | None = None, seed: int = 0,
                 n_timesteps: int = 8) -> float:
    """The total of `holdout_losses` (used by evaluation and checkpoint comparison)."""
    return holdout_losses(components, items, lora_path, seed, n_timesteps).total


@contextmanager
def _loaded(transformer, lora_path: Path):
    from diffusers.loaders.lora_pipeline import LTX2LoraLoaderMixin

    from core.errors import LoraportError

    if not lora_path.is_file():
        raise LoraportError(f"LoRA file {lora_path} does not exist: pass the .safetensors a run produced")
    state, meta = LTX2LoraLoaderMixin.lora_state_dict(str(lora_path), return_lora_metadata=True)
    state = {k: v for k, v in state.items() if k.startswith("transformer.")}
    transformer.load_lora_adapter(state, prefix="transformer", adapter_name=EVAL_ADAPTER, metadata=meta)
    try:
        yield
    finally:
        transformer.delete_adapters(EVAL_ADAPTER)


@contextmanager
def adapters_off(transformer):
    """The base model's output: peft adapters disabled for the duration (diffusers' PeftAdapterMixin)."""
    transformer.disable_adapters()
    try:
        yield
    finally:
        transformer.enable_adapters()
