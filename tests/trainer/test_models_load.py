"""Real LTX-2.3 layouts load completely (every weight from disk, nothing on meta) or fail with the reason."""

import pytest
import torch
from safetensors.torch import load_file

from core.errors import LoraportError
from tests.trainer import ltx_layouts as layouts
from tests.trainer.train_utils import concept_dataset, tiny_config
from trainer.config import ModelConfig
from trainer.models import load_components
from trainer.models import ltx2_single_file as sf
from trainer.train import run_training

MODEL_PARTS = ("transformer", "vae", "audio_vae", "vocoder", "connectors")
_CONFIGS_ONLY = dict(configs_only=MODEL_PARTS)


@pytest.fixture(scope="module")
def parts():
    return layouts.tiny_parts()


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _no_meta(c) -> bool:
    return not any(t.is_meta for n in (*MODEL_PARTS, "text_encoder") for t in
                   [*getattr(c, n).parameters(), *getattr(c, n).buffers()])


def _single(tmp_path, parts, **kw):
    layouts.write_diffusers_folder(tmp_path / "configs", parts, **_CONFIGS_ONLY)
    layouts.write_single_file(tmp_path / "ltx-2.3-22b-dev.safetensors", parts, **kw)
    return ModelConfig(id="ltx-2.3", path=tmp_path / "ltx-2.3-22b-dev.safetensors",
                       text_encoder_path=tmp_path / "configs")


def test_the_2_3_prompt_adaln_keys_get_diffusers_names():
    assert sf.rename("transformer", "prompt_adaln_single.linear.weight", "2.3") == "prompt_adaln.linear.weight"
    assert sf.rename("transformer", "audio_prompt_adaln_single.emb.timestep_embedder.linear_1.bias", "2.3") == \
        "audio_prompt_adaln.emb.timestep_embedder.linear_1.bias"
    assert sf.rename("transformer", "adaln_single.linear.weight", "2.3") == "time_embed.linear.weight"


@pytest.mark.slow
def test_single_file_gives_every_part_from_the_file_and_trains(tmp_path, parts):
    cfg_model = _single(tmp_path, parts)
    c = load_components(cfg_model)
    assert _no_meta(c) and type(c.vocoder).__name__ == "LTX2VocoderWithBWE"
    for name in MODEL_PARTS:  # the configs folder holds no weights: each of these came from the file
        assert _same_weights(getattr(c, name), parts[name]), name
    used = sum(len(getattr(c, name).state_dict()) for name in MODEL_PARTS)
    assert used + 1 == len(load_file(tmp_path / "ltx-2.3-22b-dev.safetensors"))  # + the dropped statistic
    cfg = tiny_config(concept_dataset(tmp_path / "ds", n=2), steps=2, model=cfg_model.model_dump())
    assert run_training(cfg, tmp_path / "run").steps == 2


@pytest.mark.slow
def test_diffusers_folder_uses_the_classes_model_index_names_and_trains(tmp_path, parts):
    layouts.write_diffusers_folder(tmp_path / "ltx23", parts)
    c = load_components(ModelConfig(id="ltx-2.3", path=tmp_path / "ltx23"))
    assert type(c.vocoder).__name__ == "LTX2VocoderWithBWE" and _no_meta(c)
    assert all(_same_weights(getattr(c, n), parts[n]) for n in MODEL_PARTS)
    cfg = tiny_config(concept_dataset(tmp_path / "ds", n=2), steps=2,
                      model={"id": "ltx-2.3", "path": str(tmp_path / "ltx23")})
    assert run_training(cfg, tmp_path / "run").steps == 2


def test_an_ltx_2_file_given_as_2_3_names_the_version(tmp_path, parts):
    keys = layouts.lightricks_state_dict(parts)
    drop = tuple(k for k in keys if ".to_gate_logits." in k or "prompt_adaln_single." in k)
    with pytest.raises(LoraportError, match="LTX-2 checkpoint.*ltx-2.3"):
        load_components(_single(tmp_path, parts, drop=drop))


def test_a_truncated_file_is_refused_as_damaged(tmp_path, parts):
    cfg = _single(tmp_path, parts)
    data = cfg.path.read_bytes()
    cfg.path.write_bytes(data[: len(data) - 64])
    with pytest.raises(LoraportError, match="damaged or incomplete"):
        load_components(cfg)


@pytest.mark.slow
def test_a_missing_weight_is_an_error_naming_it(tmp_path, parts):
    key = "model.diffusion_model.transformer_blocks.1.attn1.to_q.weight"
    with pytest.raises(LoraportError, match=r"1 missing \(transformer_blocks.1.attn1.to_q.weight\)"):
        load_components(_single(tmp_path, parts, drop=(key,)))


@pytest.mark.slow
def test_a_tensor_no_part_uses_is_an_error_naming_it(tmp_path, parts):
    with pytest.raises(LoraportError, match="model_ema.decay"):
        load_components(_single(tmp_path, parts, extra={"model_ema.decay": torch.ones(1)}))


@pytest.mark.slow
def test_a_folder_missing_a_part_says_which(tmp_path, parts):
    layouts.write_diffusers_folder(tmp_path / "ltx23", parts, skip=("vocoder",))
    with pytest.raises(LoraportError, match="no vocoder/ folder"):
        load_components(ModelConfig(id="ltx-2.3", path=tmp_path / "ltx23"))


@pytest.mark.slow
def test_the_2_3_vocoder_loaded_with_the_ltx_2_class_is_refused_not_left_random(tmp_path, parts):
    import json

    layouts.write_diffusers_folder(tmp_path / "ltx23", parts)
    index = json.loads((tmp_path / "ltx23" / "model_index.json").read_text())
    index["vocoder"] = ["diffusers", "LTX2Vocoder"]
    (tmp_path / "ltx23" / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(LoraportError, match="vocoder.*(missing|unexpected)"):
        load_components(ModelConfig(id="ltx-2.3", path=tmp_path / "ltx23"))


@pytest.mark.parametrize("layout", ["folder", "single"])
def test_int8_base_weights_load_through_torchao_from_either_layout(tmp_path, parts, layout):
    if layout == "folder":
        layouts.write_diffusers_folder(tmp_path / "ltx23", parts)
        cfg = ModelConfig(id="ltx-2.3", path=tmp_path / "ltx23", quantize_base="int8")
    else:
        cfg = _single(tmp_path, parts).model_copy(update={"quantize_base": "int8"})
    c = load_components(cfg)
    assert type(c.transformer.transformer_blocks[0].attn1.to_q.weight).__module__.startswith("torchao")
    assert _no_meta(c)


@pytest.mark.slow
def test_a_transformer_only_file_takes_the_other_parts_from_the_folder(tmp_path, parts):
    state = layouts.lightricks_state_dict(parts)
    only = tuple(k for k in state if not k.startswith(sf.DIT_PREFIX))
    layouts.write_diffusers_folder(tmp_path / "ltx23", parts)  # with weights this time
    layouts.write_single_file(tmp_path / "dit.safetensors", parts, drop=only)
    c = load_components(ModelConfig(id="ltx-2.3", path=tmp_path / "dit.safetensors",
                                    text_encoder_path=tmp_path / "ltx23"))
    assert all(_same_weights(getattr(c, n), parts[n]) for n in MODEL_PARTS) and _no_meta(c)
    layouts.write_diffusers_folder(tmp_path / "configs", parts, **_CONFIGS_ONLY)
    with pytest.raises(LoraportError, match="no weights"):
        load_components(ModelConfig(id="ltx-2.3", path=tmp_path / "dit.safetensors",
                                    text_encoder_path=tmp_path / "configs"))
