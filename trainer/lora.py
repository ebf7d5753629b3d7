"""The LoRA adapter: a peft LoraConfig on the transformer's attention Linears, fp32 over the base weights.

Targets are the config's Linear names (default q/k/v/out.0) inside the attention families: `attn1` (video
self-attention) and `attn2` (video text cross-attention) for video-only training; the audio branch adds
`audio_attn1`, `audio_attn2`, `audio_to_video_attn`, `video_to_audio_attn` (LTX_FACTS: 6 families x 4 = the
default trainer LoRA). peft matches a string `target_modules` with `re.fullmatch` against module paths.
"""

import re

import torch
from diffusers.training_utils import cast_training_params
from peft import LoraConfig as PeftLoraConfig
from peft.utils import get_peft_model_state_dict, set_peft_model_state_dict

from core.errors import LoraportError
from trainer.config import LoraConfig

VIDEO_FAMILIES = ("attn1", "attn2")
AUDIO_FAMILIES = ("audio_attn1", "audio_attn2", "audio_to_video_attn", "video_to_audio_attn")
ADAPTER = "default"


def attention_families(cfg: LoraConfig) -> tuple[str, ...]:
    return VIDEO_FAMILIES if cfg.video_only else VIDEO_FAMILIES + AUDIO_FAMILIES


def target_regex(cfg: LoraConfig) -> str:
    """`transformer_blocks.N.<family>.<name>` for every family and configured Linear name."""
    families = "|".join(re.escape(f) for f in attention_families(cfg))
    names = "|".join(re.escape(n) for n in cfg.target_modules)
    return rf"transformer_blocks\.\d+\.({families})\.({names})"


def peft_config(cfg: LoraConfig) -> PeftLoraConfig:
    return PeftLoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout,
                          target_modules=target_regex(cfg), init_lora_weights=True)


def add_lora(transformer: torch.nn.Module, cfg: LoraConfig) -> list[str]:
    """Inject the adapter in place (diffusers' PeftAdapterMixin.add_adapter) and freeze everything else.

    LoRA parameters are cast to fp32 whatever the base dtype: bf16 updates of rank-r matrices lose most of a
    1e-4 step to rounding. Returns the adapted module paths.
    """
    transformer.requires_grad_(False)
    try:
        transformer.add_adapter(peft_config(cfg), adapter_name=ADAPTER)
    except ValueError as err:
        raise LoraportError(f"No Linear matches the LoRA targets {cfg.target_modules} in "
                            f"{'/'.join(attention_families(cfg))}: use names like to_q, to_k, to_v, to_out.0 "
                            f"({err})") from err
    cast_training_params(transformer, dtype=torch.float32)
    return adapted_modules(transformer)


def adapted_modules(transformer: torch.nn.Module) -> list[str]:
    return sorted(name for name, mod in transformer.named_modules() if hasattr(mod, "lora_A") and ADAPTER in mod.lora_A)


def lora_parameters(transformer: torch.nn.Module) -> list[torch.nn.Parameter]:
    return [p for p in transformer.parameters() if p.requires_grad]


def lora_state_dict(transformer: torch.nn.Module) -> dict[str, torch.Tensor]:
    """peft keys without the adapter name: `transformer_blocks.0.attn1.to_q.lora_A.weight` -> (r, in)."""
    state = get_peft_model_state_dict(transformer, adapter_name=ADAPTER)
    return {k: v.detach().clone().contiguous() for k, v in state.items()}


def load_lora_state_dict(transformer: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Inverse of lora_state_dict (resume). Refuses a file whose keys do not match the injected adapter."""
    expected = set(get_peft_model_state_dict(transformer, adapter_name=ADAPTER))
    if set(state) != expected:
        missing, extra = sorted(expected - set(state))[:3], sorted(set(state) - expected)[:3]
        raise LoraportError(f"checkpoint LoRA keys do not match this run (missing {missing}, unexpected {extra}): "
                            "start a new run or delete the run's checkpoints/")
    with torch.no_grad():
        set_peft_model_state_dict(transformer, state, adapter_name=ADAPTER)
