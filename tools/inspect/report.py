"""The inspection report (a contract for the agent, the CLI, the API and the UI), its verdict and migration plan.

Verdict rules (docs/ltx.md, "Why an LTX-2 LoRA stops working on 2.3"): an LTX-2 LoRA has the same keys and shapes as
an LTX-2.3 one, so it LOADS on 2.3 and then gives wrong or weak output: "loads-but-invalid", retrain from the
clips. Another architecture (Wan, Flux, SD, HunyuanVideo, LTX-Video 2B) does not fit: "incompatible".
"""

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from core.errors import LoraportError
from tools.inspect.fingerprint import UNDECIDED_23_25
from tools.inspect.targets import TargetFacts, evidence_for, missing_on, try_first_plan

# "other": a model the metadata or file name names (the variant says which) that loraport does not migrate.
Family = Literal["ltx-video", "ltx-2", "ltx-2.3", "ltx-2.5", "ltx-2.x", "wan", "hunyuan-video", "flux", "sdxl", "sd1",
                 "other", "unknown"]
Recipe = Literal["character", "style", "motion", "face", "object"]
TARGETS = ("ltx-2.3", "ltx-2.5", "ltx-2")


class BaseModelInfo(BaseModel):
    family: Family
    variant: str | None = None
    version: str | None = None
    confidence: float = Field(ge=0, le=1, description="How decisive the evidence is, 0..1.")
    evidence: list[str] = Field(default_factory=list)


class RankInfo(BaseModel):
    min: int | None = None
    max: int | None = None
    mode: int | None = None


class Targets(BaseModel):
    families: list[str] = Field(description="Module families adapted: attn1, audio_attn2, ff, ...")
    modules: list[str] = Field(description="Paths inside a block, e.g. attn1.to_q.")
    blocks: dict[str, list[int]] = Field(description="Block stack -> indices adapted.")
    layers_adapted: int


class Training(BaseModel):
    tool: str | None = None
    steps: int | None = None
    learning_rate: float | None = None
    rank: int | None = None
    alpha: float | None = None
    base_model_version: str | None = None
    dataset_size: int | None = None
    resolution: str | None = None


class Health(BaseModel):
    checked: bool
    nan_tensors: int = 0
    inf_tensors: int = 0
    zero_B_layers: int = 0
    near_zero_B_layers: int = 0
    median_norm: float | None = None
    max_norm: float | None = None
    audio_B_layers: int = Field(0, description="B matrices in the audio branch (audio_* and cross-modal attention).")
    audio_trained_B_layers: int = Field(0, description="Of those, how many are not zero: trained on sound.")
    audio_median_norm: float | None = None
    status: Literal["ok", "suspect", "broken"] | None = Field(None, description="None when weights were not read.")
    findings: list[str] = Field(default_factory=list)


class Verdict(BaseModel):
    target: str
    status: Literal["native", "test-first", "loads-but-invalid", "incompatible", "unknown"]
    reason: str
    action: str
    evidence: list[str] = Field(default_factory=list, description="Keys, shapes and metadata the verdict rests on.")
    test_plan: list[str] = Field(default_factory=list, description="test-first: how to try it before retraining.")


class CarryOver(BaseModel):
    rank: int | None = None
    steps: int | None = None
    learning_rate: float | None = None
    trigger_word: str | None = None
    resolution: str | None = None
    frames: int | None = None


class Migration(BaseModel):
    recipe: Recipe
    why: str
    carry_over: CarryOver


