"""Which base model a LoRA was trained for: key markers, block counts and widths, then metadata and file name.

The rules are docs/ltx.md's "Fingerprints". The keys decide whatever they can decide; where they cannot (a default
q/k/v/out LoRA is identical on LTX-2 and LTX-2.3, and a video-only one even matches LTX-Video 13B) the metadata
and the file name choose among the candidates the keys allow, and the confidence says how decisive that was.
"""

import json
import re
from dataclasses import dataclass, field

from tools.inspect.keys import Layout

LTX2_AUDIO = {"audio_attn1", "audio_attn2", "audio_ff", "audio_to_video_attn", "video_to_audio_attn"}
# Top-level LTX-2.3-only modules, in both the native and the diffusers spelling: prompt AdaLN, and the per-modality
# text projections (ltx-core `text_embedding_projection.{video,audio}_aggregate_embed`, diffusers
# `connectors.{video,audio}_text_proj_in`).
LTX23_TOP = re.compile(r"^(audio_)?prompt_adaln(_single)?\.|(?:^|\.)(video|audio)_(aggregate_embed|text_proj_in)$")
# LTX-2-only: the caption projection inside the transformer, and the single text projection shared by both
# modalities (ltx-core `text_embedding_projection.aggregate_embed`, diffusers `connectors.text_proj_in`).
LTX2_TOP = re.compile(r"^(audio_)?caption_projection\.|(?:^|\.)(aggregate_embed|text_proj_in)$")
VERSIONS = {"ltx-2": "2", "ltx-2.3": "2.3", "ltx-2.5": "2.5", "ltx-video": "0.9.x"}
LTX2_FAMILY = "ltx-2.x"
UNDECIDED_23_25 = "no metadata or file name says 2.3 or 2.5: taken as 2.3, the version such files were made for first"
LTX2_VERSIONS = {"ltx-2", "ltx-2.3", "ltx-2.5"}
# Architecture ids that name the LTX-2 family, not one version: the musubi-tuner LTX fork writes
# modelspec.architecture "LTX2/lora" and ss_base_model_version "ltx2_v1" whether it trained on LTX-2 or LTX-2.3
# (its default), and ai-toolkit writes ss_base_model_version "ltx2" for its LTX-2, 2.3 and 2.5 models alike.
LTX2_FAMILY_ID = re.compile(r"^ltx2(?:_v\d+)?(?:/\w+)?$", re.IGNORECASE)
LTX_RELEASED_VARIANT = {"ltx-2": "19b", "ltx-2.3": "22b", "ltx-2.5": "22b"}
# How much each source's word counts when the keys leave a choice.
W_LORAPORT, W_MODELSPEC, W_CONFIG, W_NAME = 1.0, 0.9, 0.85, 0.75


@dataclass
class Guess:
    family: str
    variant: str | None = None
    confidence: float = 0.0
    evidence: list[str] = field(default_factory=list)
    candidates: set[str] = field(default_factory=set)  # non-empty: the keys allow several families


@dataclass
class Hint:
    family: str
    variant: str | None
    weight: float
    source: str  # "metadata modelspec.architecture = 'ltx-2.3/lora'"


