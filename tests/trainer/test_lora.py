"""LoRA targets: every name the user gives is honoured (attention Linears, paths inside a block such as the
feed-forward), and a name that adapts nothing stops training before it starts."""

import pytest
from safetensors.torch import load_file

from core.errors import LoraportError
from tests.trainer.train_utils import concept_dataset, tiny_config
from trainer import lora
from trainer.config import LoraConfig, ModelConfig
from trainer.models import load_components
from trainer.train import run_training

FF_TARGETS = ["to_q", "to_k", "to_v", "to_out.0", "ff.net.0.proj", "ff.net.2"]


def _transformer():
    return load_components(ModelConfig()).transformer


def test_feed_forward_paths_are_adapted_in_every_block_beside_the_attention():
    names = lora.add_lora(_transformer(), LoraConfig(rank=2, alpha=2, target_modules=FF_TARGETS))
    ff = [n for n in names if ".ff." in n]
    assert sorted(ff) == [f"transformer_blocks.{i}.ff.net.{p}" for i in (0, 1) for p in ("0.proj", "2")]
    assert len(names) == 2 * (2 * 4 + 2)  # layers x (attn1/attn2 x q/k/v/out + the two ff Linears)
    assert not any("audio_ff" in n for n in names)  # `ff.net.*` is the video feed-forward only


def test_a_path_inside_the_block_adapts_only_that_linear():
    names = lora.add_lora(_transformer(), LoraConfig(rank=2, alpha=2, target_modules=["attn1.to_q", "to_v"]))
    assert sorted(n.split(".", 2)[2] for n in names) == ["attn1.to_q", "attn1.to_q", "attn1.to_v", "attn1.to_v",
                                                         "attn2.to_v", "attn2.to_v"]


def test_audio_feed_forward_needs_the_audio_branch():
    with pytest.raises(LoraportError, match="audio_ff.net.2.*video_only"):
        lora.add_lora(_transformer(), LoraConfig(target_modules=["to_q", "audio_ff.net.2"]))
    names = lora.add_lora(_transformer(), LoraConfig(target_modules=["to_q", "audio_ff.net.2"], video_only=False))
    assert sum("audio_ff.net.2" in n for n in names) == 2


@pytest.mark.slow
@pytest.mark.parametrize("bad", ["ff.net.1", "query", "attn1", "ff.net.0"])
def test_a_target_that_matches_no_linear_is_refused_even_beside_good_ones(bad):
    transformer = _transformer()
    with pytest.raises(LoraportError, match=rf"{bad.replace('.', '[.]')} match no Linear.*ff\.net\.0\.proj"):
        lora.add_lora(transformer, LoraConfig(target_modules=["to_q", bad]))
    assert not getattr(transformer, "_hf_peft_config_loaded", False)  # refused before anything was injected


def test_attention_only_targets_keep_the_regex_older_checkpoints_were_fingerprinted_with():
    assert lora.target_regex(LoraConfig()) == r"transformer_blocks\.\d+\.(attn1|attn2)\.(to_k|to_q|to_v|to_out\.0)"


@pytest.mark.slow
def test_a_run_with_feed_forward_targets_exports_feed_forward_keys(tmp_path):
    cfg = tiny_config(concept_dataset(tmp_path / "ds", n=3), steps=10, lora={"target_modules": FF_TARGETS})
    result = run_training(cfg, tmp_path / "run")
    keys = load_file(result.lora_path)
    for block in (0, 1):
        for linear in ("ff.net.0.proj", "ff.net.2"):
            a = keys[f"diffusion_model.transformer_blocks.{block}.{linear}.lora_A.weight"]
            b = keys[f"diffusion_model.transformer_blocks.{block}.{linear}.lora_B.weight"]
            assert a.shape[0] == b.shape[1] == 4 and b.abs().sum() > 0  # rank 4, trained


def test_targets_are_found_again_after_an_earlier_adapter_was_removed():
    transformer = _transformer()
    lora.add_lora(transformer, LoraConfig(rank=2, alpha=2, target_modules=FF_TARGETS))
    transformer.delete_adapters(lora.ADAPTER)  # peft leaves its wrappers around the Linears
    assert len(lora.add_lora(transformer, LoraConfig(rank=2, alpha=2, target_modules=FF_TARGETS))) == 20
