"""Real LTX-2.x weights from local paths, completely: every part with its weights, every tensor of the file used.

Never downloads (``local_files_only=True`` everywhere). Two layouts:

- ``path`` = a diffusers-format folder (``model_index.json`` with ``transformer/ vae/ audio_vae/ vocoder/
  connectors/ text_encoder/ tokenizer/ scheduler/``). Each part is loaded with the class ``model_index.json``
  names for it (2.3's vocoder is ``LTX2VocoderWithBWE``); ``text_encoder_path`` may point at another Gemma folder.
- ``path`` = Lightricks' single-file checkpoint (``ltx-2.3-22b-dev.safetensors``): transformer, text connectors,
  both VAEs and the vocoder come from the file through ``trainer.models.ltx2_single_file``'s rename tables (a
  file holding only some parts, e.g. the transformer, takes the others from a diffusers-format folder).
  ``text_encoder_path`` gives Gemma: a diffusers-format folder of the same model (its part configs are used too)
  or a bare Gemma folder (the built-in configs of ``trainer.models.ltx2_configs`` are used).

After loading, a missing, unexpected, mismatched or randomly initialised weight, or a parameter left on the
``meta`` device, is a LoraportError naming the keys; never a warning. A part's class comes from an allow-list
of diffusers / transformers classes, never from an arbitrary import path.
"""

import gc
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError

from core.errors import LoraportError
from trainer.config import ModelConfig
from trainer.models import identify
from trainer.models import ltx2_single_file as sf
from trainer.models.ltx2_configs import DEFAULT_VOCODER, PART_CLASSES, SCHEDULER
from trainer.models.spec import ModelSpec

MODEL_PARTS = ("transformer", "vae", "audio_vae", "vocoder", "connectors")
TEXT_PARTS = ("text_encoder", "tokenizer")
SUBFOLDERS = (*MODEL_PARTS, *TEXT_PARTS, "scheduler")
_DIFFUSERS_CLASSES = {
    "transformer": ("LTX2VideoTransformer3DModel",), "vae": ("AutoencoderKLLTX2Video",),
    "audio_vae": ("AutoencoderKLLTX2Audio",), "vocoder": ("LTX2Vocoder", "LTX2VocoderWithBWE"),
    "connectors": ("LTX2TextConnectors",), "scheduler": ("FlowMatchEulerDiscreteScheduler",),
}


def is_diffusers_folder(path: Path) -> bool:
    return path.is_dir() and (path / "model_index.json").is_file()


def _check(model_cfg: ModelConfig, spec: ModelSpec) -> tuple[Path, Path | None]:
    """The model path and text encoder path, checked for what they are before any weight is read."""
    if model_cfg.path is None:
        tiny = "tiny-ltx-2.5" if spec.version == "2.5" else "tiny-ltx-2.3"  # LTX-2 has no tiny twin of its own
        raise LoraportError(
            f"{spec.id} needs local weights: set {spec.weights_setting()} to a diffusers-format folder or a "
            f"single-file .safetensors checkpoint. Use {tiny} to try the flow without weights.")
    path = Path(model_cfg.path).expanduser()
    te = Path(model_cfg.text_encoder_path).expanduser() if model_cfg.text_encoder_path else None
    for label, p, name in (("model path", path, spec.weights_setting()),
                           ("text encoder path", te, spec.weights_setting(True))):
        if p is not None and not p.exists():
            broken = " (a link whose target is gone: an incomplete download?)" if p.is_symlink() else ""
            if str(p).strip() != str(p) or str(p)[:1] in "'\"" or str(p)[-1:] in "'\"":
                broken += "; remove the quotes or spaces around the path"
            raise LoraportError(f"The {label} {p} ({name}) does not exist{broken}: check the path (nothing is "
                                "downloaded).")
    path = _snapshot(path)
    te = _snapshot(te) if te is not None else None
    if path.is_dir() and not is_diffusers_folder(path):
        raise identify.describe_folder(path, spec.id)
    if path.is_file():
        identify.sniff(path)
        if te is None:
            raise LoraportError(
                f"{path.name} is a single-file checkpoint without the Gemma text encoder: also set "
                f"{spec.weights_setting(True)} to a Gemma folder or a diffusers-format {spec.id} folder.")
    if te is not None and not te.is_dir():
        raise LoraportError(f"The text encoder path {te} is a file: it must be a folder (Gemma's config.json, "
                            "tokenizer and .safetensors weights, or a diffusers-format folder with text_encoder/); "
                            "a packed single-file text encoder is not read.")
    return path, te


