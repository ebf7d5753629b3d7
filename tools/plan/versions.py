"""Which LTX version a plan targets: where its weights are, its tiny twin, and what differs from LTX-2.3.

LTX-2.3 stays the default target; LTX-2.5 is picked with ``--model ltx-2.5`` (or ``tiny-ltx-2.5``, its tiny twin
for CPUs). What changes for a 2.5 run: the text encoder is an LTX-tuned Gemma 4 12B instead of Gemma 3 12B, so
every caption's embedding is encoded again (cached under the 2.5 model); the transformer is 2.3's without the
video feed-forward bias (same size, same LoRA targets); the VAE encoder is 2.3's, so video latents are reused
when the encoder's weights are the same bytes (``trainer.data`` checks that, it is not assumed).
"""

from pathlib import Path

from core.settings import Settings, get_settings
from trainer.models import get_model_spec

TINY_TWIN = {"ltx-2.3": "tiny-ltx-2.3", "ltx-2.5": "tiny-ltx-2.5", "ltx-2": "tiny-ltx-2.3"}


def tiny_twin(model_id: str) -> str:
    """The tiny model a plan falls back to on a machine that cannot train ``model_id``: the same version's."""
    return TINY_TWIN.get(model_id, "tiny-ltx-2.3")


def weights_for(model_id: str, settings: Settings | None = None) -> tuple[Path | None, Path | None]:
    """(model path, text encoder path) for a real model from the settings; (None, None) for a tiny one.

    Each version has its own setting (``LORAPORT_LTX25_MODEL_PATH``, ``LORAPORT_LTX2_MODEL_PATH``); the plain
    ``LORAPORT_MODEL_PATH`` is LTX-2.3's and the fallback for a user with one model only. The loader checks that
    the weights are the version asked for, so a wrong fallback fails loudly, never trains the wrong model.
    """
    st = settings or get_settings()
    if get_model_spec(model_id).tiny:
        return None, None
    version = get_model_spec(model_id).version
    if version == "2.5" and st.ltx25_model_path:
        return st.ltx25_model_path, st.ltx25_text_encoder_path
    if version == "2" and st.ltx2_model_path:  # LTX-2 reads the same Gemma 3 as 2.3: its setting serves both
        return st.ltx2_model_path, st.text_encoder_path
    return st.model_path, st.text_encoder_path


def version_notes(model_id: str, old_family: str | None = None, old_ic: bool = False) -> list[str]:
    """What differs for this target, in plain English; empty for LTX-2.3 (the reference)."""
    if get_model_spec(model_id).version != "2.5":
        return []
    notes = [
        "Target LTX-2.5 (2.3 stays loraport's default): its transformer is 2.3's without the video feed-forward "
        "bias, the same size and LoRA targets, so rank, steps and learning rate carry over as for 2.3.",
        "Text: LTX-2.5 reads an LTX-tuned Gemma 4 12B, not Gemma 3, so every caption is encoded again with it "
        "(cached separately from 2.3's embeddings). Stock Gemma 4 is refused.",
        "Video latents: the VAE encoder is 2.3's, so latents already cached for 2.3 are reused when the encoder "
        "weights are byte-identical (checked, not assumed); otherwise they are encoded again.",
        "Memory: the transformer phase is as for 2.3; the text phase loads Gemma 4 12B instead of Gemma 3 12B.",
    ]
    if old_family == "ltx-2.3" and old_ic:
        notes.append("Your old file is a 2.3 IC-LoRA: users report these do not work on 2.5, so retraining is the "
                     "way.")
    elif old_family == "ltx-2.3":
        notes.append("Your old LoRA was trained on LTX-2.3: many 2.3 LoRAs still work on 2.5. Test it first "
                     "(loraport evaluate OLD.safetensors --dataset CLIPS --model ltx-2.5 --as-is): if it still "
                     "works, no retrain is needed.")
    return notes


def weights_problem(model_id: str, settings: Settings | None = None) -> str | None:
    """Why the weights set for a real ``model_id`` cannot be used, read from names, configs and file headers only
    (``trainer.models.preflight``); None when they look right, for a tiny model, or when none are set."""
    return check_weights_setting(model_id, settings)[0]


def check_weights_setting(model_id: str, settings: Settings | None = None) -> tuple[str | None, str | None]:
    """(problem, note) for the weights set for ``model_id``: the problem when they cannot be used, else a note
    saying what will load (a single file or a folder, fp8 weights dequantised, a distilled checkpoint)."""
    spec = get_model_spec(model_id)
    path, te = weights_for(model_id, settings)
    if spec.tiny or path is None:
        return None, None
    from core.errors import LoraportError  # torch and safetensors only when there are weights to check
    from trainer.config import ModelConfig
    from trainer.models.preflight import check_weights

    try:
        what = check_weights(ModelConfig(id=model_id, path=path, text_encoder_path=te), spec)
    except LoraportError as err:
        return f"The {model_id} weights set on this machine cannot be used: {err}", None
    note = f"Weights: {what}."
    if "distilled" in Path(path).name.lower():
        note += (" Its name says distilled: Lightricks' trainer configurations train on the dev checkpoint, and a "
                 "LoRA learns the model it is trained on.")
    return None, note
