"""Base-weight quantisation of the frozen transformer: torchao int8 / float8 weight-only, bitsandbytes NF4.

- ``int8`` / ``float8``: torchao's weight-only configs (``Int8WeightOnlyConfig``, ``Float8WeightOnlyConfig``),
  through diffusers' ``TorchAoConfig`` when a part is loaded with ``from_pretrained``, or torchao's ``quantize_``
  on a part built in memory (the tiny model, a single-file checkpoint). Both run on CPU and GPU, under peft LoRA,
  gradient checkpointing and backward. About half of bf16's memory.
- ``nf4``: bitsandbytes 4-bit NormalFloat through diffusers' ``BitsAndBytesConfig`` (a CUDA GPU and
  bitsandbytes >= 0.48, whose ``.to()`` works on quantised diffusers models). About a quarter of bf16's memory.

The LoRA itself always trains in fp32 over the quantised base.
"""

import importlib.metadata
import importlib.util
import json
import tempfile
from pathlib import Path

import torch

from core.errors import LoraportError

KINDS = ("none", "int8", "float8", "nf4")
BNB_MIN = (0, 48)


def _bnb_version() -> tuple[int, int] | None:
    if importlib.util.find_spec("bitsandbytes") is None:
        return None
    parts = importlib.metadata.version("bitsandbytes").split(".")
    return int(parts[0]), int(parts[1])


def check(kind: str, device: str | torch.device) -> None:
    """Refuse, with the reason and the fix, a quantisation this machine cannot run."""
    if kind not in KINDS:
        raise LoraportError(f"unknown base quantisation {kind!r}: choose one of {', '.join(KINDS)}.")
    if kind in ("int8", "float8") and importlib.util.find_spec("torchao") is None:
        raise LoraportError(f"{kind} base weights need the torchao package (pip install 'torchao>=0.16'), or set "
                            "quantize_base = none.")
    if kind == "nf4":
        if torch.device(device).type != "cuda":
            raise LoraportError("NF4 (4-bit) base weights need a CUDA GPU (bitsandbytes has no CPU kernels for "
                                "training); on this machine use quantize_base = int8 or none.")
        version = _bnb_version()
        if version is None or version < BNB_MIN:
            have = "not installed" if version is None else f"{version[0]}.{version[1]}"
            raise LoraportError(f"NF4 base weights need bitsandbytes >= 0.48 (here: {have}); install it with "
                                "pip install 'loraport[gpu]', or use quantize_base = int8.")


def torchao_config(kind: str):
    from torchao.quantization import Float8WeightOnlyConfig, Int8WeightOnlyConfig

    return {"int8": Int8WeightOnlyConfig, "float8": Float8WeightOnlyConfig}[kind]()


def bnb_config(compute_dtype: torch.dtype):
    import diffusers

    return diffusers.BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                        bnb_4bit_compute_dtype=compute_dtype)


def from_pretrained_kwargs(kind: str, compute_dtype: torch.dtype) -> dict:
    """Keyword arguments for a diffusers ``from_pretrained`` that quantise while loading."""
    import diffusers

    if kind in ("int8", "float8"):
        return {"quantization_config": diffusers.TorchAoConfig(torchao_config(kind))}
    if kind == "nf4":
        return {"quantization_config": bnb_config(compute_dtype), "device_map": "cuda"}
    return {}


def quantize_in_place(module: torch.nn.Module, kind: str, compute_dtype: torch.dtype) -> torch.nn.Module:
    """Quantise a part already in memory; returns the module to use (NF4 builds a new one on the GPU)."""
    if kind in ("int8", "float8"):
        from torchao.quantization import quantize_

        quantize_(module, torchao_config(kind))
        return module
    if kind == "nf4":
        return _nf4_from_memory(module, compute_dtype)
    return module


def _nf4_from_memory(module: torch.nn.Module, compute_dtype: torch.dtype) -> torch.nn.Module:
    """bitsandbytes quantises while loading: hand the in-memory weights to diffusers' ``from_single_file`` as a
    state dict already in diffusers' names (its LTX-2 converter leaves such names unchanged)."""
    cls = type(module)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "transformer").mkdir()
        config = {k: v for k, v in dict(module.config).items() if not k.startswith("_")}
        config["_class_name"] = cls.__name__
        (Path(tmp) / "transformer" / "config.json").write_text(json.dumps(config, default=list))
        state = module.state_dict()
        return cls.from_single_file(state, config=tmp, subfolder="transformer", torch_dtype=compute_dtype,
                                    quantization_config=bnb_config(compute_dtype), local_files_only=True)


def is_quantized(module: torch.nn.Module) -> bool:
    """True when a part's weights are torchao or bitsandbytes tensors (``.to(dtype)`` must not touch them)."""
    if getattr(module, "is_quantized", False):
        return True
    for p in module.parameters():
        if type(p.data).__module__.startswith(("torchao", "bitsandbytes")):
            return True
    return False


def text_encoder_mode(asked: str, device: str | torch.device, weight_bytes: int) -> str:
    """The text encoder's mode for this run: ``auto`` picks the first of bf16 / int8 / nf4 whose weights (with a
    tenth for activations) fit the GPU's memory, else the CPU; bitsandbytes modes need CUDA and bitsandbytes."""
    dev = torch.device(device)
    if asked not in ("auto", "bf16", "cpu"):
        if dev.type != "cuda" or (_bnb_version() or (0, 0)) < BNB_MIN:
            raise LoraportError(f"text_encoder = {asked} needs a CUDA GPU and bitsandbytes >= 0.48; use bf16 or "
                                "cpu here.")
        return asked
    if asked != "auto" or dev.type != "cuda":
        return "bf16" if asked == "auto" else asked
    total = torch.cuda.get_device_properties(dev).total_memory
    for mode, share in (("bf16", 1.0), ("int8", 0.55), ("nf4", 0.3)):
        if mode != "bf16" and (_bnb_version() or (0, 0)) < BNB_MIN:
            break
        if weight_bytes * share * 1.1 < total:
            return mode
    return "cpu"


def text_encoder_kwargs(mode: str, device: str | torch.device) -> dict:
    """transformers ``from_pretrained`` arguments for Gemma in 8 or 4 bits (bitsandbytes), loaded on ``device``."""
    if mode not in ("int8", "nf4"):
        return {}
    import transformers

    config = (transformers.BitsAndBytesConfig(load_in_8bit=True) if mode == "int8" else
              transformers.BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                              bnb_4bit_compute_dtype=torch.bfloat16))
    return {"quantization_config": config, "device_map": {"": torch.device(device)}}
