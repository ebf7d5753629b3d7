"""Lightricks' single-file LTX-2.x checkpoint -> diffusers state dicts, one per part, every tensor accounted for.

The file (``ltx-2.3-22b-dev.safetensors``) holds five parts under ltx-core's names: the transformer and the
text connectors under ``model.diffusion_model.`` (``text_embedding_projection.*`` sometimes outside it), the video
VAE under ``vae.``, the audio VAE under ``audio_vae.`` and the vocoder under ``vocoder.``. The rename tables are
those of diffusers' conversion script for the same version (see docs/ltx.md, "Loading real weights"); diffusers'
own single-file converter lacks the 2.3 transformer renames, which is why this module exists.

Only names are read here; tensors are read lazily, one part at a time (``read_part``), so a 46 GB file never sits
in memory twice. A key that no part claims is an error naming it: nothing in the file is silently left out.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from core.errors import LoraportError

PARTS = ("transformer", "connectors", "vae", "audio_vae", "vocoder")
DIT_PREFIX = "model.diffusion_model."
_PART_PREFIX = {"vae": "vae.", "audio_vae": "audio_vae.", "vocoder": "vocoder."}
# Keys under the transformer prefix that belong to the text connectors.
_CONNECTOR_ROOTS = ("video_embeddings_connector", "audio_embeddings_connector", "transformer_1d_blocks",
                    "text_embedding_projection", "connectors.")

_TRANSFORMER_20 = {
    "patchify_proj": "proj_in",  # also audio_patchify_proj -> audio_proj_in
    "av_ca_video_scale_shift_adaln_single": "av_cross_attn_video_scale_shift",
    "av_ca_a2v_gate_adaln_single": "av_cross_attn_video_a2v_gate",
    "av_ca_audio_scale_shift_adaln_single": "av_cross_attn_audio_scale_shift",
    "av_ca_v2a_gate_adaln_single": "av_cross_attn_audio_v2a_gate",
    "scale_shift_table_a2v_ca_video": "video_a2v_cross_attn_scale_shift_table",
    "scale_shift_table_a2v_ca_audio": "audio_a2v_cross_attn_scale_shift_table",
    "q_norm": "norm_q",
    "k_norm": "norm_k",
}
# LTX-2.3's prompt AdaLN: the two renames diffusers 0.42's single-file converter lacks.
_TRANSFORMER_23 = {**_TRANSFORMER_20, "audio_prompt_adaln_single": "audio_prompt_adaln",
                   "prompt_adaln_single": "prompt_adaln"}
_CONNECTORS_20 = {"connectors.": "", "video_embeddings_connector": "video_connector",
                  "audio_embeddings_connector": "audio_connector", "transformer_1d_blocks": "transformer_blocks",
                  "text_embedding_projection.aggregate_embed": "text_proj_in", "q_norm": "norm_q", "k_norm": "norm_k"}
_CONNECTORS_23 = {"connectors.": "", "video_embeddings_connector": "video_connector",
                  "audio_embeddings_connector": "audio_connector", "transformer_1d_blocks": "transformer_blocks",
                  "text_embedding_projection.audio_aggregate_embed": "audio_text_proj_in",
                  "text_embedding_projection.video_aggregate_embed": "video_text_proj_in",
                  "q_norm": "norm_q", "k_norm": "norm_k"}
_VAE_20 = {
    "down_blocks.0": "down_blocks.0", "down_blocks.1": "down_blocks.0.downsamplers.0",
    "down_blocks.2": "down_blocks.1", "down_blocks.3": "down_blocks.1.downsamplers.0",
    "down_blocks.4": "down_blocks.2", "down_blocks.5": "down_blocks.2.downsamplers.0",
    "down_blocks.6": "down_blocks.3", "down_blocks.7": "down_blocks.3.downsamplers.0",
    "down_blocks.8": "mid_block",
    "up_blocks.0": "mid_block", "up_blocks.1": "up_blocks.0.upsamplers.0", "up_blocks.2": "up_blocks.0",
    "up_blocks.3": "up_blocks.1.upsamplers.0", "up_blocks.4": "up_blocks.1",
    "up_blocks.5": "up_blocks.2.upsamplers.0", "up_blocks.6": "up_blocks.2",
    "last_time_embedder": "time_embedder", "last_scale_shift_table": "scale_shift_table",
    "res_blocks": "resnets",
    "per_channel_statistics.mean-of-means": "latents_mean", "per_channel_statistics.std-of-means": "latents_std",
}
_VAE_23 = {**_VAE_20, "up_blocks.7": "up_blocks.3.upsamplers.0", "up_blocks.8": "up_blocks.3"}
_AUDIO_VAE = {"per_channel_statistics.mean-of-means": "latents_mean",
              "per_channel_statistics.std-of-means": "latents_std"}
_VOCODER_20 = {"ups": "upsamplers", "resblocks": "resnets", "conv_pre": "conv_in", "conv_post": "conv_out"}
# 2.3's BWE vocoder: ".ups." is renamed on its own (below), since "ups" is part of other names there.
_VOCODER_23 = {"resblocks": "resnets", "conv_pre": "conv_in", "conv_post": "conv_out", "act_post": "act_out",
               "downsample.lowpass": "downsample"}
# Lightricks' fp8 checkpoints: per-tensor scales of fp8 weights (and biases), and the activation scale of
# fp8 matrix multiplication at inference, which training in bf16 does not use.
FP8_SCALES = (".weight_scale", ".bias_scale")
FP8_INPUT_SCALE = ".input_scale"
# Other quantised layouts (ComfyUI's scaled fp8 and its per-layer .comfy_quant format, NVFP4's second scale):
# refused by name, never half-read.
_OTHER_QUANT = (".scale_weight", ".scale_input", "scaled_fp8", ".weight_scale_2", ".comfy_quant")
# Parts of a combined file that are not the model trained here: LTX-2.5's duration head (it predicts a clip's
# length from the prompt; diffusers' LTX2DurationHead, a separate pipeline component). Read by name, dropped.
OTHER_COMPONENTS = ("duration_head.",)
# Statistics the VAE keeps in the file but diffusers' VAE has no place for: read, known, and dropped.
VAE_DROPPED = ("per_channel_statistics.channel", "per_channel_statistics.mean-of-stds")

RENAMES: dict[str, dict[str, dict[str, str]]] = {
    "2.3": {"transformer": _TRANSFORMER_23, "connectors": _CONNECTORS_23, "vae": _VAE_23,
            "audio_vae": _AUDIO_VAE, "vocoder": _VOCODER_23},
    "2": {"transformer": _TRANSFORMER_20, "connectors": _CONNECTORS_20, "vae": _VAE_20,
          "audio_vae": _AUDIO_VAE, "vocoder": _VOCODER_20},
}


def _special(part: str, version: str) -> Callable[[str], str | None]:
    """Renames that a plain substring table cannot express; None drops the key."""
    def transformer(key: str) -> str | None:
        if key.startswith("adaln_single."):  # a substring of other modulation names, so only at the start
            return "time_embed." + key.removeprefix("adaln_single.")
        if key.startswith("audio_adaln_single."):
            return "audio_time_embed." + key.removeprefix("audio_adaln_single.")
        return key

    def vae(key: str) -> str | None:
        return None if any(d in key for d in VAE_DROPPED) else key

    def vocoder(key: str) -> str | None:
        return key.replace(".ups.", ".upsamplers.") if version != "2" else key

    return {"transformer": transformer, "vae": vae, "vocoder": vocoder}.get(part, lambda key: key)


def rename(part: str, key: str, version: str) -> str | None:
    """One ltx-core key (its part prefix removed) -> its diffusers name, or None where diffusers drops it."""
    for old, new in RENAMES[version][part].items():
        key = key.replace(old, new)
    return _special(part, version)(key)


@dataclass
class SplitFile:
    """Which file keys go to which part, under which diffusers name."""

    keys: dict[str, dict[str, str]] = field(default_factory=lambda: {p: {} for p in PARTS})  # part -> new: old
    dropped: list[str] = field(default_factory=list)  # known statistics diffusers has no place for
    unclaimed: list[str] = field(default_factory=list)  # keys no part claims: an error for the caller
    scales: dict[str, str] = field(default_factory=dict)  # fp8 tensor -> its per-tensor scale (file names)


def _part_of(key: str, dit: str = DIT_PREFIX) -> tuple[str, str] | None:
    """(part, key without its part prefix); ``dit`` is the transformer's prefix in this file ("" = bare names)."""
    for part, prefix in _PART_PREFIX.items():
        if key.startswith(prefix):
            return part, key.removeprefix(prefix)
    if key.startswith("text_embedding_projection."):  # some files keep it outside the transformer prefix
        return "connectors", key
    if key.startswith(dit):
        rest = key.removeprefix(dit)
        return ("connectors" if rest.startswith(_CONNECTOR_ROOTS) else "transformer"), rest
    return None


