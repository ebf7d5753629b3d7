"""Single files given as the base model: every layout Lightricks and ComfyUI users have loads with the file's own
weights; every other file (a LoRA, another family, GGUF, a pickle, a damaged file) is refused by what it is."""

import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from core.errors import LoraportError
from tests.trainer import ltx_layouts as layouts
from trainer.config import ModelConfig
from trainer.models import load_components
from trainer.models import ltx2_single_file as sf

MODEL_PARTS = ("transformer", "vae", "audio_vae", "vocoder", "connectors")


@pytest.fixture(scope="module")
def parts():
    return layouts.tiny_parts()


@pytest.fixture(scope="module")
def state(parts):
    return layouts.lightricks_state_dict(parts)


@pytest.fixture(scope="module")
def folders(tmp_path_factory, parts):
    """``configs``: a diffusers folder with the part configs and Gemma only (so every model weight must come
    from the single file); ``full``: the same folder with every part's weights."""
    root = tmp_path_factory.mktemp("folders")
    layouts.write_diffusers_folder(root / "configs", parts, configs_only=MODEL_PARTS)
    layouts.write_diffusers_folder(root / "full", parts)
    return root


def _load(path: Path, folders: Path, te: str = "configs", model: str = "ltx-2.3"):
    return load_components(ModelConfig(id=model, path=path, text_encoder_path=folders / te))


def _save(tmp_path: Path, tensors: dict, name: str = "ltx-2.3-22b-dev.safetensors") -> Path:
    save_file(tensors, str(tmp_path / name))
    return tmp_path / name


def _same(module: torch.nn.Module, other: torch.nn.Module) -> bool:
    a, b = module.state_dict(), other.state_dict()
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# -- layouts that load -------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("prefix", ["diffusion_model.", ""], ids=["diffusion_model-prefix", "bare-names"])
def test_transformer_under_another_prefix_loads_every_weight_from_the_file(tmp_path, parts, state, folders, prefix):
    path = _save(tmp_path, layouts.with_transformer_prefix(state, prefix))
    c = _load(path, folders)
    for name in MODEL_PARTS:  # the configs folder has no model weights: these came from the file
        assert _same(getattr(c, name), parts[name]), name


def test_comfyui_transformer_only_file_with_bare_names_takes_the_rest_from_the_folder(tmp_path, parts, state,
                                                                                      folders):
    only = {k.removeprefix(sf.DIT_PREFIX): v for k, v in state.items() if k.startswith(sf.DIT_PREFIX)}
    c = _load(_save(tmp_path, only, "ltx-2.3-22b-dev_transformer_only_bf16.safetensors"), folders, te="full")
    assert all(_same(getattr(c, n), parts[n]) for n in MODEL_PARTS)


def test_lightricks_fp8_file_is_dequantised_with_its_per_tensor_scales(tmp_path, state, folders):
    tensors, expected = layouts.fp8_scaled(state)
    assert any(t.dtype == torch.float8_e4m3fn for t in tensors.values())
    c = _load(_save(tmp_path, tensors, "ltx-2.3-22b-dev-fp8.safetensors"), folders)
    got = c.transformer.state_dict()
    for key, want in expected.items():  # fp8 value x scale, not the raw fp8 value
        name = sf.rename("transformer", key.removeprefix(sf.DIT_PREFIX), "2.3")
        assert torch.equal(got[name], want), name
    q = c.transformer.transformer_blocks[0].attn1.to_q.weight
    assert q.dtype == torch.float32 and not q.is_meta
    raw = tensors[sf.DIT_PREFIX + "transformer_blocks.0.attn1.to_q.weight"].float()
    assert not torch.equal(q, raw)  # the scale was applied


def test_fp8_weights_without_scales_are_upcast_as_they_are(tmp_path, state, folders):
    key = sf.DIT_PREFIX + "transformer_blocks.1.ff.net.2.weight"
    tensors = dict(state)
    tensors[key] = state[key].to(torch.float8_e4m3fn)
    c = _load(_save(tmp_path, tensors), folders)
    assert torch.equal(c.transformer.transformer_blocks[1].ff.net[2].weight, tensors[key].float())


def test_a_safetensors_file_with_another_extension_is_read_by_its_bytes(tmp_path, state, folders):
    path = _save(tmp_path, state, "ltx-2.3-22b-dev.ckpt")  # renamed, still safetensors inside
    assert _load(path, folders).transformer is not None


