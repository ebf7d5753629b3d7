"""Tiny LTX-2.3 fixtures in the two layouts real weights come in.

- ``write_diffusers_folder``: each part saved with ``save_pretrained`` and a ``model_index.json`` naming the
  classes, as diffusers' LTX-2.3 repositories are laid out (the vocoder is ``LTX2VocoderWithBWE``).
- ``write_single_file``: one ``.safetensors`` with Lightricks' ltx-core names (``model.diffusion_model.*``,
  ``vae.*``, ``audio_vae.*``, ``vocoder.*``), made by inverting the loader's rename tables; every name is checked to
  map back to the diffusers name it came from, so the fixture cannot drift from the tables.
"""

import json
import re
from pathlib import Path

import torch

from trainer.config import ModelConfig
from trainer.models import load_components
from trainer.models import ltx2_single_file as sf


def tiny_bwe_vocoder():
    """A tiny 2.3-style vocoder (vocoder + bandwidth extension), fed by the tiny audio VAE's 2 x 8 mel bins."""
    from diffusers.pipelines.ltx2.vocoder import LTX2VocoderWithBWE

    torch.manual_seed(0)
    return LTX2VocoderWithBWE(
        in_channels=16, hidden_channels=16, out_channels=2, upsample_kernel_sizes=[4], upsample_factors=[2],
        resnet_kernel_sizes=[3], resnet_dilations=[[1, 3, 5]], bwe_in_channels=16, bwe_hidden_channels=16,
        bwe_out_channels=2, bwe_upsample_kernel_sizes=[4], bwe_upsample_factors=[2], bwe_resnet_kernel_sizes=[3],
        bwe_resnet_dilations=[[1, 3, 5]], filter_length=64, hop_length=8, window_length=64, num_mel_channels=8,
        input_sampling_rate=16000, output_sampling_rate=32000).eval()


def tiny_parts() -> dict:
    c = load_components(ModelConfig())
    parts = {n: getattr(c, n) for n in ("transformer", "vae", "audio_vae", "connectors", "text_encoder",
                                        "tokenizer", "scheduler")}
    parts["vocoder"] = tiny_bwe_vocoder()
    return parts


def write_diffusers_folder(folder: Path, parts: dict | None = None, skip: tuple[str, ...] = (),
                           configs_only: tuple[str, ...] = ()) -> dict:
    """``skip``: parts left out entirely; ``configs_only``: parts written as config.json without weights."""
    parts = parts or tiny_parts()
    index = {"_class_name": "LTX2Pipeline", "_diffusers_version": "0.42.1"}
    for name, part in parts.items():
        lib = "transformers" if name in ("text_encoder", "tokenizer") else "diffusers"
        index[name] = [lib, type(part).__name__]
        if name in configs_only:
            part.save_config(folder / name)
        elif name not in skip:
            part.save_pretrained(folder / name)
    (folder / "model_index.json").write_text(json.dumps(index))
    return parts



PIPELINE_PARTS = ("transformer", "vae", "audio_vae", "vocoder", "connectors", "text_encoder", "tokenizer", "scheduler")


def save_model_folder(model_id: str, folder: Path):
    """A tiny model's components saved as a diffusers folder, as LTX2Pipeline.save_pretrained lays it out."""
    c = load_components(ModelConfig(id=model_id))
    write_diffusers_folder(folder, {name: getattr(c, name) for name in PIPELINE_PARTS})
    return c

# -- ltx-core names: the inverse of the loader's tables ---------------------------------------------------------

_TRANSFORMER_INV = [("proj_in", "patchify_proj"), ("prompt_adaln", "prompt_adaln_single"),
                    ("av_cross_attn_video_scale_shift", "av_ca_video_scale_shift_adaln_single"),
                    ("av_cross_attn_video_a2v_gate", "av_ca_a2v_gate_adaln_single"),
                    ("av_cross_attn_audio_scale_shift", "av_ca_audio_scale_shift_adaln_single"),
                    ("av_cross_attn_audio_v2a_gate", "av_ca_v2a_gate_adaln_single"),
                    ("video_a2v_cross_attn_scale_shift_table", "scale_shift_table_a2v_ca_video"),
                    ("audio_a2v_cross_attn_scale_shift_table", "scale_shift_table_a2v_ca_audio"),
                    ("norm_q", "q_norm"), ("norm_k", "k_norm")]
_CONNECTORS_INV = [("video_text_proj_in", "text_embedding_projection.video_aggregate_embed"),
                   ("audio_text_proj_in", "text_embedding_projection.audio_aggregate_embed"),
                   ("video_connector", "video_embeddings_connector"),
                   ("audio_connector", "audio_embeddings_connector"),
                   ("transformer_blocks", "transformer_1d_blocks"), ("norm_q", "q_norm"), ("norm_k", "k_norm")]
_VOCODER_INV = [(".upsamplers.", ".ups."), ("resnets", "resblocks"), ("conv_in", "conv_pre"),
                ("conv_out", "conv_post"), ("act_out", "act_post"), ("downsample", "downsample.lowpass")]


def _replace_all(key: str, pairs) -> str:
    for new, old in pairs:
        key = key.replace(new, old)
    return key


