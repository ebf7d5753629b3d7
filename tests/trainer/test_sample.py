"""Sampling through diffusers' LTX2Pipeline on the tiny model: files, determinism, LoRA effect and clean unload."""

import av
import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from core.errors import LoraportError
from trainer.config import ModelConfig
from trainer.models import load_components
from trainer.sample import generate


@pytest.fixture
def components():
    return load_components(ModelConfig())


def _comfy_lora(path, seed=0):
    """A LoRA in the ComfyUI / Lightricks convention with non-zero B (peft initialises B to 0 = no effect)."""
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    transformer = load_components(ModelConfig()).transformer
    transformer.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    gen = torch.Generator().manual_seed(seed)
    state = get_peft_model_state_dict(transformer)
    state = {k: (torch.randn(v.shape, generator=gen) * 0.5 if "lora_B" in k else v) for k, v in state.items()}
    save_file({f"diffusion_model.{k}": v.contiguous() for k, v in state.items()}, str(path))
    return path


@pytest.mark.slow
def test_sample_writes_a_playable_mp4_and_a_png_sheet(components, tmp_path):
    r = generate(components, "a red ball", seed=1, width=64, height=64, frames=17, steps=2, out_dir=tmp_path,
                 name="s")
    assert r.frames.shape == (17, 64, 64, 3) and r.frames.dtype == np.uint8
    with av.open(str(r.mp4_path)) as c:
        decoded = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        assert c.streams.video[0].codec_context.name == "h264"
    assert len(decoded) == 17 and decoded[0].shape == (64, 64, 3)
    # H.264 + 4:2:0 chroma blur tiny-model noise, but the luma of what we wrote tracks what was generated
    luma = lambda x: x.astype(float).mean(axis=-1).ravel()  # noqa: E731
    assert np.corrcoef(luma(decoded[8]), luma(r.frames[8]))[0, 1] > 0.8
    with Image.open(r.sheet_path) as sheet:
        assert sheet.format == "PNG" and sheet.size[1] == 64 and sheet.size[0] >= 64 * 2


@pytest.mark.slow
def test_sample_is_deterministic_for_a_seed_and_varies_across_seeds(components, tmp_path):
    kw = dict(width=64, height=64, frames=9, steps=2, out_dir=tmp_path)
    a = generate(components, "a red ball", seed=3, name="a", **kw)
    b = generate(components, "a red ball", seed=3, name="b", **kw)
    c = generate(components, "a red ball", seed=4, name="c", **kw)
    assert np.array_equal(a.frames, b.frames)
    assert not np.array_equal(a.frames, c.frames)


@pytest.mark.slow
def test_lora_changes_the_sample_and_is_unloaded_afterwards(components, tmp_path):
    lora = _comfy_lora(tmp_path / "lora.safetensors")
    kw = dict(seed=5, width=64, height=64, frames=9, steps=2, out_dir=tmp_path)
    base = generate(components, "a red ball", name="base", **kw)
    with_lora = generate(components, "a red ball", lora_path=lora, name="lora", **kw)
    assert np.abs(with_lora.frames.astype(int) - base.frames.astype(int)).mean() > 1.0
    assert not any("lora" in name for name, _ in components.transformer.named_parameters())
    again = generate(components, "a red ball", name="again", **kw)
    assert np.array_equal(again.frames, base.frames)


@pytest.mark.slow
def test_lora_scale_zero_matches_the_base(components, tmp_path):
    lora = _comfy_lora(tmp_path / "lora.safetensors")
    kw = dict(seed=5, width=64, height=64, frames=9, steps=2, out_dir=tmp_path)
    base = generate(components, "a red ball", name="base", **kw)
    off = generate(components, "a red ball", lora_path=lora, lora_scale=0.0, name="off", **kw)
    assert np.abs(off.frames.astype(int) - base.frames.astype(int)).max() <= 1


def test_sample_refuses_sizes_off_the_model_grid(components, tmp_path):
    with pytest.raises(LoraportError, match="multiples of 32"):
        generate(components, "x", width=70, height=64, frames=9, out_dir=tmp_path)
    with pytest.raises(LoraportError, match="8k\\+1"):
        generate(components, "x", width=64, height=64, frames=10, out_dir=tmp_path)


