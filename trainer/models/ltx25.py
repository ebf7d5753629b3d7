"""Real LTX-2.5 weights from local paths: the LTX-2.x loader's layouts and guarantees, with 2.5's text encoder.

Accepted layouts are ``trainer.models.ltx2``'s (a diffusers-format folder, or a single-file transformer plus a
diffusers-format folder as ``text_encoder_path``); its path checks, int8 option and per-part loaders are reused.
What 2.5 changes here:
- the text encoder is an LTX-tuned Gemma 4, loaded as ``Gemma4UnifiedForConditionalGeneration`` (the class
  ``LTX2Pipeline`` takes for LTX-2.5). A folder of another class (Gemma 3, or the ``Gemma4ForConditionalGeneration``
  chat model that LTX-2.5 ships only as its prompt enhancer) is refused. Weights of the right class cannot be told
  apart from stock Gemma 4 by their shapes: use the ``text_encoder/`` of the LTX-2.5 folder;
- the vocoder class is the one the folder's ``model_index.json`` names;
- the transformer must have no video feed-forward bias (``ff_bias=False``), which is what makes it 2.5 and not 2.3.
Never downloads (``local_files_only=True`` everywhere).
"""

import json
from pathlib import Path

import torch

from core.errors import LoraportError
from trainer.config import ModelConfig
from trainer.models import ltx2
from trainer.models.spec import ModelSpec

_PARTS = ("vae", "audio_vae", "connectors", "scheduler")
_TEXT_CLASS = "Gemma4UnifiedForConditionalGeneration"


def load_ltx25_parts(model_cfg: ModelConfig, spec: ModelSpec, dtype: torch.dtype) -> dict:
    """Load every part of a real LTX-2.5 model; see the module docstring for the accepted layouts."""
    path, te = ltx2._check(model_cfg, spec)
    base = path if path.is_dir() else te
    te_folder = te if te is not None and not ltx2._is_diffusers_folder(te) else base / "text_encoder"
    tok_folder = te if te_folder == te else base / "tokenizer"
    _check_text_encoder(te_folder)
    try:
        parts = {"transformer": _transformer(model_cfg, path, base, dtype)}
        for name in _PARTS:
            parts[name] = ltx2._from_folder(base, name, dtype)
        parts["vocoder"] = _vocoder(base, dtype)
        import transformers

        parts["text_encoder"] = transformers.Gemma4UnifiedForConditionalGeneration.from_pretrained(
            te_folder, dtype=dtype, local_files_only=True)
        parts["tokenizer"] = transformers.AutoTokenizer.from_pretrained(tok_folder, local_files_only=True)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise LoraportError(f"Could not load {spec.id} from {path}: {exc}. Check that the folder is a complete "
                            f"diffusers-format {spec.id} copy (nothing is downloaded).") from exc
    check_is_25(parts["transformer"], spec)
    for module in parts.values():
        if isinstance(module, torch.nn.Module):
            module.eval().requires_grad_(False)
    return parts


def _transformer(model_cfg: ModelConfig, path: Path, base: Path, dtype: torch.dtype):
    import diffusers

    if path.is_file():
        return diffusers.LTX2VideoTransformer3DModel.from_single_file(
            str(path), config=str(base), subfolder="transformer", torch_dtype=dtype, local_files_only=True,
            **ltx2._transformer_kwargs(model_cfg))
    return ltx2._from_folder(base, "transformer", dtype, ltx2._transformer_kwargs(model_cfg))


def _vocoder(base: Path, dtype: torch.dtype):
    from diffusers.pipelines.ltx2 import vocoder as vocoders

    name = _index(base).get("vocoder", [None, "LTX2Vocoder"])[1]
    cls = getattr(vocoders, name, None)
    if cls is None:
        raise LoraportError(f"{base}/model_index.json names the vocoder class {name!r}, which the installed "
                            "diffusers does not have: upgrade diffusers.")
    return cls.from_pretrained(base, subfolder="vocoder", torch_dtype=dtype, local_files_only=True)


def _index(base: Path) -> dict:
    try:
        return json.loads((base / "model_index.json").read_text())
    except (OSError, ValueError):
        return {}


def _check_text_encoder(folder: Path) -> None:
    """Refuse a text encoder of the wrong class before loading 12B parameters into it."""
    try:
        archs = json.loads((folder / "config.json").read_text()).get("architectures") or []
    except (OSError, ValueError):
        raise LoraportError(f"{folder} has no readable config.json: LTX-2.5 needs its LTX-tuned Gemma 4 text "
                            "encoder (the text_encoder/ folder of a diffusers-format LTX-2.5 copy).") from None
    if _TEXT_CLASS not in archs:
        raise LoraportError(
            f"{folder} holds {', '.join(archs) or 'an unknown model'}, not the LTX-tuned Gemma 4 text encoder "
            f"({_TEXT_CLASS}) that LTX-2.5 was trained with; stock Gemma 4 and Gemma 3 are refused. Point "
            "--text-encoder-path at the text_encoder/ of your LTX-2.5 folder, or leave it unset.")


def check_is_25(transformer, spec: ModelSpec) -> None:
    """LTX-2.3 weights under the ltx-2.5 id would train silently on the wrong model: 2.5 has no video FF bias."""
    cfg = transformer.config
    if cfg.get("ff_bias", True):
        found = "2.3" if cfg.get("gated_attn") and cfg.get("cross_attn_mod") else "2"
        raise LoraportError(f"The weights have a video feed-forward bias, so they are LTX-{found}, not "
                            f"{spec.id}: use --model ltx-{found} or point the path at LTX-2.5 weights.")
