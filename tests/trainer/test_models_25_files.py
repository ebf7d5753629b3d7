"""LTX-2.5 from Lightricks' split pack: a transformer-only .safetensors (ltx-core names, with or without the
``model.diffusion_model.`` prefix) beside a diffusers-format 2.5 folder; a 2.3 file under the 2.5 id is refused."""

import pytest
import torch
from safetensors.torch import save_file

from core.errors import LoraportError
from tests.trainer import ltx_layouts as layouts
from trainer.config import ModelConfig
from trainer.models import load_components
from trainer.models import ltx2_single_file as sf


def _transformer_file(transformer, path, prefix):
    """The transformer alone under ltx-core's names; each name is checked to map back through the loader."""
    out = {}
    for key, t in transformer.state_dict().items():
        old = layouts._transformer_name(key)
        assert sf.rename("transformer", old, "2.3") == key
        out[prefix + old] = t.detach().clone().contiguous()
    save_file(out, str(path))
    return out


@pytest.fixture(scope="module")
def ltx25(tmp_path_factory):
    root = tmp_path_factory.mktemp("ltx25")
    return root, layouts.save_model_folder("tiny-ltx-2.5", root / "LTX-2.5")


@pytest.mark.parametrize("prefix", [sf.DIT_PREFIX, ""], ids=["prefixed", "bare"])
def test_a_25_transformer_file_beside_the_25_folder_loads_with_its_keyframe_embedding(ltx25, prefix):
    root, tiny = ltx25
    path = root / f"ltx-2.5-22b-dev-transformer-bf16-{len(prefix)}.safetensors"
    tensors = _transformer_file(tiny.transformer, path, prefix)
    assert any("keyframes_abs_pos_embedding" in k for k in tensors)
    c = load_components(ModelConfig(id="ltx-2.5", path=path, text_encoder_path=root / "LTX-2.5"))
    want, got = tiny.transformer.state_dict(), c.transformer.state_dict()
    assert want.keys() == got.keys() and all(torch.equal(want[k], got[k]) for k in want)
    assert c.transformer.config.ff_bias is False and type(c.text_encoder).__name__.startswith("Gemma4")


def test_a_23_transformer_file_under_the_25_id_is_refused_by_its_ff_bias(ltx25):
    root, _ = ltx25
    tiny23 = load_components(ModelConfig())
    path = root / "ltx-2.3-22b-dev-transformer.safetensors"
    _transformer_file(tiny23.transformer, path, "")
    with pytest.raises(LoraportError, match="video feed-forward bias, so it is an LTX-2.3 checkpoint.*--model ltx-2.3"):
        load_components(ModelConfig(id="ltx-2.5", path=path, text_encoder_path=root / "LTX-2.5"))


def test_a_lora_under_the_25_id_is_named_a_lora(ltx25, tmp_path):
    root, _ = ltx25
    path = tmp_path / "my_25_lora.safetensors"
    save_file({"diffusion_model.transformer_blocks.0.attn1.to_q.lora_A.weight": torch.zeros(2, 8)}, str(path))
    with pytest.raises(LoraportError, match="is a LoRA, not a base model"):
        load_components(ModelConfig(id="ltx-2.5", path=path, text_encoder_path=root / "LTX-2.5"))


def test_ltx25s_gemma4_given_to_an_ltx23_model_is_refused(ltx25, tmp_path):
    """The reverse of 2.5's Gemma-4-only rule: 2.3 was trained with Gemma 3, and a Gemma 4 folder would load
    without an error and feed it embeddings it never saw."""
    root, _ = ltx25
    layouts.write_diffusers_folder(tmp_path / "LTX-2.3")
    for te in (root / "LTX-2.5", root / "LTX-2.5" / "text_encoder"):  # the 2.5 folder, or its text_encoder/
        with pytest.raises(LoraportError, match="Gemma4UnifiedForConditionalGeneration, but LTX-2.3 reads Gemma 3"):
            load_components(ModelConfig(id="ltx-2.3", path=tmp_path / "LTX-2.3", text_encoder_path=te))


def test_a_25_transformer_file_under_the_23_id_is_named_25(ltx25, tmp_path):
    root, tiny = ltx25
    path = tmp_path / "ltx-2.5-22b-dev-transformer-bf16.safetensors"
    _transformer_file(tiny.transformer, path, "")
    layouts.write_diffusers_folder(tmp_path / "LTX-2.3")
    with pytest.raises(LoraportError, match="no video feed-forward bias, so it is an LTX-2.5 checkpoint.*ltx-2.5"):
        load_components(ModelConfig(id="ltx-2.3", path=path, text_encoder_path=tmp_path / "LTX-2.3"))


def test_a_25_folder_under_the_23_id_is_named_25(ltx25):
    root, _ = ltx25
    with pytest.raises(LoraportError, match="ff_bias = false.*LTX-2.5 folder.*--model ltx-2.5"):
        load_components(ModelConfig(id="ltx-2.3", path=root / "LTX-2.5"))


@pytest.mark.parametrize("prefix", [sf.DIT_PREFIX, ""], ids=["prefixed", "bare"])
def test_a_25_file_with_its_duration_head_loads_the_transformer_and_leaves_the_head(ltx25, tmp_path, prefix):
    """LTX-2.5's combined files carry a duration head (clip length from the prompt) under duration_head.: not
    part of the denoising model; known by name, not an unexpected tensor."""
    from safetensors.torch import load_file

    root, tiny = ltx25
    path = tmp_path / "ltx-2.5-22b-dev.safetensors"
    tensors = _transformer_file(tiny.transformer, path, prefix)
    tensors["duration_head.pooler.q_proj.weight"] = torch.zeros(4, 4)
    save_file(tensors, str(path))
    c = load_components(ModelConfig(id="ltx-2.5", path=path, text_encoder_path=root / "LTX-2.5"))
    assert torch.equal(c.transformer.proj_in.weight, tiny.transformer.proj_in.weight)
    assert "duration_head.pooler.q_proj.weight" in load_file(path)
    assert "duration_head" not in " ".join(c.transformer.state_dict())
