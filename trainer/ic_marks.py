"""What marks a LoRA file as an IC-LoRA beyond its reference factors: the one rule inspect's verdict and Studio's
need for a reference both follow. Light on purpose (no numpy, no torch): a header-only inspect imports it."""

import re
from pathlib import Path

# The musubi-tuner LTX fork's flags for its reference-conditioned (IC) training modes.
IC_FLAGS = ("ss_ic_lora_strategy", "ss_v2v_training", "ss_av_ic_training", "ss_audio_ref_ic_training",
            "ss_video_ref_only_av_training")
# Lightricks names its IC-LoRAs ltx-2-19b-ic-lora-*, LTX-2.3-22b-IC-LoRA-*; "comic-lora" is not one.
IC_NAME = re.compile(r"(?<![a-z])ic[-_ ]?lora(?![a-z])", re.IGNORECASE)


def ic_marker(metadata: dict[str, str], names: list[str | None] = ()) -> str:
    """What marks a LoRA as an IC-LoRA when its reference factors do not (ltx-trainer writes them only when they
    differ from 1): loraport's strategy, a musubi training flag, or an IC-LoRA file name; "" for a plain LoRA.
    The one rule: inspect's verdict and Studio's need for a reference both follow it."""
    if (metadata.get("loraport.strategy") or "").strip().lower() == "ic-lora":
        return "metadata loraport.strategy = 'ic-lora'"
    for key in IC_FLAGS:
        value = (metadata.get(key) or "").strip()
        if value and value.lower() not in ("false", "0", "none", "null"):
            return f"metadata {key} = {value[:40]!r} (reference-conditioned training)"
    for name in names:
        if name and IC_NAME.search(name):
            return f"the name {name[:80]!r} says IC-LoRA"
    return ""


def lora_names(lora_path: Path, metadata: dict[str, str]) -> list[str | None]:
    """The names a LoRA goes by, for ``ic_marker``: its file name and the names trainers write inside it."""
    return [Path(lora_path).name, metadata.get("ss_output_name"), metadata.get("modelspec.title"),
            metadata.get("name")]