def _quantised(what: str) -> LoraportError:
    return LoraportError(
        f"the checkpoint is quantised in a format loraport does not read (it holds {what}): use the bf16 "
        "checkpoint (ltx-2.3-22b-dev.safetensors) or Lightricks' per-tensor fp8 file; loraport quantises the "
        "base itself with quantize_base = int8, float8 or nf4.")


def _refuse_other_quantisation(key: str) -> None:
    if key.endswith(_OTHER_QUANT):
        raise _quantised(key)


def split_keys(keys: list[str], version: str, dit: str = DIT_PREFIX) -> SplitFile:
    out = SplitFile()
    for key in keys:
        _refuse_other_quantisation(key)
        if key.startswith(OTHER_COMPONENTS):
            out.dropped.append(key)
            continue
        found = _part_of(key, dit)
        if found is None:
            out.unclaimed.append(key)
            continue
        part, rest = found
        if key.endswith(FP8_SCALES):  # folded into the tensor it scales when that is read
            out.scales[key.removesuffix("_scale")] = key
            continue
        new = rename(part, rest, version)
        if key.endswith(FP8_INPUT_SCALE) or new is None:
            out.dropped.append(key)
        elif new in out.keys[part]:
            raise LoraportError(f"the checkpoint holds {key} and {out.keys[part][new]}, which both map to "
                                f"{part}.{new}: the file is not a Lightricks LTX-{version} checkpoint.")
        else:
            out.keys[part][new] = key
    claimed = {old for mapping in out.keys.values() for old in mapping.values()}
    out.unclaimed += [scale for param, scale in out.scales.items() if param not in claimed]
    return out