@pytest.mark.slow
def test_the_real_ltx23_parts_all_have_single_file_names_and_nothing_is_left_over():
    """At the real config (on meta, no weights): every parameter of the five parts has an ltx-core name that the
    tables map back, and a file with all of them splits with nothing unclaimed."""
    from accelerate import init_empty_weights

    from trainer.models import identify
    from trainer.models.ltx2 import part_class
    from trainer.models.ltx2_configs import PART_CLASSES

    with init_empty_weights():
        real = {part: part_class(part, name).from_config(config) for part, (name, config) in
                PART_CLASSES["2.3"].items()}
    keys = list(layouts.lightricks_state_dict(real))  # asserts each name maps back to its diffusers name
    assert identify.transformer_prefix(keys) == sf.DIT_PREFIX and sf.detect_version(keys) == "2.3"
    split = sf.split_keys(keys, "2.3")
    assert not split.unclaimed and split.dropped == ["vae.per_channel_statistics.channel"]
    assert {p: len(split.keys[p]) for p in MODEL_PARTS} == {p: len(real[p].state_dict()) for p in MODEL_PARTS}
    assert len(split.keys["transformer"]) > 4000 and all(".to_gate_logits." not in k or k.startswith(
        "transformer_blocks.") for k in split.keys["transformer"])


# -- quantised files loraport does not read ----------------------------------------------------------------------

def test_block_wise_fp8_scales_are_refused_not_misapplied(tmp_path, state, folders):
    tensors, _ = layouts.fp8_scaled(state)
    key = sf.DIT_PREFIX + "transformer_blocks.0.attn1.to_q.weight_scale"
    tensors[key] = torch.ones(2, 2)
    with pytest.raises(LoraportError, match="quantised in a format.*weight_scale of shape"):
        _load(_save(tmp_path, tensors), folders)


@pytest.mark.parametrize("extra", [
    {sf.DIT_PREFIX + "scaled_fp8": torch.zeros(0, dtype=torch.float8_e4m3fn)},  # ComfyUI's scaled fp8 marker
    {sf.DIT_PREFIX + "transformer_blocks.0.attn1.to_q.scale_weight": torch.ones(1)},
    {sf.DIT_PREFIX + "transformer_blocks.0.attn1.to_q.weight_scale_2": torch.ones(())},  # NVFP4
    {sf.DIT_PREFIX + "transformer_blocks.0.attn1.to_q.comfy_quant": torch.zeros(8, dtype=torch.uint8)},
], ids=["comfy-scaled_fp8", "comfy-scale_weight", "nvfp4", "comfy_quant"])
def test_other_quantised_layouts_are_refused_by_name(tmp_path, state, folders, extra):
    with pytest.raises(LoraportError, match="quantised in a format loraport does not read.*int8, float8 or nf4"):
        _load(_save(tmp_path, {**state, **extra}), folders)


def test_comfyuis_quantization_metadata_is_refused(tmp_path, state, folders):
    path = tmp_path / "ltx-2.3-22b-dev-fp8-comfy.safetensors"
    save_file(state, str(path), metadata={"_quantization_metadata": '{"format_version": "1.0", "layers": {}}'})
    with pytest.raises(LoraportError, match="quantised in a format.*_quantization_metadata"):
        _load(path, folders)


def test_an_mlx_conversion_is_refused_with_what_to_use(tmp_path, state, folders):
    path = tmp_path / "ltx-2.3-mlx.safetensors"
    save_file(state, str(path), metadata={"format": "mlx"})
    with pytest.raises(LoraportError, match="converted for MLX.*original checkpoint"):
        _load(path, folders)


def test_an_integer_packed_weight_is_refused(tmp_path, state, folders):
    key = sf.DIT_PREFIX + "transformer_blocks.0.attn1.to_k.weight"
    tensors = {**state, key: torch.zeros_like(state[key], dtype=torch.uint8)}
    with pytest.raises(LoraportError, match="to_k.weight as torch.uint8"):
        _load(_save(tmp_path, tensors), folders)


def test_a_scale_whose_tensor_is_not_in_the_file_is_named(tmp_path, state, folders):
    orphan = sf.DIT_PREFIX + "transformer_blocks.9.attn1.to_q.weight_scale"
    with pytest.raises(LoraportError, match="transformer_blocks.9.attn1.to_q.weight_scale"):
        _load(_save(tmp_path, {**state, orphan: torch.tensor(1.0)}), folders)


# -- files that are not an LTX-2.x base ---------------------------------------------------------------------------

class _Zeros:
    """Each use a tensor of its own (safetensors refuses to save one tensor under two names)."""

    def __repr__(self):
        return "zeros"


