"""Check the weights a real model id points at without loading them: file headers, folder layout, part configs.

``plan`` and ``train`` call this, so a wrong file (a LoRA, another version, a pickle, a folder missing a part or a
shard) is reported on any machine, also one without the GPU to train, and before a job is queued rather than
when it starts. It reads names, JSON configs and safetensors headers only (seconds even for a 46 GB file); what
it cannot see (a mismatched shape, a damaged tensor inside a whole file) the loader still refuses when loading.
"""

import json
from pathlib import Path
from types import SimpleNamespace

from core.errors import LoraportError
from trainer.config import ModelConfig
from trainer.models import identify, ltx2
from trainer.models.spec import ModelSpec


def check_weights(model_cfg: ModelConfig, spec: ModelSpec) -> str:
    """Refuse (LoraportError) weights that cannot load as ``spec``; else say in a few words what will load."""
    if spec.tiny:
        return f"{spec.id}: built in memory, no weights"
    path, te = ltx2._check(model_cfg, spec)
    if spec.version == "2.5":
        from trainer.models import ltx25

        ltx25.check_layout(path, te, spec)
    what = _file(path, te, spec) if path.is_file() else _folder(path, spec)
    ltx2.check_text_class(te if te is not None else path, spec.version)
    _text(te if te is not None else path)
    _gemma_fits_connectors(te if te is not None else path, _connectors_config(path, te, spec))
    return what


def _file(path: Path, te: Path | None, spec: ModelSpec) -> str:
    split = ltx2.file_layout(path, te, spec)
    biases = [k for k in split.keys["transformer"] if k.startswith("transformer_blocks.0.ff.net.")]
    if spec.version == "2.3" and biases and not any(k.endswith(".bias") for k in biases):
        raise LoraportError(f"{path.name} has no video feed-forward bias, so it is an LTX-2.5 checkpoint, not "
                            f"{spec.id}: use --model ltx-2.5 (and LORAPORT_LTX25_MODEL_PATH), or point the model "
                            "path at an LTX-2.3 checkpoint.")
    ltx2._single_file_configs(te, spec.version)  # a folder of the other version is refused here
    for part in ltx2.MODEL_PARTS:
        if not split.keys[part]:
            _part_folder(te, part)
    fp8 = (" (Lightricks' fp8 file: weights stored in 8 bits, dequantised when loading; the bf16 file is the more "
           "precise base)") if split.scales else ""
    from_folder = [p for p in ltx2.MODEL_PARTS if not split.keys[p]]
    rest = f"; {', '.join(from_folder)} from {te.name}" if from_folder else ""
    return f"single-file LTX-{spec.version} checkpoint {path.name}{fp8}{rest}"


def _folder(path: Path, spec: ModelSpec) -> str:
    index = ltx2._read_json(path / "model_index.json")
    identify.check_pipeline(path, index, spec.id)
    for part in ltx2.MODEL_PARTS:
        _part_folder(path, part)
        ltx2.part_class(part, ltx2._class_name(path, part, spec.version))
    config = _config(path / "transformer" / "config.json")
    ltx2._check_version(SimpleNamespace(config=config), spec)
    if spec.version == "2.3" and config.get("ff_bias") is False:
        raise LoraportError(f"{path} has no video feed-forward bias (ff_bias = false), so it is an LTX-2.5 folder, "
                            f"not {spec.id}: use --model ltx-2.5 (and LORAPORT_LTX25_MODEL_PATH).")
    if spec.version == "2.5":
        from trainer.models import ltx25

        ltx25.check_is_25(SimpleNamespace(config=config), spec)
    if not (path / "scheduler" / "scheduler_config.json").is_file():
        raise LoraportError(f"{path} has no scheduler/scheduler_config.json: the diffusers-format copy is "
                            "incomplete; download its scheduler/ folder again.")
    return f"diffusers-format LTX-{spec.version} folder {path.name}"


def _part_folder(folder: Path | None, part: str) -> None:
    if folder is None or not (folder / part).is_dir():
        raise LoraportError(f"{folder} has no {part}/ folder: the diffusers-format copy is incomplete "
                            f"(expected {', '.join(ltx2.SUBFOLDERS)}).")
    identify.check_not_prequantised(_config(folder / part / "config.json"), folder / part)
    identify.check_weight_files(folder / part)
    identify.weights_variant(folder / part)


def _text(te: Path) -> None:
    """Gemma's folder: a diffusers folder's text_encoder/ and tokenizer/, or a bare Gemma folder."""
    if ltx2.is_diffusers_folder(te):
        _part_folder(te, "text_encoder")
        if not (te / "tokenizer").is_dir():
            raise LoraportError(f"{te} has no tokenizer/ folder: the diffusers-format copy is incomplete.")
        identify.check_tokenizer(te / "tokenizer")
        return
    config = _config(te / "config.json")
    identify.check_not_prequantised(config, te)
    if not config.get("architectures"):
        raise LoraportError(f"{te} is not a Gemma text encoder folder (no config.json naming its model): set the "
                            "text encoder path to Gemma's folder or to a diffusers-format LTX folder.")
    identify.check_weight_files(te)
    identify.check_tokenizer(te)


def _config(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LoraportError(f"{path} is missing: the diffusers-format copy is incomplete.") from None
    except (OSError, ValueError) as exc:
        raise LoraportError(f"{path} is not valid JSON ({exc}): the model folder is damaged.") from None
    return data if isinstance(data, dict) else {}


def _connectors_config(path: Path, te: Path | None, spec: ModelSpec) -> dict:
    """The text connectors' config this load will use: the folder's own, or the built-in one for a single file."""
    for folder in (path, te):
        if folder is not None and ltx2.is_diffusers_folder(folder) and (folder / "connectors").is_dir():
            return _config(folder / "connectors" / "config.json")
    from trainer.models.ltx2_configs import PART_CLASSES

    return dict(PART_CLASSES.get(spec.version, {}).get("connectors", ("", {}))[1])


def _gemma_fits_connectors(te: Path, connectors: dict) -> None:
    """The connectors read every hidden state of Gemma (its layers + 1, each of its hidden size): another Gemma
    (a 4B or 27B instead of the 12B) would load and then fail on the first caption, or worse, not fail."""
    import transformers

    folder = te / "text_encoder" if ltx2.is_diffusers_folder(te) else te
    try:
        config = transformers.AutoConfig.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise LoraportError(f"{folder}/config.json cannot be read as a Gemma config ({exc}): the text encoder "
                            "folder is damaged or not a Gemma model.") from None
    text = getattr(config, "text_config", None) or config
    found = (getattr(text, "hidden_size", None), getattr(text, "num_hidden_layers", None))
    want = (connectors.get("caption_channels"), connectors.get("text_proj_in_factor"))
    if None in found or None in want or (found[0], found[1] + 1) == want:
        return
    raise LoraportError(
        f"{folder} holds a Gemma with hidden size {found[0]} and {found[1]} layers, but this model's text "
        f"connectors read {want[0]}-wide hidden states from {want[1] - 1} layers: it is another Gemma than the one "
        "the model was trained with (LTX-2 and 2.3: Gemma 3 12B). Point the text encoder path at that one.")
