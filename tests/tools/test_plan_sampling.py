"""The plan shows how validation and evaluation samples are guided: ltx-pipelines' parameters for the planned
model, each with its source, overridable with the same --set words as any other setting."""

import pytest

from tests.tools.test_plan import H100, clips
from tools.plan.service import plan
from trainer.config import DEFAULT_NEGATIVE_PROMPT, GuidanceConfig

OFFICIAL = {"guidance_scale": 3.0, "stg_scale": 1.0, "guidance_rescale": 0.7, "modality_scale": 3.0,
            "audio_guidance_scale": 7.0, "audio_stg_scale": 1.0, "audio_guidance_rescale": 0.7,
            "audio_modality_scale": 3.0, "negative_prompt": DEFAULT_NEGATIVE_PROMPT}


def test_plan_shows_ltx_pipelines_guidance_with_its_source():
    p = plan("style", clips(25), hardware=H100, model_id="ltx-2.3", calibrate=False)
    for name, value in OFFICIAL.items():
        s = p.settings[name]
        assert s.value == value and s.source == "recipe" and "ltx-pipelines" in (s.citation or ""), name
    assert p.settings["stg_blocks"].value == [28]
    assert p.config.validation.guidance == GuidanceConfig(stg_blocks=[28])


@pytest.mark.slow
def test_ltx2_perturbs_its_own_stg_block_and_the_tiny_model_its_last():
    assert plan("style", clips(25), hardware=H100, model_id="ltx-2", calibrate=False).settings[
        "stg_blocks"].value == [29]
    tiny = plan("style", clips(25), hardware=H100, model_id="tiny-ltx-2.3", calibrate=False)
    assert tiny.settings["stg_blocks"].value is None and "last block" in tiny.settings["stg_blocks"].explanation


def test_guidance_is_overridden_with_the_usual_words():
    p = plan("style", clips(25), hardware=H100, model_id="ltx-2.3", calibrate=False,
             overrides={"cfg": "4", "stg_blocks": "27,28", "negative_prompt": "blurry", "rescale": "0",
                        "lora_precision": "fp32"})
    g = p.config.validation.guidance
    assert (g.guidance_scale, g.stg_blocks, g.negative_prompt, g.guidance_rescale) == (4.0, [27, 28], "blurry", 0.0)
    assert p.settings["guidance_scale"].source == "user" and p.config.checkpoints.precision == "fp32"