def _snapshot(path: Path) -> Path:
    """A Hugging Face cache folder (``models--org--name``) stands for the snapshot its ``refs/main`` names."""
    return (identify.hf_snapshot(path) or path) if path.is_dir() and not is_diffusers_folder(path) else path


# -- classes and configs -----------------------------------------------------------------------------------------

def part_class(part: str, name: str):
    """The diffusers / transformers class called ``name`` for ``part``, if it is one this loader allows."""
    import diffusers
    import transformers
    from diffusers.pipelines import ltx2

    if part == "text_encoder":
        cls = getattr(transformers, name, None) if name.startswith("Gemma") else None
    elif part == "tokenizer":
        return transformers.AutoTokenizer
    else:
        cls = getattr(diffusers, name, None) or getattr(ltx2, name, None) if name in _DIFFUSERS_CLASSES[part] else None
    if cls is None:
        raise LoraportError(f"the folder names {name} for its {part}, which loraport does not load; expected "
                            f"{', '.join(_DIFFUSERS_CLASSES.get(part, ('a Gemma model',)))}.")
    return cls


def _class_name(folder: Path, part: str, version: str) -> str:
    """model_index.json's entry, else the part's own config.json ``_class_name``, else the version's default."""
    index = _read_json(folder / "model_index.json")
    entry = index.get(part)
    if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], str):
        return entry[1]
    own = _read_json(folder / part / "config.json").get("_class_name")
    if isinstance(own, str):
        return own
    if part == "vocoder":
        return DEFAULT_VOCODER.get(version, "LTX2VocoderWithBWE")
    if part == "tokenizer":
        return "AutoTokenizer"
    if part == "text_encoder":
        return "Gemma3ForConditionalGeneration"
    return _DIFFUSERS_CLASSES[part][0]


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise LoraportError(f"{path} is not valid JSON ({exc}): the model folder is damaged.") from None
    return data if isinstance(data, dict) else {}


# -- completeness ------------------------------------------------------------------------------------------------

def _names(keys, limit: int = 6) -> str:
    keys = sorted(keys)
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def check_complete(module: torch.nn.Module, where: str, info: dict | None = None) -> None:
    """Refuse a part with missing / unexpected / mismatched weights or any tensor still on ``meta``."""
    info = info or {}
    problems = []
    for label, key in (("missing", "missing_keys"), ("unexpected", "unexpected_keys"),
                       ("of the wrong shape", "mismatched_keys")):
        found = [k[0] if isinstance(k, tuple) else k for k in info.get(key) or []]
        if found:
            problems.append(f"{len(found)} {label} ({_names(found)})")
    on_meta = [n for n, t in [*module.named_parameters(), *module.named_buffers()] if t.is_meta]
    if on_meta:
        problems.append(f"{len(on_meta)} never loaded ({_names(on_meta)})")
    if problems:
        raise LoraportError(f"{where}: weights {'; '.join(problems)}. The weights do not match this model; "
                            "check that the file or folder is a complete copy of the model you chose.")


# -- diffusers folder --------------------------------------------------------------------------------------------