_Z = _Zeros()
_NOT_A_BASE = {
    "ltx-lora-comfy": ({"diffusion_model.transformer_blocks.0.attn1.to_q.lora_A.weight": _Z,
                        "diffusion_model.transformer_blocks.0.attn1.to_q.lora_B.weight": _Z}, "is a LoRA, not a base"),
    "ltx-lora-diffusers": ({"transformer.transformer_blocks.0.attn1.to_k.lora_A.weight": _Z}, "is a LoRA"),
    "kohya-lora": ({"lora_unet_transformer_blocks_0_attn1_to_q.lora_down.weight": _Z,
                    "lora_unet_transformer_blocks_0_attn1_to_q.alpha": torch.ones(())}, "is a LoRA"),
    "sdxl": ({"model.diffusion_model.input_blocks.0.0.weight": _Z, "first_stage_model.decoder.conv_in.weight": _Z,
              "conditioner.embedders.0.transformer.text_model.final_layer_norm.weight": _Z}, "SDXL"),
    "flux-comfy": ({"model.diffusion_model.double_blocks.0.img_attn.qkv.weight": _Z,
                    "model.diffusion_model.single_blocks.0.linear1.weight": _Z}, "Flux"),
    "wan": ({"blocks.0.self_attn.q.weight": _Z, "patch_embedding.weight": _Z}, "Wan"),
    "hunyuan-video": ({"double_blocks.0.img_attn_qkv.weight": _Z, "single_blocks.0.linear1.weight": _Z},
                      "HunyuanVideo"),
    "ltx-video-0.9": ({"model.diffusion_model.patchify_proj.weight": _Z,
                       "model.diffusion_model.adaln_single.linear.weight": _Z,
                       "model.diffusion_model.transformer_blocks.0.attn1.to_q.weight": _Z}, "LTX-Video 0.9"),
    "gemma-shard": ({"model.language_model.layers.0.self_attn.q_proj.weight": _Z}, "text encoder"),
    "gemma-vision-shard": ({"model.vision_tower.vision_model.embeddings.patch_embedding.weight": _Z},
                           "text encoder"),  # not Wan, although Wan also has a patch_embedding
    "wan-comfy": ({"model.diffusion_model.blocks.0.self_attn.q.weight": _Z}, "Wan"),
    "diffusers-transformer": ({"proj_in.weight": _Z, "audio_proj_in.weight": _Z, "time_embed.linear.weight": _Z},
                              "model_index.json"),
    "vae-only": ({"vae.encoder.conv_in.conv.weight": _Z, "audio_vae.encoder.conv_in.weight": _Z}, "no transformer"),
    "spatial-upscaler": ({"initial_conv.weight": _Z, "res_blocks.0.conv1.weight": _Z,
                          "post_upsample_res_blocks.0.conv1.weight": _Z}, "latent upscaler"),
    "unknown": ({"encoder.layer.0.weight": _Z, "head.bias": _Z}, "holds no LTX-2.x transformer.*not an LTX-2.x base"),
}


@pytest.mark.parametrize("name", list(_NOT_A_BASE))
def test_a_file_that_is_not_an_ltx2_base_is_named_for_what_it_is(tmp_path, folders, name):
    tensors, said = _NOT_A_BASE[name]
    with pytest.raises(LoraportError, match=said):
        _load(_save(tmp_path, _fill(tensors), f"{name}.safetensors"), folders)


def _fill(tensors: dict) -> dict:
    return {k: torch.zeros(2, 2) if v is _Z else v for k, v in tensors.items()}


def test_a_lora_given_as_the_base_says_where_a_lora_goes(tmp_path, folders):
    tensors, _ = _NOT_A_BASE["ltx-lora-comfy"]
    with pytest.raises(LoraportError, match="loraport inspect my_style.safetensors"):
        _load(_save(tmp_path, _fill(tensors), "my_style.safetensors"), folders)


