"""The LoRA adapter: a peft LoraConfig on Linears inside the transformer blocks, fp32 over the base weights.

A target name is one of two kinds, as in ltx-trainer's configs:
- a Linear name inside the attention families (`to_q`, `to_k`, `to_v`, `to_out.0`, `to_gate_logits`): adapted in
  `attn1` (video self-attention) and `attn2` (video text cross-attention), plus, without `video_only`,
  `audio_attn1`, `audio_attn2`, `audio_to_video_attn` and `video_to_audio_attn` (6 families x 4 = the default
  trainer LoRA);
- a path inside a transformer block, starting with one of its parts (`attn1.to_q`, `ff.net.0.proj`, `ff.net.2`,
  `audio_ff.net.0.proj`, ...): adapted exactly there, in every block. `ff.net.*` is the video feed-forward,
  `audio_ff.net.*` the audio one.
Every name must adapt at least one Linear, or training refuses to start (a silently dropped target is a LoRA
without the capacity the user asked for). peft matches a string `target_modules` with `re.fullmatch` against
module paths.
"""

import re
from typing import TYPE_CHECKING

import torch

from core.errors import LoraportError
from trainer.config import LoraConfig

# peft (which loads transformers) and diffusers.training_utils (most of diffusers' model classes) cost seconds to
# import; they are imported where an adapter is built or read, because the agent and the CLI import this module
# through trainer.checkpoints only to list checkpoints.
if TYPE_CHECKING:
    from peft import LoraConfig as PeftLoraConfig

VIDEO_FAMILIES = ("attn1", "attn2")
AUDIO_FAMILIES = ("audio_attn1", "audio_attn2", "audio_to_video_attn", "video_to_audio_attn")
FEED_FORWARDS = ("ff", "audio_ff")  # video and audio feed-forward: Linears `net.0.proj` (in) and `net.2` (out)
BLOCK_PARTS = VIDEO_FAMILIES + AUDIO_FAMILIES + FEED_FORWARDS
AUDIO_PARTS = AUDIO_FAMILIES + ("audio_ff",)
ADAPTER = "default"


def attention_families(cfg: LoraConfig) -> tuple[str, ...]:
    return VIDEO_FAMILIES if cfg.video_only else VIDEO_FAMILIES + AUDIO_FAMILIES


def split_targets(names: list[str]) -> tuple[list[str], list[str]]:
    """(Linear names adapted in every attention family, paths inside a block adapted exactly there)."""
    in_block = [n for n in names if n.split(".")[0] in BLOCK_PARTS]
    return [n for n in names if n not in in_block], in_block


def target_regex(cfg: LoraConfig) -> str:
    """One regex over module paths: `transformer_blocks.N.<family>.<name>` for every family and Linear name, and
    `transformer_blocks.N.<path>` for each path inside a block."""
    return _regex(cfg, cfg.target_modules)


def _regex(cfg: LoraConfig, names: list[str]) -> str:
    inner, in_block = split_targets(names)
    families = "|".join(re.escape(f) for f in attention_families(cfg))
    attention = rf"({families})\.({'|'.join(re.escape(n) for n in inner)})" if inner else ""
    if not in_block:  # the attention-only form, unchanged so older checkpoints' fingerprints still match
        return rf"transformer_blocks\.\d+\.{attention}"
    paths = "|".join(re.escape(n) for n in in_block)
    return rf"transformer_blocks\.\d+\.(?:{attention + '|' if attention else ''}{paths})"


def check_targets(transformer: torch.nn.Module, cfg: LoraConfig) -> None:
    """Refuse a target that would adapt nothing: unknown, not a Linear, or in the audio branch under video_only."""
    if not cfg.target_modules:
        raise LoraportError("no LoRA targets given: use e.g. targets=to_q,to_k,to_v,to_out.0")
    audio = [n for n in split_targets(cfg.target_modules)[1] if n.split(".")[0] in AUDIO_PARTS]
    if audio and cfg.video_only:
        raise LoraportError(f"LoRA targets {', '.join(audio)} are in the audio branch, but video_only is on: "
                            "set video_only=false to train the audio branch, or drop them.")
    # A Linear that an earlier (since deleted) adapter wrapped is a peft layer around its `base_layer`.
    linears = [n for n, m in transformer.named_modules()
               if isinstance(m, torch.nn.Linear) or isinstance(getattr(m, "base_layer", None), torch.nn.Linear)]
    unmatched = [n for n in cfg.target_modules
                 if not any(re.fullmatch(_regex(cfg, [n]), path) for path in linears)]
    if unmatched:
        raise LoraportError(
            f"LoRA target(s) {', '.join(unmatched)} match no Linear layer in {type(transformer).__name__}. Use "
            f"names inside the attention blocks ({'/'.join(attention_families(cfg))}): to_q, to_k, to_v, to_out.0, "
            "to_gate_logits; or paths inside a transformer block: attn1.to_q, attn2.to_out.0, ff.net.0.proj, "
            "ff.net.2 (video feed-forward), audio_ff.net.0.proj, audio_ff.net.2.")


def peft_config(cfg: LoraConfig) -> "PeftLoraConfig":
    from peft import LoraConfig as PeftLoraConfig

    return PeftLoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout,
                          target_modules=target_regex(cfg), init_lora_weights=True)


def add_lora(transformer: torch.nn.Module, cfg: LoraConfig) -> list[str]:
    """Inject the adapter in place (diffusers' PeftAdapterMixin.add_adapter) and freeze everything else.

    LoRA parameters are cast to fp32 whatever the base dtype: bf16 updates of rank-r matrices lose most of a
    1e-4 step to rounding. Returns the adapted module paths.
    """
    check_targets(transformer, cfg)
    transformer.requires_grad_(False)
    try:
        transformer.add_adapter(peft_config(cfg), adapter_name=ADAPTER)
    except ValueError as err:
        raise LoraportError(f"the LoRA targets {cfg.target_modules} cannot be adapted: {err}") from err
    from diffusers.training_utils import cast_training_params

    cast_training_params(transformer, dtype=torch.float32)
    return adapted_modules(transformer)


def adapted_modules(transformer: torch.nn.Module) -> list[str]:
    return sorted(name for name, mod in transformer.named_modules() if hasattr(mod, "lora_A") and ADAPTER in mod.lora_A)


def lora_parameters(transformer: torch.nn.Module) -> list[torch.nn.Parameter]:
    return [p for p in transformer.parameters() if p.requires_grad]


def lora_state_dict(transformer: torch.nn.Module) -> dict[str, torch.Tensor]:
    """peft keys without the adapter name: `transformer_blocks.0.attn1.to_q.lora_A.weight` -> (r, in)."""
    from peft.utils import get_peft_model_state_dict

    state = get_peft_model_state_dict(transformer, adapter_name=ADAPTER)
    return {k: v.detach().clone().contiguous() for k, v in state.items()}


def load_lora_state_dict(transformer: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Inverse of lora_state_dict (resume). Refuses a file whose keys do not match the injected adapter."""
    from peft.utils import get_peft_model_state_dict, set_peft_model_state_dict

    expected = set(get_peft_model_state_dict(transformer, adapter_name=ADAPTER))
    if set(state) != expected:
        missing, extra = sorted(expected - set(state))[:3], sorted(set(state) - expected)[:3]
        raise LoraportError(f"checkpoint LoRA keys do not match this run (missing {missing}, unexpected {extra}): "
                            "start a new run or delete the run's checkpoints/")
    with torch.no_grad():
        set_peft_model_state_dict(transformer, state, adapter_name=ADAPTER)
