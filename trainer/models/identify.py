"""What a file or folder given as the base model is, before any weight is read: so a wrong file gets an error
that names what it is and what to do, never a traceback or another model's weights.

- ``sniff(path)``: the file's format from its first bytes. safetensors starts with an 8-byte header length and
  ``{``; GGUF with ``GGUF``; ``torch.save`` files (``.pt``, ``.ckpt``, ``.bin``) are zip archives (``PK``) or bare
  pickles (``0x80`` + protocol). Pickles are refused unread: unpickling a file runs code from it.
- ``transformer_prefix(keys)``: where an LTX-2.x transformer sits in a safetensors file. Lightricks' checkpoints
  (and ComfyUI's saves) use ``model.diffusion_model.``; transformer-only files for ComfyUI's diffusion_models/
  folder often carry bare names (diffusers' own LTX-2 single-file converter accepts both).
- ``what_else(keys)``: for a file that holds no LTX-2.x transformer, what it holds instead (a LoRA, LTX-Video
  0.9, a diffusers part file, another model family, a text encoder), by the key fingerprints each uses.
- ``describe_folder(path)``: the same for a folder without ``model_index.json``.
"""

import json
import re
from pathlib import Path

from core.errors import LoraportError

PREFIXES = ("model.diffusion_model.", "diffusion_model.", "")
_PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle")
_GET = ("Use Lightricks' safetensors checkpoint (ltx-2.3-22b-dev.safetensors) or a diffusers-format folder; "
        "nothing is downloaded.")


def sniff(path: Path) -> None:
    """Refuse, by its first bytes, a file that is not a safetensors checkpoint; say what it is."""
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise LoraportError(f"{path} cannot be read ({exc.strerror or exc}): check its permissions.") from None
    name = path.name
    if path.suffix.lower() in (".json", ".yaml", ".yml", ".txt", ".md"):
        where = "its folder" if name in ("model_index.json", "config.json") else "the checkpoint or its folder"
        raise LoraportError(f"{name} is a {path.suffix[1:]} file, not weights: point the model path at {where} "
                            f"({path.parent}).")
    if not head:
        raise LoraportError(f"{name} is empty (0 bytes): the download did not complete. Download it again.")
    if path.suffix.lower() in (".incomplete", ".part", ".partial", ".crdownload", ".aria2", ".tmp"):
        raise LoraportError(f"{name} is an unfinished download ({path.suffix}): let the download finish (or start "
                            "it again) and point the model path at the finished file.")
    if (head.startswith(b"GGUF") and head[8:9] != b"{") or path.suffix.lower() == ".gguf":
        raise LoraportError(f"{name} is a GGUF file (quantised for llama.cpp / ComfyUI-GGUF): loraport trains from "
                            f"full-precision weights and quantises them itself (quantize_base = int8, float8 or "
                            f"nf4). {_GET}")
    # safetensors' 9th byte opens its JSON header; its first 8 (the header length) can look like anything
    pickled = head.startswith(b"PK\x03\x04") or (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03",
                                                                                   b"\x04", b"\x05"))
    if head[8:9] != b"{" and (pickled or path.suffix.lower() in _PICKLE_SUFFIXES):
        raise LoraportError(f"{name} is a PyTorch pickle file ({path.suffix or 'no extension'}), not safetensors. "
                            f"loraport never opens pickles: loading one runs any code inside it. {_GET}")


def transformer_prefix(keys: list[str]) -> str | None:
    """The prefix an LTX-2.x transformer's keys carry in this file, or None when none is there."""
    names = set(keys)
    for prefix in PREFIXES:
        if f"{prefix}audio_patchify_proj.weight" in names and f"{prefix}patchify_proj.weight" in names:
            return prefix
    return None


