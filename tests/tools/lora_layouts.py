"""LoRA files as the tools people use write them: key names, tensor names, alpha handling and metadata.

Each builder copies one writer's real conventions (read from its source), at low rank and few blocks so a file
is a few MB at most:
- ltx-trainer: peft keys under ``diffusion_model.``, no alpha, metadata only for IC-LoRAs whose reference factor
  is not 1 (``reference_spatial_scale_factor`` + ``reference_downscale_factor``; the older video-to-video strategy
  always writes ``reference_downscale_factor``).
- the musubi-tuner LTX fork, training format: ``lora_unet_model_transformer_blocks_0_attn1_to_k.lora_down.weight``
  (``model`` is its wrapper), ``.lora_up.weight``, an ``.alpha`` scalar per layer, DoRA as
  ``.lora_magnitude_vector.weight``; metadata ``modelspec.architecture = "LTX2/lora"`` and
  ``ss_base_model_version = "ltx2_v1"`` for LTX-2 and 2.3 alike, ``ss_sd_model_name`` = the DiT file's name,
  ``ss_output_name``, ``ss_datasets`` (JSON list), and ``ss_ic_lora_strategy`` / ``ss_v2v_training`` /
  ``ss_reference_downscale_factor`` for IC training.
- the same fork converted to ComfyUI: ``diffusion_model.<path>.lora_A/B.weight``, alpha folded into B (no alpha
  keys), DoRA as ``.dora_scale``, text connectors as ``video_embeddings_connector.transformer_1d_blocks.N``.
- ai-toolkit: diffusers names converted back to the original ones under ``diffusion_model.``, ``lora_A/B``, no
  alpha, every Linear of the transformer (gates, feed-forward, patchify and AdaLN projections); metadata
  ``ss_base_model_version = "ltx2"`` whatever the version, ``ss_output_name`` / ``name`` = the job name,
  ``software`` and ``training_info`` as JSON, ``format = "pt"``, and ``ss_tag_frequency =
  {"1_<trigger>": {"<trigger>": 1}}``.
- diffusers ``save_lora_weights``: ``transformer.<path>.lora_A/B.weight``, metadata ``format = "pt"`` and
  ``lora_adapter_metadata`` (the LoraConfig as JSON).
- ComfyUI's LoRA extraction (LoraSave): ``diffusion_model.<path>.lora_up/down.weight`` in fp16, no metadata,
  named ``ComfyUI_extracted_lora_00001_.safetensors``.
"""

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from tests.tools.lora_factory import Modules, ltx2_modules

V, A = 4096, 2048
# Top-level LTX-2.x Linears (ltx-core names) a whole-transformer LoRA adapts, (out, in). LTX-2 has the caption
# projections; LTX-2.3 has prompt AdaLN instead.
LTX_TOP_COMMON: Modules = {"patchify_proj": (V, 128), "audio_patchify_proj": (A, 128), "proj_out": (128, V),
                           "adaln_single.linear": (6 * V, V), "audio_adaln_single.linear": (6 * A, A)}
LTX2_TOP: Modules = {"caption_projection.linear_1": (V, 3840), "caption_projection.linear_2": (V, V),
                     "audio_caption_projection.linear_1": (A, 3840)}
LTX23_TOP: Modules = {"prompt_adaln_single.linear": (2 * V, V), "audio_prompt_adaln_single.linear": (2 * A, A)}


def _ab(out_f: int, in_f: int, rank: int, gen: torch.Generator, dtype=torch.bfloat16):
    return ((torch.randn(rank, in_f, generator=gen) * 0.02).to(dtype),
            (torch.randn(out_f, rank, generator=gen) * 0.01).to(dtype))


def _write(path, tensors: dict, metadata: dict | None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata)
    return path


def peft_keys(modules: Modules, prefix: str, rank: int = 4, dtype=torch.bfloat16, seed: int = 0) -> dict:
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for mod, (o, i) in modules.items():
        out[f"{prefix}{mod}.lora_A.weight"], out[f"{prefix}{mod}.lora_B.weight"] = _ab(o, i, rank, gen, dtype)
    return out


def kohya_keys(modules: Modules, prefix: str = "lora_unet_", rank: int = 4, alpha: float | None = None,
               dora: bool = False, dtype=torch.bfloat16, seed: int = 0) -> dict:
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for mod, (o, i) in modules.items():
        k = prefix + mod.replace(".", "_")
        out[f"{k}.lora_down.weight"], out[f"{k}.lora_up.weight"] = _ab(o, i, rank, gen, dtype)
        out[f"{k}.alpha"] = torch.tensor(float(rank if alpha is None else alpha), dtype=dtype)
        if dora:
            out[f"{k}.lora_magnitude_vector.weight"] = torch.ones(o, dtype=dtype)
    return out


def ltx_trainer_lora(path, n_blocks: int = 2, audio: bool = True, rank: int = 4, ic_factor: int | None = None,
                     legacy_ic: bool = False) -> Path:
    """ltx-trainer's checkpoint ``lora_weights_step_02000.safetensors``."""
    md = {}
    if ic_factor is not None and (legacy_ic or ic_factor != 1):
        md["reference_downscale_factor"] = str(ic_factor)
        if not legacy_ic:
            md["reference_spatial_scale_factor"] = str(ic_factor)
    return _write(path, peft_keys(ltx2_modules(n_blocks=n_blocks, audio=audio), "diffusion_model.", rank), md or None)