def _folder_part(folder: Path, part: str, dtype: torch.dtype, version: str, extra: dict | None = None):
    if not (folder / part).is_dir():
        raise LoraportError(f"{folder} has no {part}/ folder: the diffusers-format copy is incomplete "
                            f"(expected {', '.join(SUBFOLDERS)}).")
    cls = part_class(part, _class_name(folder, part, version))
    kwargs = dict(subfolder=part, local_files_only=True)
    if part == "tokenizer":
        identify.check_tokenizer(folder / part)
    if part in ("tokenizer", "scheduler"):
        return cls.from_pretrained(folder, **kwargs)
    identify.check_weight_files(folder / part)
    kwargs["use_safetensors"] = True  # never a pickle
    kwargs["variant"] = identify.weights_variant(folder / part)
    if part == "text_encoder":
        model, info = cls.from_pretrained(folder, dtype=dtype, output_loading_info=True, **kwargs,
                                          **(extra or {}))
    else:
        model, info = cls.from_pretrained(folder, torch_dtype=dtype, output_loading_info=True,
                                          **kwargs, **(extra or {}))
    check_complete(model, f"{folder.name}/{part} ({cls.__name__})", info)
    return model


def _bare_gemma(folder: Path, dtype: torch.dtype, extra: dict | None = None) -> dict:
    """A bare Gemma folder (config.json + weights + tokenizer files), as Lightricks' instructions download it."""
    import transformers

    archs = _read_json(folder / "config.json").get("architectures")
    if not archs:
        raise LoraportError(f"{folder} is not a Gemma text encoder folder (no config.json naming its model): set "
                            "the text encoder path to Gemma's folder (config.json, tokenizer, .safetensors) or to "
                            "a diffusers-format LTX folder with text_encoder/.")
    cls = part_class("text_encoder", archs[0])
    identify.check_weight_files(folder)
    identify.check_tokenizer(folder)
    model, info = cls.from_pretrained(folder, dtype=dtype, local_files_only=True, output_loading_info=True,
                                      use_safetensors=True, variant=identify.weights_variant(folder),
                                      **(extra or {}))
    check_complete(model, f"{folder.name} ({cls.__name__})", info)
    return {"text_encoder": model, "tokenizer": transformers.AutoTokenizer.from_pretrained(
        folder, local_files_only=True)}


def check_text_class(te: Path, version: str) -> None:
    """LTX-2 and 2.3 were trained with Gemma 3: a Gemma 4 folder (LTX-2.5's text encoder) would load without an
    error and give embeddings the model never saw. (2.5's own check is in ``trainer.models.ltx25``.)"""
    if version == "2.5":
        return
    if is_diffusers_folder(te):
        name = _class_name(te, "text_encoder", version)
    else:
        name = (_read_json(te / "config.json").get("architectures") or [""])[0]
    if name.startswith("Gemma") and not name.startswith("Gemma3"):
        raise LoraportError(f"{te} holds {name}, but LTX-{version} reads Gemma 3 (Gemma3ForConditionalGeneration); "
                            f"{name} is LTX-2.5's kind of text encoder. Set the text encoder path to the Gemma 3 "
                            "folder, or train --model ltx-2.5.")


def _text_parts(te: Path, dtype: torch.dtype, version: str, extra: dict | None = None) -> dict:
    """Gemma and its tokenizer; ``extra`` (a transformers quantization config) goes to Gemma's loader."""
    if is_diffusers_folder(te):
        return {p: _folder_part(te, p, dtype, version, extra if p == "text_encoder" else None) for p in TEXT_PARTS}
    return _bare_gemma(te, dtype, extra)


def text_encoder_bytes(model_cfg: ModelConfig) -> int:
    """Bytes of the text encoder's weight files (in bf16 about its size in GPU memory), without loading them."""
    path, te = Path(model_cfg.path).expanduser(), model_cfg.text_encoder_path
    folder = _snapshot(Path(te).expanduser() if te else path)  # a Hugging Face cache entry: its snapshot
    if is_diffusers_folder(folder):
        folder = folder / "text_encoder"
    return sum(f.stat().st_size for f in folder.glob("*.safetensors") if f.exists()) if folder.is_dir() else 0


# -- single file -------------------------------------------------------------------------------------------------