_FAMILIES = (  # (pattern any key matches, what the file is); checked in order, the first match wins
    (r"(^|\.)lora_(A|B|down|up)\.|^lora_(unet|te\d?)_|\.(lokr_w1|hada_w1_a|dora_scale)$", "a LoRA"),
    (r"(^|\.)input_blocks\.\d+\..*|^first_stage_model\.|^conditioner\.embedders\.",
     "a Stable Diffusion / SDXL checkpoint"),
    (r"(^|\.)double_blocks\.\d+\.img_attn_qkv\.", "a HunyuanVideo checkpoint"),
    (r"(^|\.)double_blocks\.\d+\.img_attn\.", "a Flux checkpoint"),
    (r"(^|\.)layers\.\d+\.self_attn\.q_proj\.|^(model\.)?vision_tower\.",
     "a language model / text encoder (such as Gemma)"),
    (r"^((model\.)?diffusion_model\.)?blocks\.\d+\.self_attn\.q\.|^((model\.)?diffusion_model\.)?patch_embedding"
     r"\.weight$", "a Wan checkpoint"),
    (r"^post_upsample_res_blocks\.\d+\.|^initial_conv\.weight$",
     "an LTX latent upscaler (ltx-*-spatial- or temporal-upscaler), which the base model's pipelines use after it"),
)


def what_else(keys: list[str]) -> str | None:
    """What a file without an LTX-2.x transformer holds, in words; None when nothing is recognised."""
    names = set(keys)
    for prefix in PREFIXES:
        if f"{prefix}patchify_proj.weight" in names and f"{prefix}adaln_single.linear.weight" in names:
            return "an LTX-Video 0.9 checkpoint (video only, no audio stream), an older model than LTX-2"
    if {"proj_in.weight", "audio_proj_in.weight", "time_embed.linear.weight"} <= names:
        return "the transformer weights of a diffusers-format folder (diffusers names), without its folder"
    if any(re.match(r"transformer_blocks\.\d+\.attn1\.norm_q\.weight$", k) for k in keys):
        return "one shard of a diffusers-format transformer, without its folder"
    for pattern, label in _FAMILIES:
        if any(re.search(pattern, k) for k in keys):
            return label
    if keys and all(k.startswith(("vae.", "audio_vae.", "vocoder.")) for k in keys):
        return "only the VAE / vocoder parts of an LTX checkpoint, no transformer"
    return None


def not_a_base(name: str, keys: list[str], model_id: str) -> LoraportError:
    """The error for a safetensors file that holds no LTX-2.x transformer."""
    found = what_else(keys)
    if found == "a LoRA":
        return LoraportError(f"{name} is a LoRA, not a base model. The model path must point at the {model_id} "
                             f"base weights; the LoRA goes to `loraport inspect {name}` or --from-lora.")
    if found is not None and found.startswith(("the transformer weights", "one shard")):
        return LoraportError(f"{name} is {found}. Point the model path at the folder that holds "
                             "model_index.json (the parent of transformer/), not at a file inside it.")
    what = found or "no LTX-2.x transformer (none of its keys is an LTX-2 transformer's)"
    return LoraportError(f"{name} holds {what}: it is not an LTX-2.x base checkpoint, so it cannot be "
                         f"{model_id}. {_GET}")


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def hf_snapshot(folder: Path) -> Path | None:
    """The snapshot a Hugging Face cache folder (``models--org--name`` with ``refs/`` and ``snapshots/``) points
    at: the one ``refs/main`` names, else its only snapshot; None for any other folder."""
    if folder.name == "snapshots" and (folder.parent / "refs").is_dir():  # the user stopped one level short
        folder = folder.parent
    snaps = folder / "snapshots"
    if not snaps.is_dir():
        return None
    ref = folder / "refs" / "main"
    if ref.is_file() and (snaps / ref.read_text().strip()).is_dir():
        return snaps / ref.read_text().strip()
    found = [p for p in snaps.iterdir() if p.is_dir()]
    if len(found) == 1:
        return found[0]
    raise LoraportError(f"{folder} is a Hugging Face cache folder with {len(found)} snapshots and no refs/main: "
                        f"point the model path at one of {', '.join(str(p) for p in found) or 'its snapshots'}.")