def test_missing_or_foreign_lora_file_is_a_clear_error(components, tmp_path):
    with pytest.raises(LoraportError, match="not found"):
        generate(components, "x", lora_path=tmp_path / "nope.safetensors", frames=9, steps=1, out_dir=tmp_path)
    foreign = tmp_path / "sdxl.safetensors"
    save_file({"lora_unet_input_blocks_0_proj.lora_down.weight": torch.zeros(4, 8)}, str(foreign))
    with pytest.raises(LoraportError, match="does not load"):
        generate(components, "x", lora_path=foreign, frames=9, steps=1, out_dir=tmp_path)


def _trained_adapter(transformer, seed=1):
    """The train-loop's adapter (trainer.lora) with non-zero B, as after some steps."""
    from trainer.config import LoraConfig
    from trainer.lora import add_lora

    add_lora(transformer, LoraConfig(rank=4, alpha=8))
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in transformer.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    return transformer


@pytest.mark.slow
def test_the_trainers_exported_lora_loads_and_changes_the_sample(components, tmp_path):
    from trainer.export import export_lora

    lora = export_lora(_trained_adapter(load_components(ModelConfig()).transformer), tmp_path / "l.safetensors", {})
    kw = dict(seed=7, width=64, height=64, frames=9, steps=2, out_dir=tmp_path)
    base = generate(components, "a red ball", name="base", **kw)
    tuned = generate(components, "a red ball", lora_path=lora, name="tuned", **kw)
    assert np.abs(tuned.frames.astype(int) - base.frames.astype(int)).mean() > 1.0


@pytest.mark.slow
def test_a_sample_lora_leaves_the_adapter_in_training_as_it_was(components, tmp_path):
    lora = _comfy_lora(tmp_path / "other.safetensors", seed=3)
    _trained_adapter(components.transformer)  # validation samples run on the transformer being trained
    trainable = {n for n, p in components.transformer.named_parameters() if p.requires_grad}
    kw = dict(seed=8, width=64, height=64, frames=9, steps=2, out_dir=tmp_path)
    training = generate(components, "a red ball", name="t1", **kw)
    other = generate(components, "a red ball", lora_path=lora, name="o", **kw)
    again = generate(components, "a red ball", name="t2", **kw)
    assert not np.array_equal(other.frames, training.frames)
    assert np.array_equal(again.frames, training.frames)
    # the optimizer's parameters are still the trainable ones (peft's set_adapter toggles requires_grad)
    assert trainable and {n for n, p in components.transformer.named_parameters() if p.requires_grad} == trainable


@pytest.mark.slow
def test_default_guidance_renders_from_the_prompt_cache_read_only_memory_they_wrote(components, tmp_path):
    import hashlib

    from tests.trainer.heap import unwritten_memory_holds
    from trainer.config import GuidanceConfig
    from trainer.models import prompt_cache

    # The modality-isolation pass (modality_scale > 1) with cached prompt embeddings, as validation renders during
    # training. torch.empty memory holds NaN here and malloc's a different byte each render, so a read of anything
    # unwritten would show in the frames (which stayed equal) or in the mp4 (which did not, before mbtree=0).
    text = "sks a white square"
    prompt_cache.encode(components, [text, GuidanceConfig().negative_prompt])
    was, fill = torch.are_deterministic_algorithms_enabled(), torch.utils.deterministic.fill_uninitialized_memory
    torch.use_deterministic_algorithms(True)
    torch.utils.deterministic.fill_uninitialized_memory = True
    try:
        renders = []
        for i in range(2):
            junk = [torch.randn(1 << 14) for _ in range(16)]  # unrelated tensors come and go between renders
            del junk
            with unwritten_memory_holds(i * 100 + 7):  # and what malloc hands out unwritten differs
                res = generate(components, text, seed=3, width=64, height=64, frames=9, steps=2, out_dir=tmp_path,
                               name=f"r{i}")
            assert res.audio is not None and np.isfinite(res.audio).all()
            renders.append((res.frames, hashlib.sha256(res.mp4_path.read_bytes()).hexdigest()))
    finally:
        torch.use_deterministic_algorithms(was)
        torch.utils.deterministic.fill_uninitialized_memory = fill
    assert np.array_equal(renders[0][0], renders[1][0]) and renders[0][1] == renders[1][1]
