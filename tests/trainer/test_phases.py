"""Phases never share the GPU, and the memory techniques train the same LoRA (or refuse with the reason)."""

import importlib.util

import pytest
import torch
from safetensors.torch import load_file

from tests.trainer.train_utils import concept_dataset, tiny_config
from trainer import data as data_mod
from trainer.config import ModelConfig
from trainer.models import load_components, phases
from trainer.train import run_training

CUDA = torch.cuda.is_available()


@pytest.mark.slow
def test_captions_are_all_encoded_before_any_clip_with_only_their_parts_on_the_gpu(tmp_path, monkeypatch):
    where = {}  # part -> device, as a recording device map: nothing really moves on this CPU machine
    monkeypatch.setattr(phases, "_move", lambda m, d: where.__setitem__(id(m), d.type))
    monkeypatch.setattr(phases, "_device_of", lambda m: torch.device(where.get(id(m), "cpu")))
    c = load_components(ModelConfig(), phased=True)
    c.home = torch.device("cuda")  # pretend: the moves are recorded, not made
    on_gpu = lambda: {n for n in phases.PARTS if where.get(id(getattr(c, n))) == "cuda"}  # noqa: E731
    seen = []
    real_prompts, real_video = data_mod.encode_prompts, data_mod.encode_video
    monkeypatch.setattr(data_mod, "encode_prompts", lambda comp, p: (seen.append(("text", on_gpu())),
                                                                        real_prompts(comp, p))[1])
    monkeypatch.setattr(data_mod, "encode_video", lambda comp, v: (seen.append(("vae", on_gpu())),
                                                                      real_video(comp, v))[1])
    cfg = tiny_config(concept_dataset(tmp_path / "ds", n=3))
    data_mod.prepare_dataset(cfg, c, tmp_path / "cache")
    kinds = [k for k, _ in seen]
    assert kinds == sorted(kinds, key=lambda k: k != "text") and "vae" in kinds  # all text, then all VAE
    assert all(g == {"text_encoder", "connectors"} for k, g in seen if k == "text")
    assert all(g == {"vae", "audio_vae"} for k, g in seen if k == "vae")
    assert c.phase == "idle" and on_gpu() == set()
    phases.enter(c, "train")
    assert on_gpu() == {"transformer"} == c.resident


def test_text_encoder_on_the_cpu_never_moves(monkeypatch):
    moved = []
    monkeypatch.setattr(phases, "_move", lambda m, d: moved.append(m))
    c = load_components(ModelConfig(text_encoder="cpu"), phased=True)
    c.home = torch.device("cuda")
    phases.enter(c, "text")
    assert c.resident == set() and c.text_encoder not in moved and c.connectors not in moved


def _lora(tmp_path, name, **model):
    cfg = tiny_config(concept_dataset(tmp_path / "ds", n=2), steps=2, model={"id": "tiny-ltx-2.3", **model},
                      optim={"steps": 2, "gradient_checkpointing": True})
    result = run_training(cfg, tmp_path / name)
    return result, load_file(result.lora_path)


@pytest.mark.slow
def test_block_offload_trains_the_identical_lora(tmp_path):
    plain, a = _lora(tmp_path, "plain")
    offloaded, b = _lora(tmp_path, "offload", offload="blocks")
    assert offloaded.losses == plain.losses  # the same loss at every step, bit for bit
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # so the same gradients and updates


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["int8", "float8"])
def test_torchao_base_weights_train_on_cpu(tmp_path, kind):
    c = load_components(ModelConfig(quantize_base=kind))
    weight = c.transformer.transformer_blocks[0].attn1.to_q.weight
    assert type(weight).__module__.startswith("torchao")  # really quantised, not a no-op
    result, lora = _lora(tmp_path, kind, quantize_base=kind)
    assert result.steps == 2 and all(torch.isfinite(torch.tensor(v)) for _, v in result.losses)
    assert lora and all(".lora_" in k for k in lora)


@pytest.mark.skipif(not CUDA or importlib.util.find_spec("bitsandbytes") is None,
                    reason="NF4 base weights need a CUDA GPU and bitsandbytes >= 0.48 (pip install 'loraport[gpu]')")
def test_nf4_base_weights_train_on_a_gpu(tmp_path):
    result, lora = _lora(tmp_path, "nf4", quantize_base="nf4")
    assert result.steps == 2 and lora


def test_text_encoder_modes_are_chosen_or_refused_with_the_reason():
    from core.errors import LoraportError
    from trainer.models.quantize import text_encoder_mode

    assert text_encoder_mode("auto", "cpu", 24 * 2**30) == "bf16"  # no GPU: nothing to fit, it runs where it is
    assert text_encoder_mode("cpu", "cpu", 0) == "cpu"
    with pytest.raises(LoraportError, match="CUDA GPU and bitsandbytes"):
        text_encoder_mode("nf4", "cpu", 0)