def classify_text(text: str) -> tuple[str, str | None] | None:
    """A family (and variant) named in free text: a model id, an architecture string, a file name."""
    s = text.lower()
    if re.search(r"ltx[-_ ]?(?:v|video)?[-_ ]?2[._-]?3(?!\d)", s):
        return "ltx-2.3", "tiny" if "tiny" in s else None
    if re.search(r"ltx[-_ ]?(?:v|video)?[-_ ]?2[._-]?5(?!\d)", s):
        return "ltx-2.5", "tiny" if "tiny" in s else None
    if re.search(r"ltx[-_ ]?(?:v|video)?[-_ ]?2[._]0(?!\d)", s):
        return "ltx-2", "tiny" if "tiny" in s else None  # "2.0": how ai-toolkit and musubi name LTX-2
    if re.search(r"ltx[-_ ]?(?:v|video)?[-_ ]?2[._]\d", s):
        return None  # a later LTX-2.x: not a family this inspector knows
    if re.search(r"ltx[-_ ]?(?:v|video)?[-_ ]?2(?![\d.b])", s):
        return "ltx-2", "tiny" if "tiny" in s else None
    if re.search(r"ltx[-_ ]?video|ltxv", s):
        return "ltx-video", "13b" if "13b" in s else "2b" if "2b" in s else None
    if re.search(r"(?<![a-z])wan(?:[-_ .]?2|video|[-_ ]|$)", s):
        return "wan", "14b" if "14b" in s else "1.3b" if re.search(r"1[._]3b", s) else None
    if "hunyuan" in s:
        return "hunyuan-video", None
    if re.search(r"(?<![a-z])flux", s):
        return "flux", None
    if re.search(r"sdxl|sd_xl|stable[-_ ]diffusion[-_ ]xl", s):
        return "sdxl", None
    if re.search(r"sd[-_ ]?v?1[._-]?5|sd_v1|stable[-_ ]diffusion[-_ ]v?1", s):
        return "sd1", None
    for name, pattern in OTHER_MODELS:
        if re.search(pattern, s):
            return OTHER, name
    return None


OTHER = "other"  # a model named in the metadata or file name that loraport knows of but does not migrate
# (name, pattern) as the trainers' architecture ids and common file names spell them.
OTHER_MODELS = [
    ("qwen-image", r"qwen[-_ ]?image"), ("stable-diffusion-3", r"(?<![a-z])sd[-_ ]?3|stable[-_ ]diffusion[-_ ]3"),
    ("stable-diffusion-2", r"(?<![a-z])sd[-_ ]?v?2[._-]?[01]|stable[-_ ]diffusion[-_ ]v?2"),
    ("cogvideox", r"cogvideo"), ("mochi", r"(?<![a-z])mochi"), ("hidream", r"hidream"), ("z-image", r"z[-_ ]image"),
    ("kandinsky", r"kandinsky"), ("cosmos", r"(?<![a-z])cosmos"), ("framepack", r"framepack"), ("pixart", r"pixart"),
    ("sana", r"(?<![a-z])sana(?![a-z])"), ("lumina", r"lumina"), ("chroma", r"(?<![a-z])chroma(?![a-z])"),
    ("auraflow", r"aura[-_ ]?flow"),
]


def metadata_hints(metadata: dict[str, str], file_name: str, adapter_config: dict | None) -> list[Hint]:
    hints: list[Hint] = []

    def add(text: str | None, weight: float, source: str) -> None:
        found = classify_text(text) if text else None
        if found:
            hints.append(Hint(found[0], found[1], weight, f"{source} = {text[:80]!r}"))

    for key in ("loraport.base_model", "loraport.base_model_id", "loraport.model_id"):
        add(metadata.get(key), W_LORAPORT, f"loraport metadata {key}")
    version = metadata.get("loraport.base_model_version")
    if version and not any(h.weight == W_LORAPORT for h in hints):
        add(version if "ltx" in version.lower() else f"ltx-{version}", W_LORAPORT, "loraport metadata version")
    for key in ("modelspec.architecture", "ss_base_model_version"):
        value = metadata.get(key)
        if value and LTX2_FAMILY_ID.match(value.strip()):
            hints.append(Hint(LTX2_FAMILY, None, W_MODELSPEC, f"metadata {key} = {value[:80]!r}"))
        else:
            add(value, W_MODELSPEC, f"metadata {key}")
    for key in ("ss_sd_model_name", "base_model", "base_model_name"):
        add(metadata.get(key), W_MODELSPEC, f"metadata {key}")
    converter = metadata.get("ss_ltx_lora_converter") or ""
    if converter.lower().startswith("ltx2_to_ltx23"):  # the musubi LTX fork's shape converter keeps the old keys
        hints.append(Hint("ltx-2", None, W_MODELSPEC, f"metadata ss_ltx_lora_converter = {converter[:40]!r}: an "
                          "LTX-2 LoRA whose shapes were converted for 2.3, not retrained"))
    for key, value in metadata.items():
        if value.startswith("{") and len(value) < 200_000:  # ai-toolkit / trainer configs stored as JSON
            for path in _model_paths_in_json(value):
                add(path, W_CONFIG, f"metadata {key} (model path)")
    if adapter_config:
        base = str(adapter_config.get("base_model_name_or_path") or "")
        add(base, W_CONFIG, "adapter_config base_model_name_or_path")
    for key in ("modelspec.title", "ss_output_name", "name"):
        add(metadata.get(key), W_NAME, f"metadata {key}")
    add(file_name, W_NAME, "file name")
    return hints


