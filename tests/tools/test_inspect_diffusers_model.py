"""The layouts the inspector reasons about are the real model's: LTX-2 and LTX-2.3 transformers built from
diffusers' own class at their real configs (on the meta device, no weights), LoRA keys made from their Linear
layers, and each file read back as the version it came from."""

import pytest
import torch

from tests.tools.lora_factory import ltx2_modules
from tests.tools.lora_layouts import peft_keys
from tools.inspect import inspect_lora

LTX23 = dict(rope_type="split", gated_attn=True, cross_attn_mod=True, audio_gated_attn=True,
             audio_cross_attn_mod=True, use_prompt_embeddings=False, perturbed_attn=True)
LTX2 = dict(rope_type="split")


def _linears(config: dict) -> dict[str, tuple[int, int]]:
    from diffusers import LTX2VideoTransformer3DModel

    with torch.device("meta"):
        model = LTX2VideoTransformer3DModel(**config)
    return {name: (m.out_features, m.in_features) for name, m in model.named_modules()
            if isinstance(m, torch.nn.Linear)}


@pytest.fixture(scope="module")
def real():
    return {"ltx-2.3": _linears(LTX23), "ltx-2": _linears(LTX2)}


def test_the_fixture_layouts_are_the_real_models_names_and_shapes(real):
    for family, gate in (("ltx-2.3", True), ("ltx-2", False)):
        expected = ltx2_modules(n_blocks=48, gate=gate, ff=True)
        assert {k: real[family][k] for k in expected} == expected  # KeyError = a name the model does not have
    assert not any("to_gate_logits" in k for k in real["ltx-2"])
    assert sum(k.endswith(("to_q", "to_k", "to_v", "to_out.0")) and k.startswith("transformer_blocks.")
               for k in real["ltx-2.3"]) == 1152


@pytest.mark.parametrize("family,marker", [("ltx-2.3", "prompt_adaln"), ("ltx-2", "caption_projection")])
def test_a_whole_transformer_lora_in_diffusers_names_is_read_as_its_version(tmp_path, real, family, marker):
    """Every Linear of blocks 0 and 47 and of the top level, as a diffusers / peft 'all linear' LoRA saves them."""
    keep = {k: s for k, s in real[family].items()
            if not k.startswith("transformer_blocks.") or k.split(".")[1] in ("0", "47")}
    assert any(k.startswith(marker) for k in keep)
    from safetensors.torch import save_file

    save_file(peft_keys(keep, "transformer.", rank=1), str(tmp_path / "all_linear.safetensors"))
    r = inspect_lora(tmp_path / "all_linear.safetensors", header_only=True)
    assert r.base_model.family == family and r.base_model.confidence >= 0.8
    assert r.targets.blocks == {"transformer_blocks": [0, 47]} and r.modality == "audio+video"
    assert r.verdict.status == ("native" if family == "ltx-2.3" else "loads-but-invalid")