class InspectReport(BaseModel):
    """What `loraport inspect` found: the file, the model it was made for, its health, and what to do."""

    path: str
    file_size: int
    n_tensors: int
    n_params: int
    dtypes: dict[str, int] = Field(description="dtype -> number of tensors.")
    convention: Literal["comfy", "diffusers", "peft", "kohya", "lycoris", "unknown"]
    prefix: str | None
    kind: Literal["lora", "lokr", "loha", "dora", "diff", "unknown"]
    base_model: BaseModelInfo
    modality: Literal["video", "audio", "audio+video", "image"] | None
    audio_trained: bool | None = Field(None, description="Whether the audio-branch layers were trained (most of "
                                       "their B norms are non-zero): the LoRA learned a voice or sound. None when "
                                       "it has no audio layers or the weights were not read.")
    rank: RankInfo
    alpha: float | None
    scale: float | None
    targets: Targets
    ic_lora: dict[str, float] | None
    metadata: dict[str, str]
    trigger_words: list[str]
    training: Training
    health: Health
    verdict: Verdict
    migration: Migration

    def summary(self) -> str:
        """A few plain-English lines for the terminal, the chat and the bots."""
        b = self.base_model
        made_for = b.family + (f" ({b.variant})" if b.variant else "")
        if b.family == "other":  # a model named in the file that loraport does not migrate
            made_for = f"{b.variant or 'another model'} (not an LTX model)"
        rank = f"rank {self.rank.mode}" if self.rank.mode else "rank unknown"
        if self.rank.min != self.rank.max:
            rank += f" ({self.rank.min}-{self.rank.max})"
        alpha = f", alpha {self.alpha:g} (scale {self.scale:.2f})" if self.alpha is not None and self.scale is not None \
            else ""  # alpha 0 (scale 0) is shown: it is why such a LoRA does nothing
        lines = [
            f"{Path(self.path).name}: {self.kind} for {made_for}, confidence {b.confidence:.2f}",
            f"  {self.convention} keys, {rank}{alpha}, {self.targets.layers_adapted} layers, "
            f"{self.modality or 'unknown modality'}{self._sound()}, {self.file_size / 1e6:.1f} MB",
            f"  evidence: {'; '.join(b.evidence) or 'none'}",
            f"On {self.verdict.target}: {self.verdict.status}. {self.verdict.reason}",
            f"  What to do: {self.verdict.action}",
        ]
        lines += [f"  - {e}" for e in self.verdict.evidence]
        lines += [f"  {i}. {step}" for i, step in enumerate(self.verdict.test_plan, 1)]
        if self.health.checked:
            lines.append(f"Weights: {self.health.status}" + "".join(f"\n  - {f}" for f in self.health.findings))
        else:  # the first finding says "not read"; any others are what the header alone shows
            lines.append("Weights: not checked (header-only)" + "".join(f"\n  - {f}" for f in self.health.findings[1:]))
        word = self.migration.carry_over.trigger_word
        trig = f"; trigger word {word!r}" if word else ""
        lines.append(f"Suggested recipe: {self.migration.recipe} ({self.migration.why}){trig}")
        return "\n".join(lines)


    def _sound(self) -> str:
        h = self.health
        if self.audio_trained is None:
            return ""
        if self.audio_trained:
            return (f" (sound trained: {h.audio_trained_B_layers} of {h.audio_B_layers} audio-branch B non-zero, "
                    "it learned a voice or sound)")
        return f" (sound not trained: {h.audio_B_layers} audio-branch B are zero)"


def normalise_target(target: str) -> str:
    t = (target or "").strip().lower().removeprefix("tiny-")
    if t not in TARGETS:
        raise LoraportError(f"Unknown target {target!r}: loraport can judge a LoRA for {' or '.join(TARGETS)}.")
    return t


def judge(base: BaseModelInfo, target: str, health: Health, facts: TargetFacts | None = None,
          path_hint: str = "LORA.safetensors") -> Verdict:
    facts = facts or TargetFacts()
    status, reason, action = _verdict(base, target, missing_on(target, facts))
    plan: list[str] = []
    if status == "test-first" and facts.ic_lora:
        status, reason, action = ("loads-but-invalid", reason + " But it is an IC-LoRA, and users report that 2.3 "
                                  "IC-LoRAs do not work on LTX-2.5.", f"Retrain on {target} from your source and "
                                  "reference clips (loraport can plan it from this report).")
    elif status == "test-first" and facts.video_ff_bias:
        status, action = "loads-but-invalid", (f"Retrain on {target} from your source clips: part of this file "
                                               "adapts a bias LTX-2.5 no longer has.")
    elif status == "test-first":
        plan = try_first_plan(path_hint)
    if UNDECIDED_23_25 in base.evidence and target in ("ltx-2.3", "ltx-2.5"):
        reason += " Its keys are the same on LTX-2.3 and 2.5 and nothing in the file says which it was trained on: " + (
            "if you trained it on LTX-2.5, it is not native here (a 2.5 LoRA loads on 2.3 but is not valid there)."
            if target == "ltx-2.3" else "if you trained it on LTX-2.5, it is native here: use it as it is.")
    if health.status == "broken":
        action += " Whatever you decide, this file's weights are broken (see Weights): do not reuse it."
    evidence = [f"made for {base.family} (confidence {base.confidence:.2f})"] + evidence_for(target, facts)
    return Verdict(target=target, status=status, reason=reason, action=action, evidence=evidence, test_plan=plan)