_MODEL_PATH_KEYS = ("name_or_path", "pretrained_model_name_or_path", "base_model_name_or_path", "base_model", "arch")


def _model_paths_in_json(value: str) -> list[str]:
    """Every model path or architecture named in a JSON config (a trainer's config, diffusers'
    ``lora_adapter_metadata``), at most 8."""
    try:
        doc = json.loads(value)
    except (ValueError, RecursionError):  # deep nesting raises RecursionError
        return []
    found: list[str] = []
    stack = [doc]
    while stack and len(found) < 8:  # iterative walk: a hostile nested document cannot blow the recursion limit
        node = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                if k in _MODEL_PATH_KEYS and isinstance(v, str):
                    found.append(v)
                else:
                    stack.append(v)
        elif isinstance(node, list):
            stack.extend(node)
    return found


def structural_guess(layout: Layout) -> Guess:
    """What the keys alone say."""
    stacks: dict[str, set[int]] = {}
    inner: set[str] = set()
    for m in layout.modules.values():
        if m.stack:
            stacks.setdefault(m.stack[0], set()).add(m.stack[1])
            inner.add(m.stack[2])
    tops = [m.path for m in layout.modules.values() if not m.stack]
    if stacks.keys() & {"input_blocks", "output_blocks", "middle_block", "down_blocks", "up_blocks", "mid_block"}:
        return _sd_guess(layout)
    if stacks.keys() & {"double_blocks", "single_blocks", "single_transformer_blocks"}:
        return _dit_guess(layout, stacks)
    if "blocks" in stacks:
        return _wan_guess(layout, stacks)
    if "transformer_blocks" in stacks or tops:
        return _ltx_guess(layout, stacks.get("transformer_blocks", set()), inner, tops)
    return Guess("unknown", confidence=0.0, evidence=["no adapted module matches a known model layout"])


def _width(layout: Layout, pattern: str) -> tuple[int, int] | None:
    rx = re.compile(pattern)
    for m in layout.modules.values():
        if rx.search(m.path) and m.widths:
            return m.widths
    return None


def video_width(layout: Layout) -> int | None:
    """The video stream's width: out features of a block's video attention (attn1, else attn2) or feed-forward.
    Only transformer_blocks count: the text connectors' own attn1 (LTX-2: 3840 wide) says nothing about it.
    Returns at the first attn1 to_q / to_out.0 (block 0's, in file order): headers have thousands of modules."""
    found: dict[str, int] = {}
    for m in layout.modules.values():
        stack = m.stack
        if not stack or stack[0] != "transformer_blocks" or stack[2] not in _WIDTH_LAYERS:
            continue
        widths = m.widths  # to_q, to_out.0 and ff.net.2 all write the stream's width
        if widths:
            kind = _WIDTH_LAYERS[stack[2]]
            if kind == "attn1":
                return widths[0]
            found.setdefault(kind, widths[0])
    return found.get("attn2") or found.get("ff")


