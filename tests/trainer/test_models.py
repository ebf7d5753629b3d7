"""Model registry: the tiny stack's shape and independence, real-model loading rules."""

import json

import pytest
import torch

from core.errors import LoraportError
from trainer.config import ModelConfig
from trainer.models import get_model_spec, list_model_ids, load_components


def test_registry_lists_tiny_and_real_models_with_their_rules():
    assert {"tiny-ltx-2.3", "ltx-2.3", "ltx-2"} <= set(list_model_ids())
    real = get_model_spec("ltx-2.3")
    assert (real.latent_channels, real.vae_spatial_ratio, real.vae_temporal_ratio) == (128, 32, 8)
    assert real.transformer_forward_kwargs == {"use_cross_timestep": True}
    assert get_model_spec("ltx-2").transformer_forward_kwargs == {"use_cross_timestep": False}
    assert real.frames_ok(49) and real.frames_ok(1) and not real.frames_ok(48)
    assert real.latent_shape(768, 512, 49) == (128, 7, 16, 24)


def test_unknown_model_id_names_the_choices():
    with pytest.raises(LoraportError, match="tiny-ltx-2.3"):
        get_model_spec("ltx-9")


def test_tiny_stack_is_ltx23_shaped_and_encodes_a_clip_to_the_spec_latent_shape():
    c = load_components(ModelConfig())
    cfg = c.transformer.config
    assert cfg.gated_attn and cfg.cross_attn_mod and cfg.audio_gated_attn and cfg.audio_cross_attn_mod
    assert not cfg.use_prompt_embeddings and c.connectors.config.per_modality_projections
    assert c.connectors.config.text_proj_in_factor == c.text_encoder.config.text_config.num_hidden_layers + 1
    assert c.tokenizer.padding_side == "left" and c.tokenizer.pad_token == "<pad>"
    with torch.no_grad():
        latents = c.vae.encode(torch.zeros(1, 3, 17, 64, 64)).latent_dist.mode()
    assert tuple(latents.shape[1:]) == c.spec.latent_shape(64, 64, 17) == (8, 3, 8, 8)


def test_tiny_stack_is_identical_across_loads_and_copies_are_independent():
    a, b = load_components(ModelConfig()), load_components(ModelConfig())
    pa, pb = a.transformer.proj_in.weight, b.transformer.proj_in.weight
    assert pa is not pb and torch.equal(pa, pb)
    with torch.no_grad():
        pa.add_(1.0)  # a caller mutating its copy (peft, LoRA fuse) must not leak into the next load
    assert torch.equal(load_components(ModelConfig()).transformer.proj_in.weight, pb)


def test_real_model_without_path_says_how_to_get_weights():
    # the setting the user can really set (there is no --model-path flag), per version
    with pytest.raises(LoraportError, match="LORAPORT_MODEL_PATH"):
        load_components(ModelConfig(id="ltx-2.3"))
    with pytest.raises(LoraportError, match="LORAPORT_LTX25_MODEL_PATH"):
        load_components(ModelConfig(id="ltx-2.5"))


def test_real_model_with_missing_path_is_refused(tmp_path):
    with pytest.raises(LoraportError, match="does not exist"):
        load_components(ModelConfig(id="ltx-2.3", path=tmp_path / "nope"))


def test_single_file_checkpoint_needs_a_diffusers_folder_beside_it(tmp_path):
    ckpt = tmp_path / "ltx-2.3-22b-dev.safetensors"
    ckpt.write_bytes(b"x")
    with pytest.raises(LoraportError, match="LORAPORT_TEXT_ENCODER_PATH"):
        load_components(ModelConfig(id="ltx-2.3", path=ckpt))


def _save_tiny_as_diffusers_folder(folder):
    c = load_components(ModelConfig())
    for name in ("transformer", "vae", "audio_vae", "vocoder", "connectors", "text_encoder", "tokenizer",
                 "scheduler"):
        getattr(c, name).save_pretrained(folder / name)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "LTX2Pipeline"}))
    return c


def test_diffusers_folder_loads_through_from_pretrained_without_network(tmp_path):
    tiny = _save_tiny_as_diffusers_folder(tmp_path / "ltx23")
    c = load_components(ModelConfig(id="ltx-2.3", path=tmp_path / "ltx23"))
    assert c.spec.id == "ltx-2.3"
    assert torch.equal(c.transformer.proj_in.weight, tiny.transformer.proj_in.weight)
    assert c.tokenizer("a red ball").input_ids == tiny.tokenizer("a red ball").input_ids


@pytest.mark.slow
def test_ltx23_weights_under_the_ltx2_id_are_refused(tmp_path):
    _save_tiny_as_diffusers_folder(tmp_path / "m")
    with pytest.raises(LoraportError, match="LTX-2.3"):
        load_components(ModelConfig(id="ltx-2", path=tmp_path / "m"))


def test_nf4_base_weights_are_refused_where_they_cannot_work():
    with pytest.raises(LoraportError, match="NF4.*need a CUDA GPU.*int8"):
        load_components(ModelConfig(quantize_base="nf4"), device="cpu")


def test_tiny_is_what_the_spec_says_for_every_id_and_unknown_ids_are_not_tiny():
    from trainer.models import is_tiny

    assert {m for m in list_model_ids() if is_tiny(m)} == {"tiny-ltx-2.3", "tiny-ltx-2.5"}
    assert all(is_tiny(m) == get_model_spec(m).tiny for m in list_model_ids())
    assert not is_tiny("tiny-wan") and not is_tiny("") and not is_tiny(None)  # no spec, no tiny model