def _verdict(base: BaseModelInfo, target: str, missing: list[str]) -> tuple[str, str, str]:
    """``missing``: the file's layers that do not exist in ``target`` (2.3's gates on LTX-2, LTX-2's caption
    projection on 2.3): the file still loads where loaders skip unknown keys, but not "without any error"."""
    fam = base.family
    retrain = f"Retrain on {target} from your source clips (loraport can plan it from this report)."
    if fam == target:
        return "native", f"It was made for {target}.", "Use it as it is."
    if fam == "ltx-2.3" and target == "ltx-2.5":
        return ("test-first",
                "It was trained on LTX-2.3. LTX-2.5 is 2.3's transformer without the video feed-forward bias (plus "
                "a keyframe position embedding) with the same VAE encoder, but a new text encoder (an LTX-tuned "
                "Gemma 4). Its keys and shapes fit, so it loads. Lightricks says a LoRA works only with the model "
                "it was trained on; users report that many 2.3 character LoRAs still work on 2.5.",
                "Test it first on LTX-2.5 before retraining (the plan below); retrain only if the test says so.")
    if fam == "ltx-2.5" and target == "ltx-2.3":
        return ("loads-but-invalid",
                "It was trained on LTX-2.5. Its keys and shapes fit LTX-2.3 (same VAE encoder), but 2.3 has a video "
                "feed-forward bias and reads Gemma 3 text features instead of 2.5's Gemma 4 ones, and nobody reports "
                "2.5 LoRAs working on 2.3. A LoRA works only with the model it was trained on.", retrain)
    if fam in ("ltx-2", "ltx-2.3", "ltx-2.5") or (fam == "ltx-video" and base.variant == "13b"):
        fits = (f"{len(missing)} of its layers ({_few(missing)}) do not exist in {target}: loaders skip them or "
                "refuse the file. The rest fits and loads, but" if missing else
                f"Its keys and shapes fit {target}, so it loads without any error, but")
        return ("loads-but-invalid",
                f"It was trained on {fam}. {fits} {target} has different base weights, text inputs and latent space, "
                "so the output is wrong or weak. A LoRA works only with the model it was trained on.", retrain)
    if fam == "ltx-2.x":
        return ("unknown",
                "Its keys and shapes are the same on LTX-2, LTX-2.3 and LTX-2.5 and nothing in the file says which "
                f"it was trained on. It will load on {target} either way.",
                f"If you trained it on {target}, use it as it is. If it was trained on another model (LTX-2, or "
                f"LTX-Video for a video-only file), it gives wrong or weak output there: retrain from your source "
                "clips. Files named like ltx-2-19b-* or ltx-2.3-22b-*, or your training notes, settle it.")
    if fam == "unknown":
        why = f" ({base.evidence[0]})" if base.evidence else ""
        return ("unknown", f"Its keys match no model loraport knows{why}, and no metadata names one: nothing in it "
                "says it is an LTX-2, 2.3 or 2.5 LoRA.",
                "Tell me which model it was trained for; if it was not an LTX model, retrain from your source clips.")
    name = base.variant if fam == "other" and base.variant else fam
    return ("incompatible",
            f"It was made for {name}, not an LTX model: its layers do not exist in {target}, so loaders reject or "
            "silently skip them.", retrain)


_KEYWORDS: list[tuple[Recipe, str]] = [
    ("style", r"style|aesthetic|look|painting|anime|cartoon|film|cinematic|lut|grade"),
    ("motion", r"motion|camera|dolly|pan|zoom|orbit|tracking|dance|crane|move"),
    ("face", r"face|portrait|identity|headshot"),
    ("object", r"object|product|prop|item|logo|vehicle|car"),
    ("character", r"character|person|man|woman|girl|boy|ohwx|sks"),
]
RECIPES = {r for r, _ in _KEYWORDS}
_CONTROL = r"canny|depth|pose|control|detailer|upscaler|hdr|dubit|inpaint|outpaint|deblur"


def guess_recipe(metadata: dict[str, str], file_name: str, triggers: list[str], ic: dict | None,
                 rank_mode: int | None, modality: str | None) -> tuple[Recipe, str]:
    said = (metadata.get("loraport.recipe") or "").strip().lower()
    if said in RECIPES:
        return said, f"the file says it was trained with loraport's {said} recipe"
    names = [("name", metadata.get(k)) for k in ("ss_output_name", "modelspec.title", "name")]
    names += [("file name", Path(file_name).stem)] + [("trigger word", t) for t in triggers]
    # face is loraport's only IC-LoRA recipe (reference -> target pairs): an IC-LoRA never gets a plain one
    if ic:
        control = re.search(rf"(?<![a-z])({_CONTROL})", " ".join(t or "" for _, t in names).lower())
        if control:  # Lightricks' control IC-LoRAs: canny, depth, pose, union-control, detailer, upscaler, ...
            return "face", (f"a guess: it is an IC-LoRA and face is loraport's IC-LoRA recipe, but its name says "
                            f"{control.group(1)!r}: a control IC-LoRA, whose retraining needs the same kind of pairs "
                            "(the control clip as reference, the video as target)")
        return "face", "a guess: it is an IC-LoRA (reference-conditioned), most often used to keep an identity"
    for recipe, pattern in _KEYWORDS:
        for source, text in names:
            m = re.search(rf"(?<![a-z])({pattern})", (text or "").lower())
            if m:
                return recipe, f"a guess: the {source} {text!r} mentions {m.group(1)!r}"
    if rank_mode is not None and rank_mode <= 16 and modality == "video":
        return "motion", ("a guess: a low-rank (<= 16) video-only LoRA is what Lightricks recommends for camera "
                          "and motion")
    return "character", ("a guess: nothing in the file says what it teaches and character LoRAs are the most "
                         "common; say if it is a style, motion, face or object LoRA")


def _few(names: list[str], n: int = 2) -> str:
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


def unchecked() -> Health:
    """The health of a header-only report: nothing read, so nothing judged."""
    return Health(checked=False, findings=["weights not read (header-only): run without --header-only to "
                                           "check for NaN and all-zero layers"])
