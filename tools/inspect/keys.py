"""Key layouts: which convention wrote the file, what kind of adapter it is, and which modules it adapts.

Every convention of docs/ltx.md's "LoRA file formats" ends up as one ``Layout``: a map from the module path
(prefix removed, kohya underscores decoded back to dots, e.g. ``transformer_blocks.3.attn1.to_q``) to the tensors
that adapt it, with rank and (out, in) widths read from the header shapes alone.
"""

import re
from collections import Counter
from dataclasses import dataclass, field

from tools.inspect.safetensors_header import TensorEntry

# (prefix, convention). Order matters: the longest prefixes first.
PREFIXES = [
    ("base_model.model.", "peft"),
    ("model.diffusion_model.", "comfy"),
    ("diffusion_model.", "comfy"),
    ("transformer.", "diffusers"),
    ("unet.", "diffusers"),
    ("text_encoder_2.", "diffusers"),
    ("text_encoder.", "diffusers"),
    ("lora_unet_", "kohya"),
    ("lora_transformer_", "kohya"),
    ("lora_te1_", "kohya"),
    ("lora_te2_", "kohya"),
    ("lora_te_", "kohya"),
    ("lycoris_", "lycoris"),
]
# kohya keys flatten the module path with "_"; these names contain "_" themselves and are rebuilt whole.
_VOCAB = {
    "transformer_blocks", "single_transformer_blocks", "audio_to_video_attn", "video_to_audio_attn", "audio_attn1",
    "audio_attn2", "audio_ff", "to_q", "to_k", "to_v", "to_out", "to_gate_logits", "add_q_proj", "add_k_proj",
    "add_v_proj", "to_add_out", "ff_context", "self_attn", "cross_attn", "k_img", "v_img", "norm_k_img",
    "double_blocks", "single_blocks", "img_attn_qkv", "img_attn_proj", "txt_attn_qkv", "txt_attn_proj", "img_mlp",
    "txt_mlp", "img_mod", "txt_mod", "input_blocks", "middle_block", "output_blocks", "down_blocks", "up_blocks",
    "mid_block", "proj_in", "proj_out", "prompt_adaln_single", "audio_prompt_adaln_single", "adaln_single",
    "audio_adaln_single", "prompt_adaln", "audio_prompt_adaln", "caption_projection", "audio_caption_projection",
    "time_embed", "audio_time_embed", "text_model", "q_proj", "k_proj", "v_proj", "out_proj", "linear_1",
    "linear_2", "patchify_proj", "audio_patchify_proj", "video_aggregate_embed", "audio_aggregate_embed",
    "time_embedding", "text_embedding", "time_projection", "transformer_blocks", "text_proj_in",
    # LTX-2.x (ltx-core names, as the musubi-tuner LTX fork writes them): text connectors, cross-modal AdaLN
    "embeddings_connector", "video_embeddings_connector", "audio_embeddings_connector", "transformer_1d_blocks",
    "text_embedding_projection", "video_text_proj_in", "audio_text_proj_in", "scale_shift_table",
    "av_ca_video_scale_shift_adaln_single", "av_ca_audio_scale_shift_adaln_single", "av_ca_a2v_gate_adaln_single",
    "av_ca_v2a_gate_adaln_single", "audio_proj_in", "audio_proj_out", "audio_time_embed",
}
_VOCAB_SPAN = max(len(v.split("_")) for v in _VOCAB)  # longest known name, in "_"-separated tokens
_ROLES = [
    (re.compile(r"\.lora_A(?:\.\w+)?\.weight$"), "A"),
    (re.compile(r"\.lora_B(?:\.\w+)?\.weight$"), "B"),
    (re.compile(r"\.lora_down\.weight$"), "A"),
    (re.compile(r"\.lora_up\.weight$"), "B"),
    (re.compile(r"\.lora\.down\.weight$"), "A"),
    (re.compile(r"\.lora\.up\.weight$"), "B"),
    (re.compile(r"\.lora_linear_layer\.down\.weight$"), "A"),  # diffusers' older LoRA layers (SD 1.x / XL era)
    (re.compile(r"\.lora_linear_layer\.up\.weight$"), "B"),
    (re.compile(r"\.alpha$"), "alpha"),
    (re.compile(r"\.dora_scale$"), "dora"),
    (re.compile(r"\.lora_magnitude_vector(?:\.\w+)?(?:\.weight)?$"), "dora"),
    (re.compile(r"\.(lokr_w1_a|lokr_w1_b|lokr_w2_a|lokr_w2_b|lokr_w1|lokr_w2|lokr_t2)$"), "lokr"),
    (re.compile(r"\.(hada_w1_a|hada_w1_b|hada_w2_a|hada_w2_b|hada_t1|hada_t2)$"), "loha"),
    (re.compile(r"\.diff_b$"), "diff_b"),
    (re.compile(r"\.diff$"), "diff"),
]
# diffusers' oldest format, attention processors: <attn>.processor.to_q_lora.down.weight adapts <attn>.to_q
_PROCESSOR = re.compile(r"\.processor\.(to_q|to_k|to_v|to_out)_lora\.(down|up)\.weight$")
_COMMON_MID = {"lora_A": "A", "lora_B": "B", "lora_down": "A", "lora_up": "B"}  # <module>.<this>.weight
_STACK_NAMES = frozenset({"transformer_blocks", "single_transformer_blocks", "double_blocks", "single_blocks", "blocks",
                          "input_blocks", "output_blocks", "middle_block", "down_blocks", "up_blocks", "mid_block"})
