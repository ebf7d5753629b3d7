"""How the plan's validation and evaluation samples are guided: ltx-pipelines' parameters for the planned model,
each shown in the plan with where it comes from (docs/ltx.md, "Sampling")."""

from typing import Any

from trainer.config import GuidanceConfig

CITATION = ("Lightricks ltx-pipelines: LTX_2_3_PARAMS (video and audio MultiModalGuiderParams) and "
            "DEFAULT_NEGATIVE_PROMPT; ltx-trainer's validation uses the same values")
WHY = {
    "guidance_scale": "CFG 3 on the video, as Lightricks' pipelines and ComfyUI workflows sample LTX-2.3, so "
                      "the samples look like what users will get.",
    "stg_scale": "STG 1 with ltx-pipelines: steadier motion and structure than plain CFG.",
    "guidance_rescale": "Rescale 0.7 with ltx-pipelines, against over-saturated samples.",
    "modality_scale": "Modality guidance 3 with ltx-pipelines, so picture and sound stay matched.",
    "audio_guidance_scale": "Audio CFG 7 with ltx-pipelines.",
    "audio_stg_scale": "Audio STG 1 with ltx-pipelines.",
    "audio_guidance_rescale": "Audio rescale 0.7 with ltx-pipelines.",
    "audio_modality_scale": "Audio modality guidance 3 with ltx-pipelines.",
    "negative_prompt": "Lightricks' official negative prompt (ltx-pipelines and ltx-trainer): an empty one gives "
                       "samples unlike what users see in ComfyUI.",
}


def set_sampling(values: Any, model_id: str) -> None:
    """Write the sampling settings into the plan's values (`values.set(name, value, source, why, citation)`)."""
    from trainer.models import get_model_spec
    from trainer.sample import STG_BLOCKS

    spec = get_model_spec(model_id)
    defaults = GuidanceConfig()
    for name, why in WHY.items():
        values.set(name, getattr(defaults, name), "recipe", why, CITATION)
    if spec.tiny:
        values.set("stg_blocks", None, "recipe", "The tiny demo model has two blocks and no official STG block: "
                   "its last block stands in, so the same guided passes run.", CITATION)
    else:
        blocks = STG_BLOCKS.get(spec.version, [28])
        values.set("stg_blocks", blocks, "recipe", f"ltx-pipelines perturbs block {blocks[0]} of LTX-"
                   f"{spec.version} for STG.", CITATION)