def detect_version(keys: list[str], prefix: str = DIT_PREFIX) -> str | None:
    """'2.3' when the transformer has 2.3's gated attention or prompt AdaLN (2.5 reads as '2.3' here too), '2'
    when it has neither, None when the file has no LTX transformer at all."""
    dit = [k for k in keys if (_part_of(k, prefix) or ("",))[0] == "transformer"]
    if not dit:
        return None
    gated = any(".to_gate_logits." in k for k in dit)
    prompt = any("prompt_adaln_single." in k for k in dit)
    # Either is 2.3's (LTX-2 has neither); 2.5 keeps the gates and may drop the prompt AdaLN (diffusers'
    # use_prompt_adaln_single=False variant), so one is enough to tell it from LTX-2.
    return "2.3" if gated or prompt else "2"


def open_header(path: Path) -> list[str]:
    """The file's tensor names; a damaged or truncated file is a LoraportError (safetensors checks that the
    header's offsets cover exactly the bytes that follow it)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            keys, metadata = list(f.keys()), f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise LoraportError(f"{path.name} cannot be read as a safetensors checkpoint ({exc}): the file is damaged "
                            "or incomplete (an interrupted download?). Download it again.") from None
    if "_quantization_metadata" in metadata:  # ComfyUI's quantised layout, described per layer in the header
        raise _quantised("ComfyUI's _quantization_metadata")
    if metadata.get("format") == "mlx":  # what MLX converters write (mx.save_safetensors(..., {"format": "mlx"}))
        raise LoraportError(f"{path.name} was converted for MLX (Apple Silicon): such files may lay tensors out "
                            "differently or quantise them in MLX's own way. Use Lightricks' original checkpoint or a "
                            "diffusers-format folder.")
    return keys


def read_part(path: Path, mapping: dict[str, str], dtype: torch.dtype | None,
              scales: dict[str, str] | None = None) -> dict[str, torch.Tensor]:
    """The tensors of one part under their diffusers names, cast to ``dtype`` (floating tensors only).

    An fp8 tensor with a per-tensor scale (Lightricks' ``*-fp8.safetensors``) is dequantised as ltx-core folds
    it when loading: ``weight.float() * weight_scale``; an fp8 tensor without one is upcast as it is.
    """
    from safetensors import SafetensorError, safe_open

    out = {}
    try:
        with safe_open(str(path), framework="pt") as f:
            for new, old in mapping.items():
                t = f.get_tensor(old)
                if old in (scales or {}):
                    t = t.float() * _scale(f.get_tensor(scales[old]), scales[old])
                elif not t.is_floating_point() and old.endswith(".weight"):
                    raise _quantised(f"{old} as {t.dtype}")
                out[new] = t.to(dtype) if dtype is not None and t.is_floating_point() else t
    except (SafetensorError, OSError) as exc:
        raise LoraportError(f"{path.name}: reading the weights failed ({exc}); the file is damaged.") from None
    return out


def _scale(scale: torch.Tensor, name: str) -> torch.Tensor:
    if scale.numel() != 1:  # block-wise fp8 (a scale per block of weights) is another format
        raise _quantised(f"{name} of shape {tuple(scale.shape)}")
    return scale.float().reshape(())
