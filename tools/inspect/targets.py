"""What a LoRA's keys, shapes and metadata say about one target model: the facts a per-target verdict cites.

LTX-2.5 is LTX-2.3's transformer without the video feed-forward bias (and, from 2.5.1, a keyframe position
embedding), with 2.3's VAE encoder and an LTX-tuned Gemma 4 text encoder instead of Gemma 3. So a LoRA's
LoRA-A/B keys and shapes are the same on 2.3 and 2.5 and it loads on either; what cannot carry over is a
per-layer bias delta on the video feed-forward (a LyCORIS / full ``diff_b``), which has nothing to add to in 2.5.
Lightricks says a LoRA works only with the model it was trained on; users report that many 2.3 character LoRAs
still work on 2.5 and IC-LoRAs do not. Hence "test it first" for 2.3 -> 2.5, and "retrain" for IC-LoRAs.
"""

from dataclasses import dataclass, field

from tools.inspect.fingerprint import LTX2_TOP, LTX23_TOP, video_width
from tools.inspect.keys import Layout


@dataclass
class TargetFacts:
    """Key- and metadata-level facts about the file that matter when moving it between LTX versions."""

    ic_lora: bool = False
    ic_source: str = ""
    video_ff_bias: int = 0  # modules with a bias delta (diff_b) on the video feed-forward
    video_ff: int = 0  # adapted video feed-forward layers (ff.net.*), LoRA A/B or otherwise
    gates: int = 0  # adapted to_gate_logits (LTX-2.3 and 2.5 only)
    only_23: list[str] = field(default_factory=list)  # layers that exist in 2.3 / 2.5, not in LTX-2 (gates, ...)
    only_2: list[str] = field(default_factory=list)  # layers that exist in LTX-2 only (caption projection, ...)
    video_width: int | None = None
    families: list[str] = field(default_factory=list)


def target_facts(layout: Layout, ic_source: str = "") -> TargetFacts:
    """``ic_source``: what says the file is an IC-LoRA (metadata.ic_lora_info), empty for a plain LoRA."""
    facts = TargetFacts(ic_lora=bool(ic_source), ic_source=ic_source)
    fams = set()
    for m in layout.modules.values():
        inner = m.stack[2] if m.stack else m.path
        fams.add(inner.split(".")[0])
        if inner.startswith("ff."):
            facts.video_ff += 1
            facts.video_ff_bias += "diff_b" in m.parts
        facts.gates += "to_gate_logits" in inner
        if inner.endswith("to_gate_logits") or (not m.stack and LTX23_TOP.search(m.path)):
            facts.only_23.append(m.path)
        elif not m.stack and LTX2_TOP.search(m.path):
            facts.only_2.append(m.path)
    facts.families = sorted(fams)
    facts.video_width = video_width(layout)  # to_q / to_out.0, never to_gate_logits (32 = the head count)
    return facts


def missing_on(target: str, facts: TargetFacts) -> list[str]:
    """The file's layers that do not exist in ``target`` (loaders skip them, or refuse the file)."""
    if target == "ltx-2":
        return facts.only_23
    return facts.only_2 if target in ("ltx-2.3", "ltx-2.5") else []


def evidence_for(target: str, facts: TargetFacts) -> list[str]:
    """The key-level lines a verdict for ``target`` rests on (the base-model evidence is listed separately)."""
    lines = []
    if facts.video_width:
        lines.append(f"video stream is {facts.video_width} wide (out features of the blocks' video attention); "
                     "LTX-2, 2.3 and 2.5 share the 4096-wide layout, the tiny twins a 16-wide one")
    if facts.gates:
        lines.append(f"{facts.gates} to_gate_logits layers: the gated attention of LTX-2.3, kept in 2.5, absent "
                     "in LTX-2")
    if target == "ltx-2.5":
        if facts.video_ff_bias:
            lines.append(f"{facts.video_ff_bias} video feed-forward layers carry a bias delta (diff_b): LTX-2.5 has "
                         "no video feed-forward bias, so that part of the file has nothing to apply to")
        elif facts.video_ff:
            lines.append(f"{facts.video_ff} video feed-forward layers adapted by LoRA A/B only: same shapes in 2.5 "
                         "(only the bias was removed), so they load")
        else:
            lines.append("no video feed-forward bias delta in the file: nothing in it depends on the bias LTX-2.5 "
                         "removed")
    lines.append(f"IC-LoRA: {facts.ic_source}" if facts.ic_lora else "not an IC-LoRA (no reference-video metadata, "
                 "no IC training flag, not named as one)")
    return lines


def try_first_plan(path_hint: str) -> list[str]:
    """How to find out whether a 2.3 LoRA still works on 2.5 before paying for a retrain."""
    return [
        "Render your LoRA on LTX-2.5 beside LTX-2.5 alone, same prompts and seeds, and measure its held-out loss "
        f"on a few of your clips: loraport evaluate {path_hint} --dataset YOUR_CLIPS --model ltx-2.5 --as-is "
        "(or ask the sidekick: 'does it still work on 2.5?').",
        "If it still lowers the held-out loss and visibly changes the renders in the way it did on 2.3: keep it, "
        "no retrain needed.",
        "If it does nothing, or makes the loss worse: retrain on LTX-2.5 from your source clips (text embeddings "
        "are re-encoded with 2.5's Gemma 4; the video latents of 2.3 are reused where the VAE encoder is the same).",
    ]