_STACK = re.compile(rf"^({'|'.join(sorted(_STACK_NAMES))})\.(\d+)\.(.+)$")  # only for paths with a newline in them


def _stack_of(path: str) -> tuple[str, int, str] | None:
    """``_STACK``'s split, by two partitions (a regex match per module was a visible cost on 1152-module headers);
    a path with a newline, where ``.``/``$`` differ from a plain split, goes to the regex itself."""
    if "\n" in path:
        m = _STACK.match(path)
        return (m.group(1), int(m.group(2)), m.group(3)) if m else None
    head, _, rest = path.partition(".")
    if head not in _STACK_NAMES:
        return None
    idx, dot, inner = rest.partition(".")
    if not (dot and inner and idx.isdecimal()):  # \d matches exactly the str.isdecimal() characters
        return None
    return head, int(idx), inner


@dataclass
class Module:
    """One adapted Linear (or conv): its tensors by role, e.g. {"A": entry, "B": entry, "alpha": entry}."""

    path: str
    parts: dict[str, TensorEntry] = field(default_factory=dict)
    # (block stack, block index, path inside the block), or None for a top-level module
    stack: tuple[str, int, str] | None = field(init=False)

    def __post_init__(self) -> None:
        self.stack = _stack_of(self.path)

    @property
    def rank(self) -> int | None:
        p = self.parts
        if "A" in p and len(p["A"].shape) >= 2:
            return p["A"].shape[0]  # lora_A / lora_down: (r, in) or (r, in, kh, kw)
        if "lokr_w2_a" in p:
            return p["lokr_w2_a"].shape[1]  # (out_k, r)
        if "lokr_w1_a" in p:
            return p["lokr_w1_a"].shape[1]
        if "hada_w1_b" in p:
            return p["hada_w1_b"].shape[0]  # (r, in)
        return None

    @property
    def widths(self) -> tuple[int, int] | None:
        """(out_features, in_features) of the base layer this module adapts."""
        p = self.parts
        if "A" in p and "B" in p and len(p["A"].shape) >= 2:
            return p["B"].shape[0], p["A"].shape[1]
        if "hada_w1_a" in p and "hada_w1_b" in p:
            return p["hada_w1_a"].shape[0], p["hada_w1_b"].shape[1]
        if "diff" in p and len(p["diff"].shape) >= 2:
            return p["diff"].shape[0], p["diff"].shape[1]
        w1, w2 = _kron_factor(p, "lokr_w1"), _kron_factor(p, "lokr_w2")
        if w1 and w2:  # LoKr: delta W = kron(w1, w2), so each width is a product
            return w1[0] * w2[0], w1[1] * w2[1]
        return None


def _kron_factor(p: dict[str, TensorEntry], name: str) -> tuple[int, int] | None:
    if name in p and len(p[name].shape) >= 2:
        return p[name].shape[0], p[name].shape[1]
    a, b = p.get(f"{name}_a"), p.get(f"{name}_b")
    if a is not None and b is not None and len(a.shape) >= 2 and len(b.shape) >= 2:
        return a.shape[0], b.shape[1]
    return None


