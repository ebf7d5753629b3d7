"""LTX-2.5 in the registry: the tiny twin's 2.5 flags, and real-layout loading with 2.5's own checks."""

import pytest
import torch

from core.errors import LoraportError
from tests.trainer.ltx_layouts import save_model_folder
from trainer.config import ModelConfig
from trainer.models import get_model_spec, list_model_ids, load_components


def test_registry_has_ltx25_and_its_tiny_twin_beside_the_default():
    assert {"ltx-2.5", "tiny-ltx-2.5", "tiny-ltx-2.3"} <= set(list_model_ids())
    assert get_model_spec("ltx-2.5").version == get_model_spec("tiny-ltx-2.5").version == "2.5"
    assert get_model_spec("tiny-ltx-2.5").tiny and not get_model_spec("ltx-2.5").tiny
    assert ModelConfig().id == "tiny-ltx-2.3"  # 2.3 stays the default until the user picks 2.5


def test_tiny_ltx25_has_the_25_flags_and_a_gemma4_text_encoder():
    c = load_components(ModelConfig(id="tiny-ltx-2.5"))
    cfg = c.transformer.config
    assert cfg.ff_bias is False and cfg.audio_ff_bias is True and cfg.use_keyframes_abs_pos_embedding
    block = c.transformer.transformer_blocks[0]
    assert block.ff.net[2].bias is None and block.audio_ff.net[2].bias is not None
    assert cfg.gated_attn and cfg.cross_attn_mod  # everything else is 2.3's transformer
    assert type(c.text_encoder).__name__ == "Gemma4UnifiedForConditionalGeneration"
    assert c.connectors.config.text_proj_in_factor == c.text_encoder.config.text_config.num_hidden_layers + 1


def test_tiny_ltx25_vae_is_tiny_ltx23s_and_its_text_path_is_not():
    a, b = load_components(ModelConfig(id="tiny-ltx-2.5")), load_components(ModelConfig())
    va, vb = a.vae.state_dict(), b.vae.state_dict()
    assert va.keys() == vb.keys() and all(torch.equal(va[k], vb[k]) for k in va)
    from trainer.data import encode_prompts

    ea, eb = encode_prompts(a, ["a red ball"]), encode_prompts(b, ["a red ball"])
    assert ea.video.shape == eb.video.shape and not torch.allclose(ea.video, eb.video)


def test_ltx25_diffusers_folder_loads_every_part_without_network(tmp_path):
    tiny = save_model_folder("tiny-ltx-2.5", tmp_path / "ltx25")
    c = load_components(ModelConfig(id="ltx-2.5", path=tmp_path / "ltx25"))
    assert c.spec.id == "ltx-2.5" and type(c.text_encoder).__name__ == "Gemma4UnifiedForConditionalGeneration"
    assert torch.equal(c.transformer.proj_in.weight, tiny.transformer.proj_in.weight)
    assert c.tokenizer("a red ball").input_ids == tiny.tokenizer("a red ball").input_ids


@pytest.mark.slow
def test_ltx23_weights_under_the_ltx25_id_are_refused_by_the_ff_bias(tmp_path):
    save_model_folder("tiny-ltx-2.3", tmp_path / "ltx23")
    # a 2.3 folder fails on its Gemma 3 text encoder first; give it 2.5's to reach the transformer check
    tiny25 = save_model_folder("tiny-ltx-2.5", tmp_path / "ltx25")
    tiny25.tokenizer.save_pretrained(tmp_path / "ltx25" / "text_encoder")  # a bare Gemma folder holds both
    with pytest.raises(LoraportError, match="Gemma 4"):
        load_components(ModelConfig(id="ltx-2.5", path=tmp_path / "ltx23"))
    with pytest.raises(LoraportError, match="feed-forward bias.*LTX-2.3"):
        load_components(ModelConfig(id="ltx-2.5", path=tmp_path / "ltx23",
                                    text_encoder_path=tmp_path / "ltx25" / "text_encoder"))
