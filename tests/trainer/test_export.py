"""The exported LoRA: ComfyUI keys, alpha folded into B, metadata, and it loads where users load it."""

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from tests.trainer.train_utils import concept_dataset, tiny_config
from trainer import lora
from trainer.checkpoints import latest_checkpoint
from trainer.config import ModelConfig
from trainer.export import export_diffusers, export_dtype, export_lora
from trainer.models import load_components
from trainer.strategies import Batch, TextToVideo, predict
from trainer.train import run_training


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 4-step run at rank 4, alpha 8 (scale 2), so folding shows."""
    tmp = tmp_path_factory.mktemp("export")
    cfg = tiny_config(concept_dataset(tmp / "ds", n=3), steps=4, lora={"rank": 4, "alpha": 8},
                      data={"trigger_word": "ohwx"}, recipe="style")
    return cfg, run_training(cfg, tmp / "run")


def _pipeline():
    from diffusers import LTX2Pipeline

    c = load_components(ModelConfig())
    return LTX2Pipeline(scheduler=c.scheduler, vae=c.vae, audio_vae=c.audio_vae, text_encoder=c.text_encoder,
                        tokenizer=c.tokenizer, connectors=c.connectors, transformer=c.transformer, vocoder=c.vocoder)


def _checkpoint_lora(result) -> dict:
    return load_file(latest_checkpoint(result.run_dir / "checkpoints") / "lora.safetensors")


def _velocity(transformer) -> torch.Tensor:
    gen = torch.Generator().manual_seed(5)
    batch = Batch(latents=torch.randn(1, 8, 3, 4, 4, generator=gen), prompt_embeds=torch.randn(1, 6, 16, generator=gen),
                  prompt_mask=torch.ones(1, 6))
    inputs = TextToVideo(transformer).prepare_inputs(batch, gen, sigma=torch.tensor([0.6]))
    with torch.no_grad():
        return predict(transformer, inputs, {"use_cross_timestep": True})


@pytest.mark.slow
def test_export_has_comfyui_keys_no_alpha_and_alpha_folded_into_b(trained):
    cfg, result = trained
    exported = load_file(result.lora_path)
    assert all(k.startswith("diffusion_model.transformer_blocks.") for k in exported)
    assert all(k.endswith((".lora_A.weight", ".lora_B.weight")) for k in exported)
    assert not any("alpha" in k for k in exported)
    assert len(exported) == 2 * 2 * 2 * 4  # A/B x layers x (attn1, attn2) x q/k/v/out
    raw = _checkpoint_lora(result)  # peft keys, unscaled, fp32
    for key, value in raw.items():
        scale = 2.0 if ".lora_B." in key else 1.0
        assert torch.equal(exported["diffusion_model." + key], (value * scale).to(torch.bfloat16))
    assert any(v.abs().sum() > 0 for k, v in raw.items() if ".lora_B." in k)  # trained, not the zero init


@pytest.mark.slow
def test_export_is_bf16_with_the_same_keys_as_fp32_at_half_the_size(trained, tmp_path):
    cfg, result = trained
    exported = load_file(result.lora_path)
    assert {v.dtype for v in exported.values()} == {torch.bfloat16}
    with safe_open(str(result.lora_path), "pt") as f:
        assert f.metadata()["loraport.dtype"] == "bfloat16"
    adapted = _trained_reference(cfg, result)
    fp32 = export_lora(adapted, tmp_path / "fp32.safetensors", {}, dtype=export_dtype(
        cfg.model_copy(update={"checkpoints": cfg.checkpoints.model_copy(update={"precision": "fp32"})})))
    full = load_file(fp32)
    assert set(full) == set(exported) and {v.dtype for v in full.values()} == {torch.float32}
    assert all(torch.equal(full[k].to(torch.bfloat16), exported[k]) for k in full)
    payload = sum(v.numel() * v.element_size() for v in exported.values())
    assert payload * 2 == sum(v.numel() * v.element_size() for v in full.values())


def test_export_metadata_describes_the_run(trained):
    cfg, result = trained
    with safe_open(str(result.lora_path), "pt") as f:
        meta = f.metadata()
    assert meta["modelspec.architecture"] == "ltx-video-2.3/lora"
    assert meta["modelspec.trigger_phrase"] == meta["loraport.trigger_word"] == "ohwx"
    assert meta["loraport.base_model"] == "tiny-ltx-2.3" and meta["loraport.base_model_version"] == "2.3"
    assert meta["loraport.rank"] == meta["loraport.alpha"] == "4" and meta["loraport.trained_alpha"] == "8.0"
    assert meta["loraport.recipe"] == "style" and meta["loraport.steps"] == "4"
    assert float(meta["loraport.learning_rate"]) == cfg.optim.learning_rate
    assert len(meta["loraport.dataset_hash"]) == 64 and meta["loraport.dataset_size"] == "3"
    assert '"width": 64' in meta["loraport.buckets"] and meta["loraport.created_at"].endswith("Z")
    assert meta["loraport.version"]


def test_export_loads_through_diffusers_ltx2_loader_and_reproduces_the_trained_model(trained):
    cfg, result = trained
    pipe = _pipeline()
    base = _velocity(pipe.transformer)
    pipe.load_lora_weights(str(result.lora_path))
    loaded = _velocity(pipe.transformer)
    assert not torch.allclose(loaded, base, atol=1e-6)
    # The training-time model (peft adapter at alpha / rank = 2) with its weights rounded to bf16 as the file
    # stores them: scaling B by 2 commutes with the rounding, so the loaded model is that model exactly.
    reference = _trained_reference(cfg, result, rounded=True)
    assert torch.allclose(loaded, _velocity(reference), atol=1e-5)
    unrounded = _velocity(_trained_reference(cfg, result))
    assert torch.allclose(loaded, unrounded, atol=1e-2 * unrounded.abs().max().item())  # bf16 costs little


def _trained_reference(cfg, result, rounded: bool = False):
    """A fresh tiny transformer carrying the run's final adapter (from its last checkpoint, fp32 or bf16-rounded)."""
    reference = load_components(ModelConfig()).transformer
    lora.add_lora(reference, cfg.lora)
    state = _checkpoint_lora(result)
    if rounded:
        state = {k: v.to(torch.bfloat16).float() for k, v in state.items()}
    lora.load_lora_state_dict(reference, state)
    return reference


def test_diffusers_format_export_loads_too(trained, tmp_path):
    cfg, result = trained
    reference = _trained_reference(cfg, result)
    path = export_diffusers(reference, tmp_path / "diffusers")
    assert all(k.startswith("transformer.") for k in load_file(path))
    pipe = _pipeline()
    pipe.load_lora_weights(str(path))
    assert torch.allclose(_velocity(pipe.transformer), _velocity(reference), atol=1e-5)


def test_inspect_says_the_export_is_native_ltx23(trained):
    from tools.inspect.inspector import inspect_lora

    report = inspect_lora(trained[1].lora_path, target="ltx-2.3")
    assert report.convention == "comfy" and report.base_model.family == "ltx-2.3"
    assert report.base_model.confidence == 1.0 and report.verdict.status == "native"
    assert report.rank.mode == 4 and report.alpha == 4 and report.trigger_words == ["ohwx"]
    assert report.health.checked and report.health.nan_tensors == 0 and report.health.status != "broken"
