"""The weights check that plan and train run without loading: the same verdicts as the loader, from names,
configs and headers only."""

import json
import shutil

import pytest
import torch
from safetensors.torch import save_file

from core.errors import LoraportError
from tests.trainer import ltx_layouts as layouts
from trainer.config import ModelConfig
from trainer.models import get_model_spec, ltx2
from trainer.models import ltx2_single_file as sf
from trainer.models.preflight import check_weights

MODEL_PARTS = ("transformer", "vae", "audio_vae", "vocoder", "connectors")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    parts = layouts.tiny_parts()
    root = tmp_path_factory.mktemp("preflight")
    layouts.write_diffusers_folder(root / "configs", parts, configs_only=MODEL_PARTS)
    layouts.write_diffusers_folder(root / "full", parts)
    state = layouts.lightricks_state_dict(parts)
    save_file(state, str(root / "ltx-2.3-22b-dev.safetensors"))
    save_file(layouts.fp8_scaled(state)[0], str(root / "ltx-2.3-22b-dev-fp8.safetensors"))
    save_file({k: v for k, v in state.items() if k.startswith(sf.DIT_PREFIX)}, str(root / "dit.safetensors"))
    return root


@pytest.fixture()
def no_loading(monkeypatch):
    """Any weight read or part build fails the test: the check must not need them."""
    def forbidden(*args, **kwargs):
        raise AssertionError("the weights check read weights")

    monkeypatch.setattr(sf, "read_part", forbidden)
    monkeypatch.setattr(ltx2, "_folder_part", forbidden)
    monkeypatch.setattr(ltx2, "_build_from_state", forbidden)


def _check(path, te=None, model="ltx-2.3"):
    return check_weights(ModelConfig(id=model, path=path, text_encoder_path=te), get_model_spec(model))


def test_good_layouts_pass_and_say_what_will_load(files, no_loading):
    assert "single-file LTX-2.3 checkpoint ltx-2.3-22b-dev.safetensors" in _check(
        files / "ltx-2.3-22b-dev.safetensors", files / "configs")
    assert "fp8 file: weights stored in 8 bits, dequantised" in _check(files / "ltx-2.3-22b-dev-fp8.safetensors", files / "configs")
    assert "vae, audio_vae, vocoder from full" in _check(files / "dit.safetensors", files / "full")
    assert "diffusers-format LTX-2.3 folder full" == _check(files / "full")
    assert "no weights" in _check(None, model="tiny-ltx-2.3")


def test_a_transformer_only_file_with_a_bare_gemma_folder_is_refused_before_loading(files, no_loading):
    with pytest.raises(LoraportError, match="has no vae weights.*LORAPORT_TEXT_ENCODER_PATH"):
        _check(files / "dit.safetensors", files / "full" / "text_encoder")


def test_the_transformer_only_file_needs_the_folders_weights_not_just_configs(files, no_loading):
    with pytest.raises(LoraportError, match="vae has no weights"):
        _check(files / "dit.safetensors", files / "configs")


def test_a_lora_and_a_pickle_are_refused_by_what_they_are(files, tmp_path, no_loading):
    save_file({"transformer.transformer_blocks.0.attn1.to_q.lora_A.weight": torch.zeros(2, 2)},
              str(tmp_path / "style.safetensors"))
    with pytest.raises(LoraportError, match="is a LoRA"):
        _check(tmp_path / "style.safetensors", files / "configs")
    torch.save({"x": torch.zeros(1)}, tmp_path / "model.ckpt")
    with pytest.raises(LoraportError, match="pickle"):
        _check(tmp_path / "model.ckpt", files / "configs")