class _Trap:
    """Unpickling this writes a marker file: proof that a loader ran code from the pickle."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "unpickled"))


@pytest.mark.parametrize("suffix", [".ckpt", ".pt", ".bin", ".pth"])
def test_pickles_are_refused_without_being_unpickled(tmp_path, folders, suffix):
    marker = tmp_path / "ran"
    bare = tmp_path / f"bare{suffix}"
    bare.write_bytes(pickle.dumps({"state_dict": _Trap(marker)}, protocol=4))
    zipped = tmp_path / f"zipped{suffix}"
    torch.save({"state_dict": _Trap(marker)}, zipped)  # torch.save's zip archive
    for path in (bare, zipped):
        with pytest.raises(LoraportError, match="pickle.*never opens"):
            _load(path, folders)
    assert not marker.exists()


@pytest.mark.parametrize("suffix", [".incomplete", ".part", ".crdownload"])
def test_an_unfinished_download_is_named_as_such(tmp_path, state, folders, suffix):
    data = (_save(tmp_path, state)).read_bytes()
    partial = tmp_path / f"ltx-2.3-22b-dev.safetensors{suffix}"
    partial.write_bytes(data[: len(data) // 3])
    with pytest.raises(LoraportError, match="unfinished download.*let the download finish"):
        _load(partial, folders)


def test_a_gguf_file_is_refused_with_what_to_use_instead(tmp_path, folders):
    path = tmp_path / "ltx-2.3-22b-dev-Q4_K_M.gguf"
    path.write_bytes(b"GGUF" + (3).to_bytes(4, "little") + bytes(64))
    with pytest.raises(LoraportError, match="GGUF.*quantize_base"):
        _load(path, folders)


@pytest.mark.parametrize("damage", ["empty", "header-only", "half", "garbage"])
def test_a_damaged_file_says_download_again(tmp_path, state, folders, damage):
    path = _save(tmp_path, state)
    data = path.read_bytes()
    path.write_bytes({"empty": b"", "header-only": data[:8 + int.from_bytes(data[:8], "little")],
                      "half": data[: len(data) // 2], "garbage": b"\x00" * 100}[damage])
    with pytest.raises(LoraportError, match="[Dd]ownload it again"):
        _load(path, folders)


def test_a_missing_file_and_a_dangling_link_name_the_setting(tmp_path, folders):
    with pytest.raises(LoraportError, match="does not exist.*nothing is downloaded"):
        _load(tmp_path / "ltx-2.3-22b-dev.safetensors", folders)
    link = tmp_path / "model.safetensors"
    link.symlink_to(tmp_path / "blobs" / "gone")
    with pytest.raises(LoraportError, match="LORAPORT_MODEL_PATH.*link whose target is gone"):
        _load(link, folders)


# -- the wrong version ---------------------------------------------------------------------------------------------

def _ltx2_file(tmp_path, state) -> Path:
    ltx2 = {k: v for k, v in state.items() if ".to_gate_logits." not in k and "prompt_adaln_single." not in k}
    return _save(tmp_path, ltx2, "ltx-2-19b-dev.safetensors")


def test_an_ltx2_file_with_bare_names_given_as_23_names_the_version(tmp_path, state, folders):
    path = _ltx2_file(tmp_path, layouts.with_transformer_prefix(state, ""))
    with pytest.raises(LoraportError, match="LTX-2 checkpoint, but the model is ltx-2.3.*--model ltx-2"):
        _load(path, folders)


def test_an_ltx2_file_beside_an_ltx23_folder_is_refused_before_building(tmp_path, state, folders):
    with pytest.raises(LoraportError, match="LTX-2.3 folder, whose part configs do not fit this LTX-2"):
        _load(_ltx2_file(tmp_path, state), folders, model="ltx-2")


def test_a_23_file_given_as_ltx2_names_the_version(tmp_path, state, folders):
    with pytest.raises(LoraportError, match="LTX-2.3 checkpoint, but the model is ltx-2:.*--model ltx-2.3"):
        _load(_save(tmp_path, state), folders, model="ltx-2")


def test_gates_without_prompt_adaln_still_read_as_23_not_ltx2(state):
    """2.5's KV-cacheable variant drops the prompt AdaLN but keeps the gates: it must never pass as LTX-2."""
    keys = [k for k in state if "prompt_adaln_single." not in k]
    assert sf.detect_version(keys) == "2.3"
    assert sf.detect_version([k for k in keys if ".to_gate_logits." not in k]) == "2"


# -- parts inside the file or beside it ------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_file_without_the_audio_parts_takes_them_from_the_folder(tmp_path, parts, state, folders):
    tensors = {k: v for k, v in state.items() if not k.startswith(("audio_vae.", "vocoder."))}
    c = _load(_save(tmp_path, tensors), folders, te="full")
    assert all(_same(getattr(c, n), parts[n]) for n in MODEL_PARTS)
    with pytest.raises(LoraportError, match="has no audio_vae weights"):  # a configs-only folder cannot
        _load(tmp_path / "ltx-2.3-22b-dev.safetensors", folders, te="full/text_encoder")


