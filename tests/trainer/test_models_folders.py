"""Folders given as the base model: diffusers-format copies load (sharded, symlinked, straight from the Hugging Face
cache); an incomplete, damaged or wrong folder is refused with what is wrong and what to do."""

import json
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from core.errors import LoraportError
from tests.trainer import ltx_layouts as layouts
from trainer.config import ModelConfig
from trainer.models import load_components

MODEL_PARTS = ("transformer", "vae", "audio_vae", "vocoder", "connectors")


@pytest.fixture(scope="module")
def parts():
    return layouts.tiny_parts()


@pytest.fixture(scope="module")
def sharded(tmp_path_factory, parts) -> Path:
    """A diffusers-format folder whose transformer is in shards with an index, as the public repos ship it."""
    root = tmp_path_factory.mktemp("sharded") / "LTX-2.3"
    layouts.write_diffusers_folder(root, parts, skip=("transformer",))
    parts["transformer"].save_pretrained(root / "transformer", max_shard_size="20KB")
    assert len(list((root / "transformer").glob("diffusion_pytorch_model-*-of-*.safetensors"))) > 2
    return root


def _copy(folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(folder, tmp_path / folder.name, symlinks=True))


def _load(path: Path, te: Path | None = None, model: str = "ltx-2.3"):
    return load_components(ModelConfig(id=model, path=path, text_encoder_path=te))


def _same(module: torch.nn.Module, other: torch.nn.Module) -> bool:
    a, b = module.state_dict(), other.state_dict()
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _shard(folder: Path, n: int = 2) -> Path:
    return sorted((folder / "transformer").glob(f"*-{n:05d}-of-*.safetensors"))[0]


# -- layouts that load -------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_sharded_transformer_loads_every_weight(sharded, parts):
    c = _load(sharded)
    assert all(_same(getattr(c, n), parts[n]) for n in MODEL_PARTS)


@pytest.mark.slow
def test_the_hugging_face_cache_folder_loads_through_its_snapshot_links(tmp_path, sharded, parts):
    cache = layouts.hf_cache(sharded, tmp_path / "hub" / "models--Lightricks--LTX-2.3")
    snapshot = cache / "snapshots" / "0123abcd"
    assert (snapshot / "transformer" / "config.json").is_symlink()
    for path in (cache, cache / "snapshots", snapshot):  # the cache entry, its snapshots/, or the snapshot
        c = _load(path)
        assert _same(c.transformer, parts["transformer"]) and _same(c.vocoder, parts["vocoder"])


def test_a_symlinked_folder_loads(tmp_path, sharded, parts):
    (tmp_path / "models").mkdir()
    link = tmp_path / "models" / "ltx-2.3"
    link.symlink_to(sharded, target_is_directory=True)
    assert _same(_load(link).transformer, parts["transformer"])


def test_a_cache_folder_with_several_snapshots_and_no_ref_lists_them(tmp_path, sharded):
    cache = layouts.hf_cache(sharded, tmp_path / "models--Lightricks--LTX-2.3", revision="aaaa")
    layouts.hf_cache(sharded, cache, revision="bbbb")
    (cache / "refs" / "main").unlink()
    with pytest.raises(LoraportError, match="2 snapshots.*aaaa.*bbbb"):
        _load(cache)


# -- incomplete or damaged copies ----------------------------------------------------------------------------------

def test_a_missing_shard_is_named(tmp_path, sharded):
    folder = _copy(sharded, tmp_path)
    gone = _shard(folder)
    gone.unlink()
    with pytest.raises(LoraportError, match=f"missing 1 shard.*{gone.name}.*download those files again"):
        _load(folder)


def test_an_index_naming_a_file_that_is_not_there_is_refused(tmp_path, sharded):
    folder = _copy(sharded, tmp_path)
    index = next((folder / "transformer").glob("*.index.json"))
    data = json.loads(index.read_text())
    data["weight_map"]["extra.weight"] = "diffusion_pytorch_model-00099-of-00099.safetensors"
    index.write_text(json.dumps(data))
    with pytest.raises(LoraportError, match="00099-of-00099"):
        _load(folder)


def test_an_index_without_a_weight_map_is_refused(tmp_path, sharded):
    folder = _copy(sharded, tmp_path)
    next((folder / "transformer").glob("*.index.json")).write_text('{"metadata": {}}')
    with pytest.raises(LoraportError, match="not a valid shard index"):
        _load(folder)


def test_shards_without_their_index_are_refused(tmp_path, sharded):
    folder = _copy(sharded, tmp_path)
    next((folder / "transformer").glob("*.index.json")).unlink()
    with pytest.raises(LoraportError, match="without their .safetensors.index.json"):
        _load(folder)