def musubi_metadata(dit: str = "ltx-2.3-22b-dev.safetensors", output_name: str = "mychar", **extra) -> dict:
    md = {"modelspec.architecture": "LTX2/lora", "modelspec.implementation": "https://github.com/Lightricks/LTX-Video",
          "modelspec.title": "LoRA@1764500000", "ss_base_model_version": "ltx2_v1", "ss_sd_model_name": dit,
          "ss_output_name": output_name, "ss_learning_rate": "0.0001", "ss_max_train_steps": "2000",
          "ss_network_module": "networks.lora_ltx2",
          "ss_datasets": json.dumps([{"is_image_dataset": False, "resolution": [768, 512], "num_repeats": 1}])}
    md.update(extra)
    return md


def musubi_training_lora(path, modules: Modules | None = None, rank: int = 8, alpha: float = 4.0, dora: bool = False,
                         connector: bool = False, metadata: dict | None = None) -> Path:
    """The musubi-tuner LTX fork's own format (what ``--output_dir`` holds before any conversion)."""
    modules = modules if modules is not None else ltx2_modules(n_blocks=2)
    tensors = kohya_keys(modules, "lora_unet_model_", rank, alpha, dora)
    if connector:  # the text connector is an attribute of the wrapper, not of its model
        conn = {f"embeddings_connector.transformer_1d_blocks.0.attn1.{p}": (3840, 3840) for p in ("to_q", "to_k")}
        tensors.update(kohya_keys(conn, "lora_unet_", rank, alpha))
    return _write(path, tensors, metadata)


def musubi_comfy_lora(path, modules: Modules | None = None, rank: int = 8, dora: bool = False,
                      connector: bool = False, metadata: dict | None = None) -> Path:
    """The fork's ComfyUI export: alpha folded into B, ``dora_scale``, connectors under their ComfyUI names."""
    modules = modules if modules is not None else ltx2_modules(n_blocks=2)
    tensors = peft_keys(modules, "diffusion_model.", rank)
    if dora:
        tensors.update({f"diffusion_model.{m}.dora_scale": torch.ones(o, 1, dtype=torch.bfloat16)
                        for m, (o, _) in modules.items()})
    if connector:
        conn = {f"video_embeddings_connector.transformer_1d_blocks.0.attn1.{p}": (3840, 3840) for p in ("to_q", "to_k")}
        tensors.update(peft_keys(conn, "diffusion_model.", rank))
    return _write(path, tensors, metadata)


def ai_toolkit_lora(path, version: str = "2.3", n_blocks: int = 2, rank: int = 4, job: str = "my_lora_v1",
                    trigger: str | None = "ohwx man", step: int = 3000) -> Path:
    """ai-toolkit's LTX-2 / 2.3 / 2.5 LoRA: every Linear of the transformer, original names, no alpha."""
    gated = version in ("2.3", "2.5")
    modules = ltx2_modules(n_blocks=n_blocks, gate=gated, ff=True)
    for b in range(n_blocks):
        modules[f"transformer_blocks.{b}.audio_ff.net.0.proj"] = (4 * A, A)
        modules[f"transformer_blocks.{b}.audio_ff.net.2"] = (A, 4 * A)
    modules.update(LTX_TOP_COMMON)
    modules.update(LTX23_TOP if gated else LTX2_TOP)
    md = {"ss_base_model_version": "ltx2", "ss_output_name": job, "name": job, "version": "1.0",
          "software": json.dumps({"name": "ai-toolkit", "repo": "https://github.com/ostris/ai-toolkit",
                                  "version": "0.7.4"}),
          "training_info": json.dumps({"step": step, "epoch": 10}), "format": "pt"}
    if trigger:
        md["ss_tag_frequency"] = json.dumps({f"1_{trigger}": {trigger: 1}})
    return _write(path, peft_keys(modules, "diffusion_model.", rank), md)


def diffusers_lora(path, modules: Modules | None = None, rank: int = 4, alpha: int | None = None,
                   base: str | None = None) -> Path:
    """``LTX2Pipeline.save_lora_weights``: ``transformer.`` keys and the LoraConfig in ``lora_adapter_metadata``."""
    modules = modules if modules is not None else ltx2_modules(n_blocks=2)
    config = {"r": rank, "lora_alpha": alpha or rank, "target_modules": ["to_k", "to_q", "to_v", "to_out.0"],
              "lora_dropout": 0.0, "use_dora": False, "base_model_name_or_path": base}
    md = {"format": "pt", "lora_adapter_metadata": json.dumps(config)}
    return _write(path, peft_keys(modules, "transformer.", rank), md)


def comfy_extracted_lora(folder, modules: Modules | None = None, rank: int = 8) -> Path:
    """ComfyUI's LoraSave node: fp16 lora_up / lora_down under ``diffusion_model.``, no metadata."""
    modules = modules if modules is not None else ltx2_modules(n_blocks=2, gate=True)
    gen = torch.Generator().manual_seed(0)
    tensors = {}
    for mod, (o, i) in modules.items():
        down, up = _ab(o, i, rank, gen, torch.float16)
        tensors[f"diffusion_model.{mod}.lora_up.weight"], tensors[f"diffusion_model.{mod}.lora_down.weight"] = up, down
    return _write(Path(folder) / "ComfyUI_extracted_lora_00001_.safetensors", tensors, None)
