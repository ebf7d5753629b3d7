"""Real LTX-2.5 weights from local paths: the LTX-2.x loader (``trainer.models.ltx2``) with 2.5's own checks.

Everything ``load_ltx2_parts`` guarantees holds here (local files only, every part with the class its folder
names, missing / unexpected / meta weights refused, memory released on failure, base quantisation). What 2.5 adds:
- the text encoder must be an LTX-tuned Gemma 4, i.e. the class ``LTX2Pipeline`` takes for LTX-2.5,
  ``Gemma4UnifiedForConditionalGeneration``. A folder of another class (Gemma 3, or the
  ``Gemma4ForConditionalGeneration`` chat model that LTX-2.5 ships only as its prompt enhancer) is refused before
  any weight is read. Weights of the right class cannot be told from stock Gemma 4 by their shapes: use the
  ``text_encoder/`` of the LTX-2.5 folder;
- the transformer must have no video feed-forward bias (``ff_bias=False``): that is what tells 2.5 from 2.3;
- a single-file checkpoint needs ``text_encoder_path`` to be a diffusers-format LTX-2.5 folder, whose part configs
  (``ff_bias=False``, the keyframe embedding, Gemma 4) are used; loraport has no built-in 2.5 configs, and the
  file's tensors go through the 2.3 rename tables (2.5 names its modules as 2.3 does, less the bias). A tensor
  those tables do not know (such as the keyframe embedding, if the file holds one) is refused by name.
"""

import json
from pathlib import Path

from core.errors import LoraportError
from trainer.config import ModelConfig
from trainer.models import ltx2
from trainer.models.spec import ModelSpec

TEXT_CLASS = "Gemma4UnifiedForConditionalGeneration"


def load_ltx25_parts(model_cfg: ModelConfig, spec: ModelSpec, dtype, **kwargs) -> dict:
    """Load every part of a real LTX-2.5 model (folder or single file); ``kwargs`` as ``load_ltx2_parts``."""
    path, te = ltx2._check(model_cfg, spec)
    check_layout(path, te, spec)
    # A single file is read with the 2.3 tables and the 2.5 folder's configs; a folder loads as it is.
    parts = ltx2.load_ltx2_parts(model_cfg, spec, dtype, **kwargs)
    try:
        check_is_25(parts["transformer"], spec)
    except LoraportError:
        ltx2.release(parts)
        raise
    return parts


def check_layout(path: Path, te: Path | None, spec: ModelSpec) -> None:
    """What 2.5 demands before any weight is read: a single file comes with the 2.5 folder, the text encoder is
    the LTX-tuned Gemma 4, and a single file has no video feed-forward bias."""
    if path.is_file() and not ltx2.is_diffusers_folder(te):
        raise LoraportError(f"{path.name} is a single-file checkpoint: for LTX-2.5 also set "
                            f"{spec.weights_setting(True)} to a diffusers-format LTX-2.5 folder (it supplies the 2.5 "
                            "part configs and Gemma 4).")
    _check_text_encoder(_text_folder(path, te))
    if path.is_file():
        _check_file_is_25(path, spec)


def _text_folder(path: Path, te: Path | None) -> Path:
    if te is not None:
        return te / "text_encoder" if ltx2.is_diffusers_folder(te) else te
    return path / "text_encoder"


def _check_text_encoder(folder: Path) -> None:
    """Refuse a text encoder of the wrong class before loading 12B parameters into it."""
    try:
        archs = json.loads((folder / "config.json").read_text()).get("architectures") or []
    except (OSError, ValueError):
        raise LoraportError(f"{folder} has no readable config.json: LTX-2.5 needs its LTX-tuned Gemma 4 text "
                            "encoder (the text_encoder/ folder of a diffusers-format LTX-2.5 copy).") from None
    if TEXT_CLASS not in archs:
        raise LoraportError(
            f"{folder} holds {', '.join(archs) or 'an unknown model'}, not the LTX-tuned Gemma 4 text encoder "
            f"({TEXT_CLASS}) that LTX-2.5 was trained with; stock Gemma 4 and Gemma 3 are refused. Point "
            "LORAPORT_LTX25_TEXT_ENCODER_PATH at the text_encoder/ of your LTX-2.5 folder, or leave it unset.")


def _check_file_is_25(path: Path, spec: ModelSpec) -> None:
    """A single file with the video feed-forward bias is 2.3 (or 2): refused before a weight is read."""
    from trainer.models import identify
    from trainer.models import ltx2_single_file as sf

    keys = sf.open_header(path)
    prefix = identify.transformer_prefix(keys)
    if prefix is None:
        raise identify.not_a_base(path.name, keys, spec.id)
    if f"{prefix}transformer_blocks.0.ff.net.0.proj.bias" in set(keys):
        found = sf.detect_version(keys, prefix)
        raise LoraportError(f"{path.name} has the video feed-forward bias, so it is an LTX-{found} checkpoint, not "
                            f"{spec.id}: use --model ltx-{found}, or point LORAPORT_LTX25_MODEL_PATH at the LTX-2.5 "
                            "transformer file.")


def check_is_25(transformer, spec: ModelSpec) -> None:
    """LTX-2.3 weights under the ltx-2.5 id would train silently on the wrong model: 2.5 has no video FF bias."""
    cfg = transformer.config
    if cfg.get("ff_bias", True):
        found = "2.3" if cfg.get("gated_attn") and cfg.get("cross_attn_mod") else "2"
        raise LoraportError(f"The weights have a video feed-forward bias, so they are LTX-{found}, not "
                            f"{spec.id}: use --model ltx-{found} or point the path at LTX-2.5 weights.")