_WIDTH_LAYERS = {"attn1.to_q": "attn1", "attn1.to_out.0": "attn1", "attn2.to_q": "attn2", "attn2.to_out.0": "attn2",
                 "ff.net.2": "ff"}


def _ltx_guess(layout: Layout, blocks: set[int], inner: set[str], tops: list[str]) -> Guess:
    families = {p.split(".")[0] for p in inner}
    n_blocks = max(blocks) + 1 if blocks else 0
    width = video_width(layout)
    # Gated attention: in the blocks, and in 2.3's text connectors (top-level: transformer_1d_blocks.N.attn1).
    gated = any(p.endswith("to_gate_logits") for p in inner) or any(t.endswith("to_gate_logits") for t in tops)
    if gated or any(LTX23_TOP.search(t) for t in tops):
        marker = "to_gate_logits" if gated else "prompt AdaLN / text projection"
        # LTX-2.5 kept 2.3's gated attention and prompt AdaLN: the keys say "2.3 or 2.5", metadata decides;
        # without any, 2.3 (the version such files were made for until 2.5 shipped), a little less sure.
        return Guess("ltx-2.3", _ltx_variant("ltx-2.3", width), 0.8,
                     [f"{marker} LoRA layers exist in LTX-2.3 and LTX-2.5, not in LTX-2; nothing else in the "
                      "keys tells 2.3 from 2.5"], {"ltx-2.3", "ltx-2.5"})
    ltx2_tops = [t for t in tops if LTX2_TOP.search(t)]
    # caption_projection alone is no proof: LTX-Video 0.9, PixArt, Sana and Latte have one too. With the audio
    # branch or LTX-2's shared text projection (aggregate_embed / text_proj_in) it is LTX-2; at 4096 wide, video
    # only, it is LTX-2 or LTX-Video 13B (neither is 2.3); at another width it is no LTX-2 marker at all.
    sure = any(t.endswith(("aggregate_embed", "text_proj_in")) or t.startswith("audio_") for t in ltx2_tops)
    if ltx2_tops and (families & LTX2_AUDIO or sure):
        return Guess("ltx-2", _ltx_variant("ltx-2", width), 0.9,
                     ["caption projection / single text projection (aggregate_embed) layers exist in LTX-2; "
                      "LTX-2.3 replaced them with per-modality text projections"])
    if ltx2_tops and width == 4096:
        return Guess("ltx-2", "19b", 0.6,
                     ["a caption projection at 4096 wide, video only: LTX-2 (LTX-2.3 has none) or LTX-Video 13B, "
                      "which has one too; neither is 2.3"], {"ltx-2", "ltx-video"})
    if families & LTX2_AUDIO:
        ev = [f"audio / cross-modal attention ({', '.join(sorted(families & LTX2_AUDIO))}) exists only in LTX-2, "
              f"2.3 and 2.5; with q/k/v/out targets their keys and shapes are identical, so the keys cannot tell "
              f"them apart"]
        return Guess("ltx-2.x", _ltx_variant(None, width), 0.9, ev, {"ltx-2", "ltx-2.3", "ltx-2.5"})
    if width == 2048 and n_blocks <= 28:
        return Guess("ltx-video", "2b", 0.85,
                     [f"video attention only, {n_blocks} blocks x 2048 wide: the LTX-Video 2B layout"])
    if width == 4096 and n_blocks <= 48:
        ev = [f"video attention only, {n_blocks} blocks x 4096 wide: the same layout in LTX-2, LTX-2.3 and "
              "LTX-Video 13B; the keys cannot tell them apart"]
        return Guess("ltx-2.x", None, 0.5, ev, {"ltx-2", "ltx-2.3", "ltx-2.5", "ltx-video"})
    if width is None and not n_blocks:
        ev = [f"no LTX block or layer among its {len(layout.modules)} adapted modules (e.g. {tops[0][:80]!r})"]
    elif width is None:
        ev = [f"transformer_blocks over {n_blocks} blocks, but no attn1 / attn2 / ff layer of an LTX block: "
              "another model's names (Qwen-Image, SD3 and others also call their blocks transformer_blocks)"]
    else:
        ev = [f"transformer_blocks attention at width {width} over {n_blocks} blocks: not a released LTX width "
              "(CogVideoX, Mochi, PixArt and Sana use the same names)"]
    return Guess("unknown", None, 0.0, ev, {"ltx-2", "ltx-2.3", "ltx-2.5", "ltx-video"})