@pytest.mark.parametrize("where", ["shard", "vae"])
def test_a_truncated_weight_file_says_download_it_again(tmp_path, sharded, where):
    folder = _copy(sharded, tmp_path)
    file = _shard(folder) if where == "shard" else folder / "vae" / "diffusion_pytorch_model.safetensors"
    file.write_bytes(file.read_bytes()[:-100])
    with pytest.raises(LoraportError, match=f"{file.name} cannot be read.*Download it again"):
        _load(folder)


def test_a_dangling_blob_link_counts_as_missing(tmp_path, sharded):
    folder = _copy(sharded, tmp_path)
    weights = folder / "vae" / "diffusion_pytorch_model.safetensors"
    weights.unlink()
    weights.symlink_to(tmp_path / "blobs" / "not-downloaded")
    with pytest.raises(LoraportError, match="link to a file that is not there"):
        _load(folder)


class _Trap:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "unpickled"))


def test_a_part_with_only_pickle_weights_is_refused_unopened(tmp_path, sharded):
    folder = _copy(sharded, tmp_path)
    (folder / "vae" / "diffusion_pytorch_model.safetensors").unlink()
    (folder / "vae" / "diffusion_pytorch_model.bin").write_bytes(pickle.dumps(_Trap(tmp_path / "ran")))
    with pytest.raises(LoraportError, match="only PyTorch pickle weights.*never opens"):
        _load(folder)
    assert not (tmp_path / "ran").exists()


@pytest.mark.parametrize("part", ["vocoder", "connectors", "text_encoder", "tokenizer", "scheduler"])
def test_a_folder_missing_a_part_names_it(tmp_path, sharded, part):
    folder = _copy(sharded, tmp_path)
    shutil.rmtree(folder / part)
    with pytest.raises(LoraportError, match=f"no {part}/"):
        _load(folder)