def describe_folder(folder: Path, model_id: str) -> LoraportError:
    """The error for a folder without ``model_index.json``: what it holds and where the model path should go."""
    config = _read_json(folder / "config.json")
    if config.get("architectures"):
        return LoraportError(
            f"{folder} is a text encoder folder ({config['architectures'][0]}), not the {model_id} model. Set it "
            "as the text encoder path (LORAPORT_TEXT_ENCODER_PATH) and point the model path at the LTX checkpoint "
            "or diffusers-format folder.")
    if isinstance(config.get("_class_name"), str):
        parent = folder.parent
        hint = (f"point the model path at {parent}, the folder with model_index.json" if
                (parent / "model_index.json").is_file() else "the rest of the diffusers-format folder is missing")
        return LoraportError(f"{folder} is one part ({config['_class_name']}) of a diffusers-format model: {hint}.")
    transformers = sorted(p.name for p in folder.glob("diffusion_models/*.safetensors"))
    if transformers:  # Lightricks' per-component release (LTX-2.5): diffusion_models/, text_encoders/, vae/ ...
        dev = [n for n in transformers if "-dev" in n] or transformers
        return LoraportError(
            f"{folder} is a per-component download ({', '.join(transformers[:3])} in diffusion_models/): point the "
            f"model path at the transformer file itself ({folder / 'diffusion_models' / dev[0]}; Lightricks' trainer "
            "configurations train on the dev model) and the text encoder path at a diffusers-format folder of the "
            "same model, which "
            "supplies the part configs, the VAEs and Gemma. loraport does not read the packed text encoder file in "
            "text_encoders/.")
    files = sorted(p.name for p in folder.glob("*.safetensors"))
    if (folder / "adapter_config.json").is_file() or any(_is_lora(folder / name) for name in files[:3]):
        return LoraportError(f"{folder} holds a LoRA ({', '.join(files[:2]) or 'adapter_config.json'}), not a base "
                             f"model: the model path must point at the {model_id} base weights; the LoRA goes to "
                             "`loraport inspect` or --from-lora.")
    if files:
        return LoraportError(f"{folder} holds {', '.join(files[:4])}{' ...' if len(files) > 4 else ''} but no "
                             "model_index.json: point the model path at the checkpoint file itself "
                             f"(Lightricks' ltx-2.3-22b-dev.safetensors for ltx-2.3), or at a diffusers-format "
                             "folder.")
    if not any(folder.iterdir()):
        return LoraportError(f"{folder} is empty: point the model path at the {model_id} checkpoint file or its "
                             "diffusers-format folder (one with model_index.json).")
    return LoraportError(f"{folder} is a folder without model_index.json: point the model path at a "
                         f"diffusers-format {model_id} folder or at a single-file .safetensors checkpoint.")


def check_weight_files(folder: Path) -> None:
    """A part folder's .safetensors are all there and whole before a loader reads them: every shard its
    ``*.safetensors.index.json`` names exists (a dangling link from an interrupted Hugging Face download counts
    as missing), shards have their index, and each file's header covers its size."""
    from safetensors import SafetensorError, safe_open

    files = sorted(p for p in folder.glob("*.safetensors"))
    indexes = sorted({*folder.glob("*.safetensors.index.json"), *folder.glob("*.safetensors.index.*.json")})
    if not files and not indexes:
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix in _PICKLE_SUFFIXES)
        if pickles:
            raise LoraportError(f"{folder} holds only PyTorch pickle weights ({', '.join(pickles[:3])}), which "
                                "loraport never opens (loading a pickle runs code from it): use a copy with "
                                ".safetensors weights.")
        raise LoraportError(f"{folder} has no weights (.safetensors): the copy is incomplete; download that part "
                            "again (nothing is downloaded here).")
    for index in indexes:
        weight_map = _read_json(index).get("weight_map")
        if not isinstance(weight_map, dict):
            raise LoraportError(f"{index} is not a valid shard index (no weight_map): download it again.")
        missing = sorted({str(v) for v in weight_map.values()} - {p.name for p in files if p.exists()})
        if missing:
            raise LoraportError(f"{folder} is missing {len(missing)} shard(s) its index names "
                                f"({', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}): the download is "
                                "incomplete; download those files again.")
    if not indexes and any(re.search(r"-\d{5}-of-\d{5}\.safetensors$", p.name) for p in files):
        raise LoraportError(f"{folder} holds weight shards without their .safetensors.index.json: download the "
                            "index file too.")
    for file in files:
        if not file.exists():
            raise LoraportError(f"{file} is a link to a file that is not there (an interrupted download?): "
                                "download it again.")
        try:
            with safe_open(str(file), framework="pt"):
                pass
        except (SafetensorError, OSError, ValueError) as exc:
            raise LoraportError(f"{file} cannot be read as safetensors ({exc}): the file is damaged or incomplete "
                                "(an interrupted download?). Download it again.") from None