def _ltx_variant(family: str | None, width: int | None) -> str | None:
    if width is not None and width != 4096:
        return f"custom ({width} wide)"
    return LTX_RELEASED_VARIANT.get(family) if family else None


def _wan_guess(layout: Layout, stacks: dict[str, set[int]]) -> Guess:
    n = max(stacks["blocks"]) + 1
    w = _width(layout, r"\.(self_attn\.q|attn1\.to_q)$") or _width(layout, r"\.(self_attn|attn1)\.")
    width = w[0] if w else None
    size = {1536: "1.3b", 5120: "14b", 3072: "5b"}.get(width)
    i2v = any(re.search(r"(k_img|v_img|add_k_proj)", p) for p in layout.modules)
    variant = "-".join(x for x in (size, "i2v" if i2v else None) if x) or None
    ev = [f"Wan block layout (blocks.N.self_attn / cross_attn / ffn), {n} blocks x {width} wide"]
    if i2v:
        ev.append("image cross-attention (k_img / v_img) = image-to-video model")
    return Guess("wan", variant, 0.95 if size else 0.8, ev)


def _dit_guess(layout: Layout, stacks: dict[str, set[int]]) -> Guess:
    double = max(stacks.get("double_blocks", stacks.get("transformer_blocks", {0}))) + 1
    single = max(stacks.get("single_blocks", stacks.get("single_transformer_blocks", {0}))) + 1
    paths = " ".join(layout.modules)
    hunyuan_names = re.search(r"img_attn_qkv|img_mlp\.fc1|img_mod\.linear|individual_token_refiner", paths)
    flux_names = re.search(r"img_attn\.qkv|img_mlp\.0|img_mod\.lin(?!e)", paths)
    if double > 19 or single > 38 or (hunyuan_names and layout.convention != "kohya"):
        why = "img_attn_qkv / img_mlp.fc1 names" if hunyuan_names else f"{double} double + {single} single blocks"
        return Guess("hunyuan-video", None, 0.9, [f"HunyuanVideo layout ({why}; Flux has 19 + 38)"])
    conf = 0.9 if flux_names else 0.75
    return Guess("flux", None, conf, [f"Flux double/single-block layout, up to {double} + {single} blocks (19 + 38 "
                                      "in Flux.1; HunyuanVideo has 20 + 40)"])


def _sd_guess(layout: Layout) -> Guess:
    paths = list(layout.modules)
    if any(p.startswith(("text_encoder2", "text_encoder_2")) for p in paths):
        return Guess("sdxl", None, 0.95, ["a second text encoder (lora_te2 / text_encoder_2): SDXL"])
    cross = _width(layout, r"attn2\.to_k$")
    if cross and cross[1] == 2048:
        return Guess("sdxl", None, 0.9, ["UNet cross-attention reads 2048-wide text features: SDXL"])
    if cross and cross[1] == 768:
        return Guess("sd1", None, 0.9, ["UNet cross-attention reads 768-wide text features: SD 1.x"])
    return Guess("unknown", None, 0.3, ["a Stable Diffusion UNet layout of no known width (SD 2.x?)"],
                 {"sdxl", "sd1"})