def test_vae_tiling_is_switched_on_when_asked():
    assert load_components(ModelConfig(vae_tiling=True)).vae.use_tiling
    assert not load_components(ModelConfig()).vae.use_tiling


def test_validation_prompts_encoded_in_the_text_phase_render_the_same_clip_without_gemma(tmp_path):
    import numpy as np

    from trainer.config import GuidanceConfig
    from trainer.models import prompt_cache
    from trainer.sample import generate

    c = load_components(ModelConfig())
    text, negative = "sks a red ball", GuidanceConfig().negative_prompt
    kw = dict(seed=3, width=64, height=64, frames=9, steps=2, out_dir=tmp_path)
    plain = generate(c, text, name="plain", **kw)
    prompt_cache.encode(c, [text, negative])
    c.text_encoder = None  # gone: the cached embeddings must be all the pipeline needs
    cached = generate(c, text, name="cached", **kw)
    assert np.array_equal(plain.frames, cached.frames)
    c.home = torch.device("cpu")
    phases.enter(c, "sample")
    assert "text_encoder" not in c.resident


@pytest.mark.slow
def test_a_training_run_encodes_its_validation_prompts_with_the_captions(tmp_path):
    from trainer.models import prompt_cache

    cfg = tiny_config(concept_dataset(tmp_path / "ds", n=2), validation={"every": 2, "prompts": ["a red ball"]})
    assert prompt_cache.validation_texts(cfg)[0] == "sks a red ball"
    c = load_components(ModelConfig(), phased=True)
    data_mod.prepare_dataset(cfg, c, tmp_path / "cache")
    assert set(prompt_cache.validation_texts(cfg)) <= set(c.prompt_cache)


def test_validation_prompts_are_cached_as_rendered_with_a_trigger_of_several_words(tmp_path):
    from trainer.models import prompt_cache

    assert prompt_cache.with_trigger("a zorbly style cat", "zorbly style") == "a zorbly style cat"
    assert prompt_cache.with_trigger("a cat", "zorbly style") == "zorbly style a cat"
    assert prompt_cache.with_trigger("a cat", None) == "a cat"
    cfg = tiny_config(tmp_path, data={"trigger_word": "zorbly style"},
                      validation={"every": 2, "prompts": ["a zorbly style cat", "a dog"]})
    assert prompt_cache.validation_texts(cfg)[:2] == ["a zorbly style cat", "zorbly style a dog"]


def test_nf4_configs_are_built_for_diffusers_and_transformers_and_refused_without_bitsandbytes(monkeypatch):
    from core.errors import LoraportError
    from trainer.models import quantize

    if importlib.util.find_spec("bitsandbytes") is not None:  # both libraries' configs need the package itself
        cfg = quantize.from_pretrained_kwargs("nf4", torch.bfloat16)
        assert cfg["quantization_config"].bnb_4bit_quant_type == "nf4" and cfg["device_map"] == "cuda"
        gemma = quantize.text_encoder_kwargs("nf4", "cuda")["quantization_config"]
        assert gemma.load_in_4bit and gemma.bnb_4bit_quant_type == "nf4"
    monkeypatch.setattr(quantize, "_bnb_version", lambda: (0, 45))
    with pytest.raises(LoraportError, match=r"bitsandbytes >= 0.48 \(here: 0.45\)"):
        quantize.check("nf4", "cuda")


@pytest.mark.slow
def test_a_validation_sample_that_runs_out_of_gpu_memory_is_skipped_and_training_goes_on(tmp_path, monkeypatch):
    import trainer.sample as sample_module

    def oom(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(sample_module, "render_validation", oom)
    events = []
    cfg = tiny_config(concept_dataset(tmp_path / "ds", n=2), steps=2, validation={"every": 1, "prompts": ["a ball"]})
    result = run_training(cfg, tmp_path / "run", emit=events.append)
    assert result.status == "finished" and result.steps == 2
    assert any("skipped: the GPU ran out of memory" in (e.get("message") or "") for e in events)


def test_optimizer_state_waits_in_host_ram_and_comes_back_unchanged():
    p = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.AdamW([p])
    p.grad = torch.ones(3)
    opt.step()
    before = {k: v.clone() for k, v in opt.state[p].items()}
    with phases.optimizer_state_on_cpu(opt, True):
        assert all(v.device.type == "cpu" for v in opt.state[p].values())
    assert all(torch.equal(before[k], opt.state[p][k]) for k in before)