def test_folder_problems_are_found_without_loading(files, tmp_path, no_loading):
    folder = shutil.copytree(files / "full", tmp_path / "ltx23")
    index = json.loads((folder / "model_index.json").read_text())
    index["vocoder"] = ["diffusers", "HifiGanVocoder"]  # a class the loader does not allow for a part
    (folder / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(LoraportError, match="names HifiGanVocoder for its vocoder"):
        _check(folder)
    index["vocoder"] = ["ltx2", "LTX2VocoderWithBWE"]
    (folder / "model_index.json").write_text(json.dumps(index))
    next((folder / "transformer").glob("*.safetensors")).write_bytes(b"\x00" * 64)
    with pytest.raises(LoraportError, match="transformer/diffusion_pytorch_model.safetensors cannot be read"):
        _check(folder)
    with pytest.raises(LoraportError, match="LTX-2.3, but the model id is ltx-2"):
        _check(files / "full", model="ltx-2")
    other = shutil.copytree(files / "full", tmp_path / "other")
    shutil.rmtree(other / "connectors")
    with pytest.raises(LoraportError, match="no connectors/"):
        _check(other)


def test_ltx25_checks_its_text_encoder_before_anything_else(files, no_loading):
    with pytest.raises(LoraportError, match="not the LTX-tuned Gemma 4"):
        _check(files / "full", model="ltx-2.5")


@pytest.mark.parametrize("model", ["ltx-2.3", "ltx-2", "ltx-2.5"])
def test_no_path_names_the_setting_of_that_version(model):
    setting = {"ltx-2.3": "LORAPORT_MODEL_PATH", "ltx-2": "LORAPORT_LTX2_MODEL_PATH",
               "ltx-2.5": "LORAPORT_LTX25_MODEL_PATH"}[model]
    tiny = "tiny-ltx-2.5" if model == "ltx-2.5" else "tiny-ltx-2.3"  # a model that exists, also for ltx-2
    with pytest.raises(LoraportError, match=f"{setting}.*Use {tiny} to try"):
        _check(None, model=model)


@pytest.mark.slow  # builds the real LTX-2 parts on meta (~2 s)
def test_the_built_in_ltx2_configs_build_ltx2s_parts():
    """LTX-2 (19B: a 14B video and a 5B audio stream), no gates, 2-layer connectors, the 24 kHz vocoder."""
    from accelerate import init_empty_weights

    from trainer.models.ltx2_configs import PART_CLASSES

    with init_empty_weights():
        parts = {p: ltx2.part_class(p, name).from_config(c) for p, (name, c) in PART_CLASSES["2"].items()}
    t = parts["transformer"]
    total = sum(p.numel() for p in t.parameters())
    audio = sum(p.numel() for n, p in t.named_parameters() if "audio" in n)
    assert 18.5e9 < total < 19.5e9 and 5e9 < audio < 6e9
    assert not t.config.gated_attn and t.config.use_prompt_embeddings
    assert parts["connectors"].config.video_connector_num_layers == 2
    assert type(parts["vocoder"]).__name__ == "LTX2Vocoder" and parts["vocoder"].config.output_sampling_rate == 24000


def test_an_ltx2_single_file_with_a_bare_gemma_folder_is_checked_against_the_built_in_configs(files, tmp_path,
                                                                                              no_loading):
    """LTX-2's usual download: ltx-2-19b-dev.safetensors plus Gemma 3 on its own (no diffusers folder). The file
    passes; the tiny Gemma is then measured against the real LTX-2 connectors (Gemma 3 12B: 3840 wide, 48
    layers) and refused, which shows the built-in configs were found."""
    parts = layouts.tiny_parts()
    gemma = tmp_path / "gemma-3-12b-it-qat-q4_0-unquantized"
    parts["text_encoder"].save_pretrained(gemma)
    parts["tokenizer"].save_pretrained(gemma)
    state = layouts.lightricks_state_dict(parts)
    ltx2_file = {k: v for k, v in state.items() if ".to_gate_logits." not in k and "prompt_adaln_single." not in k}
    save_file(ltx2_file, str(tmp_path / "ltx-2-19b-dev.safetensors"))
    with pytest.raises(LoraportError, match="connectors read 3840-wide hidden states from 48 layers"):
        _check(tmp_path / "ltx-2-19b-dev.safetensors", gemma, model="ltx-2")