def test_a_part_without_weights_says_incomplete(tmp_path, sharded):
    folder = _copy(sharded, tmp_path)
    (folder / "audio_vae" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(LoraportError, match="audio_vae has no weights.*incomplete"):
        _load(folder)


def test_a_damaged_model_index_is_refused(tmp_path, sharded):
    folder = _copy(sharded, tmp_path)
    (folder / "model_index.json").write_text('{"_class_name": "LTX2Pipeline", ')
    with pytest.raises(LoraportError, match="model_index.json is not valid JSON.*damaged"):
        _load(folder)


# -- the wrong folder ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("pipeline, transformer, said", [
    ("WanPipeline", "WanTransformer3DModel", "WanPipeline folder \\(not an LTX-2.x model\\)"),
    ("FluxPipeline", "FluxTransformer2DModel", "FluxPipeline folder"),
    ("LTXPipeline", "LTXVideoTransformer3DModel", "LTX-Video 0.9, an older model"),
])
def test_another_pipelines_folder_is_named(tmp_path, sharded, pipeline, transformer, said):
    folder = _copy(sharded, tmp_path)
    index = json.loads((folder / "model_index.json").read_text())
    index.update(_class_name=pipeline, transformer=["diffusers", transformer])
    (folder / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(LoraportError, match=said):
        _load(folder)


def test_the_text_encoder_folder_given_as_the_model_says_where_it_goes(sharded):
    with pytest.raises(LoraportError, match="text encoder folder \\(Gemma3ForConditionalGeneration\\).*"
                                            "LORAPORT_TEXT_ENCODER_PATH"):
        _load(sharded / "text_encoder")


def test_a_part_folder_given_as_the_model_points_at_its_parent(sharded):
    with pytest.raises(LoraportError, match=f"one part \\(LTX2VideoTransformer3DModel\\).*{sharded}"):
        _load(sharded / "transformer")


def test_a_download_folder_of_single_files_asks_for_the_file(tmp_path):
    for name in ("ltx-2.3-22b-dev.safetensors", "ltx-2.3-spatial-upscaler-x2-1.1.safetensors"):
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(LoraportError, match="ltx-2.3-22b-dev.safetensors.*checkpoint file itself"):
        _load(tmp_path)


def test_an_empty_folder_says_it_is_empty(tmp_path):
    with pytest.raises(LoraportError, match="is empty"):
        _load(tmp_path)


def test_an_ltx23_folder_given_as_ltx2_names_the_version(sharded):
    with pytest.raises(LoraportError, match="LTX-2.3, but the model id is ltx-2"):
        _load(sharded, model="ltx-2")


# -- the text encoder path -------------------------------------------------------------------------------------------

def test_a_text_encoder_path_that_is_a_file_is_refused(sharded):
    with pytest.raises(LoraportError, match="text encoder path .* is a file: it must be a folder"):
        _load(sharded, te=sharded / "model_index.json")


def test_a_text_encoder_folder_that_is_not_gemma_is_refused(sharded):
    with pytest.raises(LoraportError, match="not a Gemma text encoder folder"):
        _load(sharded, te=sharded / "vae")


def test_a_bare_gemma_folder_with_pickle_weights_is_refused_unopened(tmp_path, sharded):
    gemma = Path(shutil.copytree(sharded / "text_encoder", tmp_path / "gemma"))
    for f in gemma.glob("*.safetensors"):
        f.unlink()
    (gemma / "pytorch_model.bin").write_bytes(pickle.dumps(_Trap(tmp_path / "ran")))
    with pytest.raises(LoraportError, match="pickle"):
        _load(sharded, te=gemma)
    assert not (tmp_path / "ran").exists()


def test_a_bare_sharded_gemma_folder_from_the_hf_cache_serves_as_the_text_encoder(tmp_path, sharded, parts):
    """Lightricks' instructions download Gemma on its own (config.json, sharded model-0000x-of-0000y, tokenizer);
    users often point at the Hugging Face cache entry of it."""
    gemma = tmp_path / "gemma-3-12b-it-qat-q4_0-unquantized"
    parts["text_encoder"].save_pretrained(gemma, max_shard_size="10KB")
    parts["tokenizer"].save_pretrained(gemma)
    assert len(list(gemma.glob("model-*-of-*.safetensors"))) > 1
    cache = layouts.hf_cache(gemma, tmp_path / "models--google--gemma-3-12b-it-qat-q4_0-unquantized")
    c = _load(sharded, te=cache)
    assert _same(c.text_encoder, parts["text_encoder"])
    assert c.tokenizer("a red ball").input_ids == parts["tokenizer"]("a red ball").input_ids
    next(gemma.glob("model-00002-of-*.safetensors")).unlink()
    with pytest.raises(LoraportError, match="missing 1 shard.*model-00002-of"):
        _load(sharded, te=gemma)


def test_a_bare_gemma_folder_without_its_tokenizer_says_so(tmp_path, sharded, parts):
    gemma = tmp_path / "gemma"
    parts["text_encoder"].save_pretrained(gemma)
    # transformers would hand back an empty Gemma tokenizer here, and every caption would become unknown tokens
    with pytest.raises(LoraportError, match="has no tokenizer \\(tokenizer.json or tokenizer.model\\)"):
        _load(sharded, te=gemma)


def test_a_tokenizer_folder_without_tokenizer_files_is_refused(tmp_path, sharded):
    folder = _copy(sharded, tmp_path)
    (folder / "tokenizer" / "tokenizer.json").unlink()
    with pytest.raises(LoraportError, match="tokenizer has no tokenizer"):
        _load(folder)


def test_parts_saved_as_a_precision_variant_load(tmp_path, parts):
    """diffusers' and transformers' ``variant`` names (``diffusion_pytorch_model.bf16.safetensors``,
    ``model.bf16-00001-of-0000n.safetensors``) load without the user naming the variant."""
    folder = tmp_path / "LTX-2.3"
    layouts.write_diffusers_folder(folder, parts, skip=("vae", "text_encoder"))
    parts["vae"].save_pretrained(folder / "vae", variant="bf16")
    parts["text_encoder"].save_pretrained(folder / "text_encoder", variant="bf16", max_shard_size="10KB")
    assert (folder / "vae" / "diffusion_pytorch_model.bf16.safetensors").is_file()
    c = _load(folder)
    assert _same(c.vae, parts["vae"]) and _same(c.text_encoder, parts["text_encoder"])
    parts["vae"].save_pretrained(folder / "vae", variant="fp16")
    with pytest.raises(LoraportError, match="several variants \\(bf16, fp16\\)"):
        _load(folder)


def test_lightricks_per_component_download_folder_says_which_file_to_point_at(tmp_path):
    """LTX-2.5 ships one file per component in diffusion_models/, text_encoders/, vae/ ...; the folder itself
    is no model, and its packed Gemma file is not a text encoder folder."""
    for name in ("diffusion_models/ltx-2.5-22b-distilled-transformer-bf16.safetensors",
                 "diffusion_models/ltx-2.5-22b-dev-transformer-bf16.safetensors",
                 "text_encoders/gemma4-12b-with-proj-ltx-2.5-bf16.safetensors",
                 "vae/ltx-2.5-video-vae-bf16.safetensors"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(LoraportError, match="per-component download.*diffusion_models/ltx-2.5-22b-dev-transformer"):
        _load(tmp_path, model="ltx-2.5")
    packed = tmp_path / "text_encoders" / "gemma4-12b-with-proj-ltx-2.5-bf16.safetensors"
    save_file({"x": torch.zeros(1)}, str(tmp_path / "diffusion_models" /
                                         "ltx-2.5-22b-dev-transformer-bf16.safetensors"))
    with pytest.raises(LoraportError, match="is a file: it must be a folder.*packed single-file text encoder"):
        _load(tmp_path / "diffusion_models" / "ltx-2.5-22b-dev-transformer-bf16.safetensors", te=packed,
              model="ltx-2.5")


def test_the_text_encoder_size_is_read_through_the_cache_snapshot(tmp_path, sharded):
    """quantize's ``text_encoder = auto`` picks bf16 / int8 / nf4 / cpu by these bytes: a cache entry counted as
    0 bytes would always pick bf16."""
    from trainer.models.ltx2 import text_encoder_bytes

    plain = text_encoder_bytes(ModelConfig(id="ltx-2.3", path=sharded))
    cache = layouts.hf_cache(sharded, tmp_path / "models--Lightricks--LTX-2.3")
    assert plain > 0 and text_encoder_bytes(ModelConfig(id="ltx-2.3", path=cache)) == plain


@pytest.mark.parametrize("part, quant, said", [
    ("transformer", {"quant_method": "bitsandbytes", "load_in_4bit": True}, "bitsandbytes.*quantize_base"),
    ("transformer", {"quant_method": "torchao", "quant_type": {"default": "Int8WeightOnlyConfig"}},
     "torchao.*quantize_base"),
    ("text_encoder", {"load_in_4bit": True, "bnb_4bit_quant_type": "nf4"}, "bitsandbytes.*text_encoder = int8"),
    ("text_encoder", {"quant_method": "gptq", "bits": 4}, "gptq"),
])
def test_a_part_saved_already_quantised_is_refused(tmp_path, sharded, part, quant, said):
    """e.g. a community '-nf4' repack, or unsloth's 4-bit Gemma: loraport quantises the bf16 weights itself."""
    folder = _copy(sharded, tmp_path)
    config = json.loads((folder / part / "config.json").read_text())
    (folder / part / "config.json").write_text(json.dumps({**config, "quantization_config": quant}))
    with pytest.raises(LoraportError, match=f"already quantised with {said}"):
        _load(folder)


@pytest.mark.parametrize("layout", ["diffusers-lora", "peft-adapter"])
def test_a_lora_folder_given_as_the_model_is_named_a_lora(tmp_path, layout):
    lora = {"transformer.transformer_blocks.0.attn1.to_q.lora_A.weight": torch.zeros(4, 16)}
    if layout == "diffusers-lora":
        save_file(lora, str(tmp_path / "pytorch_lora_weights.safetensors"))
    else:
        (tmp_path / "adapter_config.json").write_text('{"peft_type": "LORA", "r": 32}')
        save_file({"base_model.model.x.lora_A.weight": torch.zeros(4, 16)}, str(tmp_path / "adapter_model.safetensors"))
    with pytest.raises(LoraportError, match="holds a LoRA.*not a base model"):
        _load(tmp_path)


@pytest.mark.parametrize("part", ["transformer", "vae"])
def test_a_part_without_its_config_says_so(tmp_path, sharded, part):
    folder = _copy(sharded, tmp_path)
    (folder / part / "config.json").unlink()
    with pytest.raises(LoraportError, match=f"{part}/config.json is missing: the diffusers-format copy is incomplete"):
        _load(folder)


@pytest.mark.parametrize("field, value", [("hidden_size", 32), ("num_hidden_layers", 5)])
def test_a_gemma_of_another_size_is_refused_before_loading(tmp_path, sharded, field, value):
    """e.g. gemma-3-4b-it downloaded instead of the 12B: its hidden states do not fit the text connectors."""
    gemma = Path(shutil.copytree(sharded / "text_encoder", tmp_path / "gemma-3-4b-it"))
    shutil.copytree(sharded / "tokenizer", gemma, dirs_exist_ok=True)
    config = json.loads((gemma / "config.json").read_text())
    config["text_config"][field] = value
    if field == "num_hidden_layers":
        config["text_config"]["layer_types"] = ["sliding_attention"] * value
    (gemma / "config.json").write_text(json.dumps(config))
    with pytest.raises(LoraportError, match="another Gemma than the one the model was trained with"):
        _load(sharded, te=gemma)