def _transformer_name(key: str) -> str:
    for new, old in (("time_embed.", "adaln_single."), ("audio_time_embed.", "audio_adaln_single.")):
        if key.startswith(new):
            key = old + key.removeprefix(new)
    return _replace_all(key, _TRANSFORMER_INV)


def _vae_name(key: str, n_down: int) -> str:
    def down(m):  # block i -> 2i, its downsampler -> 2i + 1
        return f"encoder.down_blocks.{2 * int(m[1]) + (1 if m[2] else 0)}."

    def up(m):  # decoder block i -> 2i + 2, its upsampler -> 2i + 1 (0 is the mid block)
        return f"decoder.up_blocks.{2 * int(m[1]) + (1 if m[2] else 2)}."

    key = re.sub(r"^encoder\.down_blocks\.(\d+)\.(downsamplers\.0\.)?", down, key)
    key = re.sub(r"^decoder\.up_blocks\.(\d+)\.(upsamplers\.0\.)?", up, key)
    key = key.replace("encoder.mid_block.", f"encoder.down_blocks.{2 * n_down}.")
    key = key.replace("decoder.mid_block.", "decoder.up_blocks.0.").replace("resnets", "res_blocks")
    return key.replace("latents_mean", "per_channel_statistics.mean-of-means").replace(
        "latents_std", "per_channel_statistics.std-of-means")


def lightricks_state_dict(parts: dict, version: str = "2.3") -> dict[str, torch.Tensor]:
    """The tiny parts' weights under the single file's names; asserts each maps back through the loader."""
    n_down = len(parts["vae"].config.block_out_channels)
    naming = {
        "transformer": (sf.DIT_PREFIX, _transformer_name),
        "connectors": (sf.DIT_PREFIX, lambda k: _replace_all(k, _CONNECTORS_INV)),
        "vae": ("vae.", lambda k: _vae_name(k, n_down)),
        "audio_vae": ("audio_vae.", lambda k: k.replace("latents_mean", "per_channel_statistics.mean-of-means")
                      .replace("latents_std", "per_channel_statistics.std-of-means")),
        "vocoder": ("vocoder.", lambda k: _replace_all(k, _VOCODER_INV)),
    }
    out = {}
    for part, (prefix, name) in naming.items():
        for key, tensor in parts[part].state_dict().items():
            old = name(key)
            assert sf.rename(part, old, version) == key, (part, key, old, sf.rename(part, old, version))
            out[prefix + old] = tensor.detach().clone().contiguous()
    out["vae.per_channel_statistics.channel"] = torch.arange(8.0)  # kept by Lightricks, dropped by diffusers
    return out


def write_single_file(path: Path, parts: dict | None = None, extra: dict | None = None,
                      drop: tuple[str, ...] = ()) -> dict:
    from safetensors.torch import save_file

    parts = parts or tiny_parts()
    state = lightricks_state_dict(parts)
    state.update(extra or {})
    for key in drop:
        state.pop(key)
    save_file(state, str(path))
    return parts


# -- variants of the single file seen in the wild ---------------------------------------------------------------

def with_transformer_prefix(state: dict, prefix: str) -> dict:
    """The same file with the transformer under another prefix: ``diffusion_model.`` or bare names (ComfyUI's
    transformer-only files); the VAE, audio VAE and vocoder keep theirs."""
    return {(prefix + k.removeprefix(sf.DIT_PREFIX)) if k.startswith(sf.DIT_PREFIX) else k: v
            for k, v in state.items()}


def fp8_scaled(state: dict, input_scale: bool = True) -> tuple[dict, dict]:
    """Lightricks' ``*-fp8.safetensors`` layout: each transformer-block Linear weight in float8_e4m3fn with a
    float32 per-tensor ``weight_scale`` (weight = fp8 x scale) and an ``input_scale``; the other tensors as
    they were. Returns the file's tensors and the dequantised weights a loader must arrive at."""
    out, expected = {}, {}
    for key, t in state.items():
        block_linear = (key.startswith(sf.DIT_PREFIX + "transformer_blocks.") and key.endswith(".weight")
                        and t.ndim == 2)
        if not block_linear:
            out[key] = t
            continue
        scale = (t.abs().max().float() / 448.0).clamp(min=1e-8)
        fp8 = (t.float() / scale).to(torch.float8_e4m3fn)
        out[key], out[key + "_scale"] = fp8, scale.reshape(())
        if input_scale:
            out[key.removesuffix("weight") + "input_scale"] = torch.tensor(1.0)
        expected[key] = fp8.float() * scale
    return out, expected


def hf_cache(source: Path, root: Path, revision: str = "0123abcd") -> Path:
    """``source`` laid out as a Hugging Face cache entry: ``root/blobs/<sha>`` files, ``snapshots/<rev>/...``
    symbolic links into them, ``refs/main`` naming the snapshot. Returns ``root``."""
    import hashlib
    import os

    snapshot = root / "snapshots" / revision
    (root / "blobs").mkdir(parents=True, exist_ok=True)
    for file in sorted(p for p in source.rglob("*") if p.is_file()):
        data = file.read_bytes()
        blob = root / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        link = snapshot / file.relative_to(source)
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(blob, link.parent), link)
    (root / "refs").mkdir(exist_ok=True)
    (root / "refs" / "main").write_text(revision)
    return root