_LTX_VIDEO_PIPELINES = ("LTXPipeline", "LTXImageToVideoPipeline", "LTXConditionPipeline", "LTXLatentUpsamplePipeline")


def check_pipeline(folder: Path, index: dict, model_id: str) -> None:
    """Refuse a diffusers folder of another pipeline (``model_index.json``'s ``_class_name``) by name."""
    name = index.get("_class_name")
    if not isinstance(name, str) or name.startswith("LTX2"):
        return
    what = "LTX-Video 0.9, an older model than LTX-2" if name in _LTX_VIDEO_PIPELINES else "not an LTX-2.x model"
    raise LoraportError(f"{folder} is a diffusers {name} folder ({what}), so it cannot be {model_id}: point the "
                        f"model path at a diffusers-format {model_id} folder (its model_index.json names an "
                        "LTX2 pipeline) or at Lightricks' single-file checkpoint.")


TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model")


def check_tokenizer(folder: Path) -> None:
    """Gemma's tokenizer files are there. Without them transformers' AutoTokenizer still returns a Gemma
    tokenizer, an empty one: every caption would be encoded as unknown tokens, silently."""
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise LoraportError(f"{folder} has no tokenizer ({' or '.join(TOKENIZER_FILES)}): the copy is incomplete; "
                            "download Gemma's tokenizer files into it again.")


_PLAIN = ("diffusion_pytorch_model.safetensors", "model.safetensors")
_VARIANT = re.compile(r"^(?:diffusion_pytorch_model|model)\.(\w+?)(?:-\d{5}-of-\d{5})?\.safetensors$")


def weights_variant(folder: Path) -> str | None:
    """The variant a part folder's weights are saved as (diffusers' ``diffusion_pytorch_model.bf16.safetensors``,
    transformers' ``model.fp16-00001-of-00002.safetensors``), for ``from_pretrained(variant=...)``; None for
    plain names. Several variants and no plain weights is an error: which one to train on is the user's call."""
    names = {p.name for p in folder.glob("*.safetensors")}
    plain = any(n in names or f"{n}.index.json" in {p.name for p in folder.glob("*.json")} for n in _PLAIN) or any(
        re.match(r"^(diffusion_pytorch_model|model)-\d{5}-of-\d{5}\.safetensors$", n) for n in names)
    found = sorted({m[1] for n in names if (m := _VARIANT.match(n))})
    if plain or not found:
        return None
    if len(found) > 1:
        raise LoraportError(f"{folder} holds the weights in several variants ({', '.join(found)}) and none under "
                            "the plain name: keep the one to train on (bf16 is what LTX ships) and move the others "
                            "out.")
    return found[0]


def extra_hint(keys: list[str]) -> str:
    """What tensors beside the LTX parts in a single file are, when recognisable (a full save with its text
    encoder, a file with a LoRA merged in as separate tensors), as a sentence to append; else ''."""
    found = what_else(keys)
    if found is None:
        return ""
    return (f" Those tensors are {found}: loraport uses only the LTX parts and takes Gemma from the text encoder "
            "path, so use Lightricks' checkpoint without them.")


def check_not_prequantised(config: dict, where: Path) -> None:
    """A part saved already quantised (``quantization_config`` in its config.json: bitsandbytes, torchao, GPTQ
    ...) is refused: loraport quantises the full-precision weights itself, as the plan chose and its memory
    model counted, and bitsandbytes parts cannot even be read without CUDA."""
    quant = config.get("quantization_config")
    if not isinstance(quant, dict):
        return
    method = quant.get("quant_method") or ("bitsandbytes" if "load_in_4bit" in quant or "load_in_8bit" in quant
                                           else "an unknown method")
    setting = "text_encoder = int8 or nf4" if "text_encoder" in where.parts or config.get("architectures") else \
        "quantize_base = int8, float8 or nf4"
    raise LoraportError(f"{where} holds weights already quantised with {method}: use the full-precision (bf16) "
                        f"copy of this part; loraport quantises it itself when asked ({setting}).")


def _is_lora(path: Path) -> bool:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return what_else(list(f.keys())) == "a LoRA"
    except (SafetensorError, OSError, ValueError):
        return False