def test_the_text_projection_outside_the_transformer_prefix_still_goes_to_the_connectors(tmp_path, parts, state,
                                                                                         folders):
    moved = {k.removeprefix(sf.DIT_PREFIX) if ".text_embedding_projection." in "." + k.removeprefix(
        sf.DIT_PREFIX) else k: v for k, v in state.items()}
    assert any(k.startswith("text_embedding_projection.") for k in moved)
    assert _same(_load(_save(tmp_path, moved), folders).connectors, parts["connectors"])


def test_a_checkpoint_in_the_hugging_face_cache_loads_through_its_blob_link(tmp_path, parts, state, folders):
    download = tmp_path / "download"
    download.mkdir()
    _save(download, state)
    cache = layouts.hf_cache(download, tmp_path / "models--Lightricks--LTX-2.3")
    link = cache / "snapshots" / "0123abcd" / "ltx-2.3-22b-dev.safetensors"
    assert link.is_symlink()
    assert _same(_load(link, folders).transformer, parts["transformer"])


def test_a_pickle_named_safetensors_is_still_refused_as_a_pickle(tmp_path, folders):
    torch.save({"model": torch.zeros(1)}, tmp_path / "ltx-2.3-22b-dev.safetensors")
    with pytest.raises(LoraportError, match="pickle"):
        _load(tmp_path / "ltx-2.3-22b-dev.safetensors", folders)


def test_a_json_file_given_as_the_model_points_at_its_folder(folders):
    with pytest.raises(LoraportError, match="model_index.json is a json file, not weights.*its folder"):
        _load(folders / "full" / "model_index.json", folders)


def test_a_quoted_path_says_to_remove_the_quotes(tmp_path, folders):
    _save(tmp_path, {"x": torch.zeros(1)})
    with pytest.raises(LoraportError, match="does not exist.*remove the quotes"):
        _load(Path(f"'{tmp_path / 'ltx-2.3-22b-dev.safetensors'}'"), folders)


@pytest.mark.slow
def test_a_bare_named_fp8_file_trains(tmp_path, state, folders):  # 2 tiny steps, ~3 s
    from tests.trainer.train_utils import concept_dataset, tiny_config
    from trainer.train import run_training

    tensors = layouts.with_transformer_prefix(layouts.fp8_scaled(state)[0], "")  # scales move with their weights
    assert "transformer_blocks.0.attn1.to_q.weight_scale" in tensors
    path = _save(tmp_path, tensors, "ltx-2.3-22b-dev-fp8.safetensors")
    model = {"id": "ltx-2.3", "path": str(path), "text_encoder_path": str(folders / "configs")}
    cfg = tiny_config(concept_dataset(tmp_path / "ds", n=2), steps=2, model=model)
    assert run_training(cfg, tmp_path / "run").steps == 2


def test_a_full_save_with_a_text_encoder_inside_says_what_the_extra_tensors_are(tmp_path, state, folders):
    extra = {"text_encoders.gemma3_12b.transformer.model.layers.0.self_attn.q_proj.weight": torch.zeros(2, 2)}
    with pytest.raises(LoraportError, match="1 tensor\\(s\\) no LTX-2.3 part uses.*text encoder.*without them"):
        _load(_save(tmp_path, {**state, **extra}), folders)


def test_a_tensor_of_the_wrong_shape_is_named_not_a_traceback(tmp_path, state, folders):
    key = sf.DIT_PREFIX + "transformer_blocks.0.attn1.to_v.weight"
    tensors = {**state, key: torch.zeros(3, 5)}
    with pytest.raises(LoraportError, match="transformer_blocks.0.attn1.to_v.weight"):
        _load(_save(tmp_path, tensors), folders)


def test_a_safetensors_header_length_that_looks_like_a_pickle_opcode_is_still_safetensors(tmp_path, state, folders):
    """The first 8 bytes are the header's length: 640 = 0x0280 starts with the bytes of pickle protocol 2."""
    path = tmp_path / "ltx-2.3-22b-dev.safetensors"
    for pad in range(1000):
        save_file({"model.diffusion_model.x": torch.zeros(1)}, str(path), metadata={"pad": "p" * pad})
        if path.read_bytes()[:2] == b"\x80\x02":
            break
    assert path.read_bytes()[:2] == b"\x80\x02"
    with pytest.raises(LoraportError) as err:  # read as safetensors: then refused for holding no LTX transformer
        _load(path, folders)
    assert "pickle" not in str(err.value) and "holds no LTX-2.x transformer" in str(err.value)


def test_a_one_byte_file_is_refused_as_damaged(tmp_path, folders):
    (tmp_path / "m.safetensors").write_bytes(b"\x80")
    with pytest.raises(LoraportError, match="damaged or incomplete"):
        _load(tmp_path / "m.safetensors", folders)
