"""Sampling guidance: ltx-pipelines' defaults (CFG + STG + modality guidance + rescale + the official negative
prompt) reach diffusers' pipeline, for validation during training as for any other sample."""

from types import SimpleNamespace

import numpy as np
import pytest

from core.errors import LoraportError
from tests.trainer.train_utils import concept_dataset, tiny_config
from trainer.config import DEFAULT_NEGATIVE_PROMPT, GuidanceConfig, ModelConfig
from trainer.models import load_components
from trainer.sample import PLAIN_GUIDANCE, generate, pipeline_guidance
from trainer.train import run_training


def _model(version="2.3", tiny=False, layers=48):
    return SimpleNamespace(version=version, tiny=tiny), SimpleNamespace(config=SimpleNamespace(num_layers=layers))


def test_defaults_are_ltx_pipelines_ltx23_parameters():
    kwargs = pipeline_guidance(GuidanceConfig(), *_model("2.3"))
    assert kwargs == dict(guidance_scale=3.0, stg_scale=1.0, modality_scale=3.0, guidance_rescale=0.7,
                          audio_guidance_scale=7.0, audio_stg_scale=1.0, audio_modality_scale=3.0,
                          audio_guidance_rescale=0.7, negative_prompt=DEFAULT_NEGATIVE_PROMPT,
                          spatio_temporal_guidance_blocks=[28])
    assert DEFAULT_NEGATIVE_PROMPT.startswith("has_subtitles, has_blurbox") and "AI artifacts." in DEFAULT_NEGATIVE_PROMPT


def test_stg_block_follows_the_model_unless_set():
    assert pipeline_guidance(GuidanceConfig(), *_model("2"))["spatio_temporal_guidance_blocks"] == [29]
    assert pipeline_guidance(GuidanceConfig(), *_model("2.5"))["spatio_temporal_guidance_blocks"] == [28]
    assert pipeline_guidance(GuidanceConfig(), *_model("2.3", tiny=True, layers=2))[
        "spatio_temporal_guidance_blocks"] == [1]
    assert pipeline_guidance(GuidanceConfig(stg_blocks=[3, 5]), *_model())["spatio_temporal_guidance_blocks"] == [3, 5]
    assert pipeline_guidance(PLAIN_GUIDANCE, *_model())["spatio_temporal_guidance_blocks"] is None


def test_an_stg_block_the_model_lacks_is_refused():
    with pytest.raises(LoraportError, match=r"STG blocks \[28\].*0-1"):
        pipeline_guidance(GuidanceConfig(stg_blocks=[28]), *_model(tiny=True, layers=2))


@pytest.mark.slow
def test_each_guidance_term_changes_the_tiny_models_sample(tmp_path):
    components = load_components(ModelConfig())
    kw = dict(seed=5, width=64, height=64, frames=9, steps=2, out_dir=tmp_path)
    plain = generate(components, "a red ball", name="plain", guidance=PLAIN_GUIDANCE, **kw).frames
    official = generate(components, "a red ball", name="official", **kw).frames
    again = generate(components, "a red ball", name="again", guidance=GuidanceConfig(), **kw).frames
    assert np.array_equal(official, again)  # the default is GuidanceConfig()
    for name, change in [("stg", {"stg_scale": 1.0, "audio_stg_scale": 1.0}), ("rescale", {"guidance_rescale": 0.7}),
                         ("negative", {"negative_prompt": "blurry"})]:
        varied = generate(components, "a red ball", name=name, guidance=PLAIN_GUIDANCE.model_copy(update=change),
                          **kw).frames
        assert not np.array_equal(varied, plain), name
    assert not np.array_equal(official, plain)


@pytest.mark.slow
def test_validation_samples_use_the_configs_guidance(tmp_path, monkeypatch):
    import trainer.sample

    seen = []

    def spy(guidance, spec, transformer):
        seen.append(guidance)
        return pipeline_guidance(PLAIN_GUIDANCE, spec, transformer)  # the cheapest passes: only the argument matters

    monkeypatch.setattr(trainer.sample, "pipeline_guidance", spy)
    custom = GuidanceConfig(guidance_scale=4.5, negative_prompt="washed out")
    val = {"every": 2, "prompts": ["a white square"], "seeds": [3], "width": 64, "height": 64, "frames": 9,
           "inference_steps": 2, "guidance": custom.model_dump()}
    run_training(tiny_config(concept_dataset(tmp_path / "ds", n=2), steps=2, validation=val), tmp_path / "run")
    assert seen and all(g == custom for g in seen)