def _single_file_configs(te: Path | None, version: str) -> dict[str, tuple[Any, dict]]:
    """Part -> (class, config): the diffusers folder's own configs when one is given, else the built-in ones."""
    out = {}
    if te is not None and is_diffusers_folder(te) and (te / "transformer" / "config.json").is_file():
        folder_cfg = _read_json(te / "transformer" / "config.json")
        folder_version = "2.3" if folder_cfg.get("gated_attn") and folder_cfg.get("cross_attn_mod") else "2"
        if folder_version != ("2" if version == "2" else "2.3"):  # 2.5 is read as 2.3 here
            raise LoraportError(f"The text encoder path {te} is a diffusers-format LTX-{folder_version} folder, "
                                f"whose part configs do not fit this LTX-{version} checkpoint: point it at the "
                                f"LTX-{version} folder, or at a bare Gemma folder.")
    for part in MODEL_PARTS:
        if te is not None and is_diffusers_folder(te) and (te / part / "config.json").is_file():
            config = _read_json(te / part / "config.json")
            out[part] = (part_class(part, _class_name(te, part, version)), config)
        elif version in PART_CLASSES:
            name, config = PART_CLASSES[version][part]
            out[part] = (part_class(part, name), dict(config))
        else:
            raise LoraportError(f"loraport has no built-in LTX-{version} {part} config: set the text encoder path "
                                f"to a diffusers-format LTX-{version} folder, which supplies the configs.")
    return out


def _build_from_state(cls, config: dict, state: dict, where: str) -> torch.nn.Module:
    """The part built on ``meta`` from its config, then given the file's tensors (no random initialisation)."""
    from accelerate import init_empty_weights

    with init_empty_weights():
        model = cls.from_config({k: v for k, v in config.items() if not k.startswith("_")})
    result = model.load_state_dict(state, strict=False, assign=True)
    check_complete(model, where, {"missing_keys": result.missing_keys, "unexpected_keys": result.unexpected_keys})
    return model


def file_layout(path: Path, te: Path | None, spec: ModelSpec) -> sf.SplitFile:
    """Which tensors of a single file go to which part, from its header alone: refuses a file that is not this
    version's LTX checkpoint, holds tensors no part uses, or lacks a part that ``te`` cannot supply."""
    keys = sf.open_header(path)
    prefix = identify.transformer_prefix(keys)
    if prefix is None:
        raise identify.not_a_base(path.name, keys, spec.id)
    found = sf.detect_version(keys, prefix)
    tables = "2" if spec.version == "2" else "2.3"  # 2.5 names its modules as 2.3 does (less the FF bias)
    if found != tables:
        raise LoraportError(f"{path.name} is an LTX-{found} checkpoint, but the model is {spec.id}: use "
                            f"--model ltx-{found}, or point the model path at an LTX-{spec.version} checkpoint.")
    split = sf.split_keys(keys, tables, prefix)
    if split.unclaimed:
        raise LoraportError(f"{path.name} holds {len(split.unclaimed)} tensor(s) no LTX-{spec.version} part "
                            f"uses ({_names(split.unclaimed)}): it is not a plain Lightricks checkpoint."
                            f"{identify.extra_hint(split.unclaimed)}")
    for part in MODEL_PARTS:  # a transformer-only file: the other parts from the diffusers folder beside it
        if not split.keys[part] and (part == "transformer" or te is None or not is_diffusers_folder(te)):
            raise LoraportError(f"{path.name} has no {part} weights: set {spec.weights_setting(True)} to a "
                                f"diffusers-format {spec.id} folder, which supplies them.")
    return split