def identify(layout: Layout, metadata: dict[str, str], file_name: str, adapter_config: dict | None) -> Guess:
    """Combine the keys with the metadata and file name; every piece of evidence used is listed."""
    guess = structural_guess(layout)
    hints = metadata_hints(metadata, file_name, adapter_config)
    for h in [h for h in hints if h.family == LTX2_FAMILY]:
        _family_hint(guess, h)
    hints = [h for h in hints if h.family != LTX2_FAMILY]
    open_keys = guess.family == "unknown"  # the keys match no known model: whatever the metadata names may be it
    if not guess.candidates and not open_keys:
        for h in hints:
            if h.family == guess.family:
                guess.evidence.append(f"{h.source} agrees")
                guess.confidence = max(guess.confidence, min(1.0, h.weight + 0.05))
                if h.variant == "tiny" and not _real_width(layout):
                    guess.variant = "tiny"
            else:
                guess.evidence.append(f"{h.source} says {_named(h)}, but the keys say {guess.family}; trusting "
                                      "the keys")
                guess.confidence = min(guess.confidence, 0.7)
        return guess
    usable = [h for h in hints if open_keys or h.family in guess.candidates]
    for h in hints:
        if h not in usable:
            guess.evidence.append(f"{h.source} says {_named(h)}, which these keys rule out; ignored")
    if not usable:
        if guess.family == "ltx-2.3" and guess.candidates == {"ltx-2.3", "ltx-2.5"}:
            guess.evidence.append(UNDECIDED_23_25)
        return guess
    best = max(usable, key=lambda h: h.weight)
    rivals = {h.family for h in usable} - {best.family}
    structure_known = guess.family != "unknown"
    guess.evidence.append(f"{best.source} says {_named(best)}")
    guess.family = best.family
    named = None if best.variant == "tiny" and _real_width(layout) else best.variant
    guess.variant = named or (guess.variant if guess.variant and guess.variant.startswith("custom")
                              else LTX_RELEASED_VARIANT.get(best.family))
    if best.family == "ltx-video":
        guess.variant = "13b"  # the only LTX-Video size that shares the 48 x 4096 layout
    # loraport's own export metadata is authoritative: we wrote it, next to the weights it describes.
    trusted = structure_known or best.weight >= W_LORAPORT
    guess.confidence = best.weight if trusted else round(best.weight * 0.6, 2)
    if rivals:
        weaker = [h for h in usable if h.family in rivals]
        guess.evidence += [f"but {h.source} says {_named(h)}" for h in weaker]
        guess.confidence = round(guess.confidence - 0.25, 2)
    return guess


def _named(h: Hint) -> str:
    return h.variant or "another model" if h.family == OTHER else h.family


def _real_width(layout: Layout) -> bool:
    """The layers are as wide as the released models' (4096): a "tiny" in a name is a word, not our tiny twin."""
    return video_width(layout) == 4096


def _family_hint(guess: Guess, h: Hint) -> None:
    """An id that names the LTX-2 family but no version: it rules out other models (LTX-Video 13B shares a
    video-only LoRA's keys), never picks LTX-2 over 2.3 or 2.5."""
    in_family = guess.family in LTX2_VERSIONS | {LTX2_FAMILY} or bool(guess.candidates & LTX2_VERSIONS)
    if not in_family:
        guess.evidence.append(f"{h.source} names the LTX-2 family, but the keys say {guess.family}; trusting the keys")
        guess.confidence = min(guess.confidence, 0.7)
        return
    guess.evidence.append(f"{h.source} names the LTX-2 family but not which version: trainers write it for "
                          "LTX-2, 2.3 and 2.5 alike")
    if guess.candidates:
        guess.candidates &= LTX2_VERSIONS
    if guess.family == "unknown":
        guess.family, guess.confidence = LTX2_FAMILY, round(h.weight * 0.6, 2)
    elif guess.family == LTX2_FAMILY:
        guess.confidence = max(guess.confidence, 0.7)
    elif guess.candidates == {guess.family}:  # e.g. LTX-2 once LTX-Video 13B is ruled out
        guess.confidence = max(guess.confidence, 0.85)


def version_of(family: str) -> str | None:
    return VERSIONS.get(family)