@dataclass
class Layout:
    convention: str
    prefix: str | None
    kind: str
    modules: dict[str, Module]
    other_keys: list[str]  # tensors that are no adapter part (full weights, biases): listed, not interpreted


def parse_layout(tensors: list[TensorEntry]) -> Layout:
    modules: dict[str, Module] = {}
    by_key: dict[str, Module] = {}  # raw module key -> Module: prefix and kohya decoding run once per module
    found_prefixes: list[str] = []  # one per module key; counted once at the end (Counter += per key was the
    found_conventions: list[str] = []  # largest cost of this function in the profile)
    found_roles: list[str] = []
    other = []
    for t in tensors:
        found = _split_role(t.name)
        if found is None:
            other.append(t.name)
            continue
        module_key, role = found
        module = by_key.get(module_key)
        if module is None:
            prefix, convention, path = _strip_prefix(module_key)
            found_prefixes.append(prefix)
            found_conventions.append(convention)
            module = by_key[module_key] = modules.setdefault(path, Module(path))
        found_roles.append(role)
        module.parts[role] = t
    roles: Counter[str] = Counter()
    for role, n in Counter(found_roles).items():  # lokr_w1_a, hada_t1, ... count as their kind
        roles[role.split("_")[0] if role.startswith(("lokr", "hada")) else role] += n
    kind = _kind(roles)
    conventions = Counter(found_conventions)
    convention = conventions.most_common(1)[0][0] if conventions else "unknown"
    if kind in ("lokr", "loha") and convention == "kohya":
        convention = "lycoris"  # LyCORIS writes kohya-style names with its own tensor names
    prefixes = Counter(found_prefixes)
    prefix = prefixes.most_common(1)[0][0] if prefixes else None
    return Layout(convention, prefix or None, kind, modules, other)


def _split_role(key: str) -> tuple[str, str] | None:
    # Fast path for the usual names (.lora_A.weight, .lora_up.weight, .alpha): two rpartitions and a dict lookup
    # instead of trying each suffix; the patterns below cover the rest.
    head, dot, last = key.rpartition(".")
    if dot and last == "weight":
        module_key, dot, mid = head.rpartition(".")
        role = _COMMON_MID.get(mid)
        if dot and role:
            return module_key, role
    elif dot and last == "alpha":
        return head, "alpha"
    if ".processor." in key and (m := _PROCESSOR.search(key)):
        proj = "to_out.0" if m.group(1) == "to_out" else m.group(1)
        return f"{key[: m.start()]}.{proj}", "A" if m.group(2) == "down" else "B"
    for pattern, role in _ROLES:
        m = pattern.search(key)
        if m:
            if role in ("lokr", "loha"):
                role = m.group(1)
            return key[: m.start()], role
    return None


def _strip_prefix(module_key: str) -> tuple[str, str, str]:
    for prefix, convention in PREFIXES:
        if module_key.startswith(prefix):
            rest = module_key[len(prefix):]
            if convention in ("kohya", "lycoris"):
                rest = decode_kohya(rest)
                # The musubi-tuner LTX fork wraps the transformer, so its training-format keys read
                # lora_unet_model_transformer_blocks_0_attn1_to_k: "model." is the wrapper, not the module path.
                rest = rest.removeprefix("model.")
                if prefix.startswith("lora_te"):
                    rest = f"text_encoder{prefix[7:].rstrip('_')}.{rest}"
            elif prefix.startswith("text_encoder"):
                rest = prefix + rest
            return prefix, convention, rest
    # Bare peft keys (no wrapper prefix), as some trainers save them.
    return "", "peft", module_key


def decode_kohya(flat: str) -> str:
    """``transformer_blocks_0_attn1_to_out_0`` -> ``transformer_blocks.0.attn1.to_out.0`` (longest known names)."""
    tokens = flat.split("_")
    out, i = [], 0
    while i < len(tokens):
        for j in range(min(len(tokens), i + _VOCAB_SPAN), i, -1):
            joined = "_".join(tokens[i:j])
            if j - i == 1 or joined in _VOCAB:
                out.append(joined)
                i = j
                break
    return ".".join(out)


def _kind(roles: Counter) -> str:
    if roles["lokr"]:
        return "lokr"
    if roles["hada"]:
        return "loha"
    if roles["A"] or roles["B"]:
        return "dora" if roles["dora"] else "lora"
    if roles["diff"] or roles["diff_b"]:
        return "diff"
    return "unknown"