def _single_file_parts(path: Path, te: Path | None, spec: ModelSpec, dtype: torch.dtype,
                       transformer_quant: Any = None) -> dict:
    split = file_layout(path, te, spec)
    configs = _single_file_configs(te, spec.version)
    parts = {}
    for part in MODEL_PARTS:
        if not split.keys[part]:
            parts[part] = _folder_part(te, part, dtype, spec.version)
            continue
        cls, config = configs[part]
        if part == "vae" and "timestep_conditioning" in config and any(
                "time_embedder" in k for k in split.keys[part]):
            config = {**config, "timestep_conditioning": True}  # a decoder conditioned on the noise level
        state = sf.read_part(path, split.keys[part], dtype, split.scales)
        parts[part] = _build_from_state(cls, config, state, f"{path.name} ({part}, {cls.__name__})")
        del state
    if transformer_quant is not None:
        parts["transformer"] = transformer_quant(parts["transformer"])
    return parts


# -- entry point -------------------------------------------------------------------------------------------------

def load_ltx2_parts(model_cfg: ModelConfig, spec: ModelSpec, dtype: torch.dtype, *,
                    transformer_kwargs: dict | None = None, transformer_quant=None,
                    text_kwargs: dict | None = None) -> dict:
    """Load every part of a real LTX-2.x model; see the module docstring for the layouts.

    ``transformer_kwargs`` go to the folder's ``from_pretrained`` (a diffusers quantization config);
    ``transformer_quant(module)`` quantises a transformer built from a single file in place; ``text_kwargs`` go
    to Gemma's ``from_pretrained`` (a transformers quantization config).
    """
    path, te = _check(model_cfg, spec)
    check_text_class(te if te is not None else path, spec.version)  # before 40 GB of other parts are read
    parts: dict = {}
    try:
        if path.is_file():
            parts.update(_single_file_parts(path, te, spec, dtype, transformer_quant))
            parts.update(_text_parts(te, dtype, spec.version, text_kwargs))
            base = te if is_diffusers_folder(te) and (te / "scheduler").is_dir() else None
        else:
            identify.check_pipeline(path, _read_json(path / "model_index.json"), spec.id)
            for part in MODEL_PARTS:
                extra = transformer_kwargs if part == "transformer" else None
                parts[part] = _folder_part(path, part, dtype, spec.version, extra)
            parts.update(_text_parts(te if te is not None else path, dtype, spec.version, text_kwargs))
            base = path
        parts["scheduler"] = _scheduler(base)
        _check_version(parts["transformer"], spec)
    except LoraportError:
        release(parts)
        raise
    except (OSError, ValueError, KeyError, RuntimeError, TypeError, ImportError, SafetensorError) as exc:
        release(parts)
        raise LoraportError(f"Could not load {spec.id} from {path}: {exc}. Check that it is a complete "
                            f"{spec.id} copy (nothing is downloaded).") from exc
    for module in parts.values():
        if isinstance(module, torch.nn.Module):
            module.eval().requires_grad_(False)
    return parts


def _scheduler(folder: Path | None):
    import diffusers

    if folder is None:
        return diffusers.FlowMatchEulerDiscreteScheduler(**SCHEDULER)
    if not (folder / "scheduler" / "scheduler_config.json").is_file():
        raise LoraportError(f"{folder} has no scheduler/scheduler_config.json: the diffusers-format copy is "
                            "incomplete; download its scheduler/ folder again.")
    return part_class("scheduler", _class_name(folder, "scheduler", "")).from_pretrained(
        folder, subfolder="scheduler", local_files_only=True)


def release(parts: dict) -> None:
    """Drop what a failed load built, so nothing stays in host or GPU memory."""
    if not parts:  # refused before anything was built: a full collection would only cost time
        return
    parts.clear()
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _check_version(transformer, spec: ModelSpec) -> None:
    """LTX-2 weights under the ltx-2.3 id (or the reverse) would train silently on the wrong model."""
    is_23 = bool(transformer.config.get("gated_attn")) and bool(transformer.config.get("cross_attn_mod"))
    if is_23 != (spec.version != "2"):
        found = "2.3" if is_23 else "2"
        raise LoraportError(f"The weights are LTX-{found}, but the model id is {spec.id}: "
                            f"use --model ltx-{found} or point the path at LTX-{spec.version} weights.")
