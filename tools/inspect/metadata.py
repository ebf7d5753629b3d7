"""What a LoRA's metadata says about its training: tool, steps, learning rate, rank, alpha, trigger words.

Sources, as found in the wild (docs/ltx.md, "Metadata in the wild"): kohya / musubi ``ss_*``, ``modelspec.*``,
ai-toolkit ``name`` / ``software`` / ``training_info`` (JSON), diffusers ``format`` + ``lora_adapter_metadata``,
peft ``adapter_config.json``, the Lightricks trainer's IC-LoRA ``reference_*_scale_factor`` keys, and loraport's
own ``loraport.*`` keys (docs/CONTRACTS.md). Metadata is data: it is parsed, never executed or obeyed.
"""

import json
import re

from trainer.ic_marks import ic_marker

MAX_VALUE_CHARS = 300
MAX_KEYS = 200
_REFERENCE = re.compile(r"^(?:ss_)?(reference_.*(?:scale|downscale)_factor)$")
# "trigger word: ohwx", "Trigger phrase = zxq man", "triggers: sks" in a free-text comment or description
_TRIGGER_SAID = re.compile(r"(?<![a-z])trigger(?:[ _-]?(?:word|phrase|token))?s?\s*[:=]\s*([^\n,;.]{1,100})",
                           re.IGNORECASE)
_TRIGGER_KEYS = ("loraport.trigger_word", "modelspec.trigger_phrase", "trigger_word", "trigger_phrase",
                 "ss_trigger_word", "instance_prompt")


def cut_metadata(metadata: dict[str, str]) -> dict[str, str]:
    """The raw metadata with long values (tag frequencies, whole configs) cut to a readable length, and at most
    MAX_KEYS keys (trainers write tens; a header can hold millions, which would bloat every report)."""
    out = {}
    for k, v in list(metadata.items())[:MAX_KEYS]:
        out[k[:MAX_VALUE_CHARS]] = v if len(v) <= MAX_VALUE_CHARS else f"{v[:MAX_VALUE_CHARS]}... ({len(v)} chars)"
    if len(metadata) > MAX_KEYS:
        out["..."] = f"{len(metadata) - MAX_KEYS} more keys not shown"
    return out


def json_doc(value: str | None):
    """A metadata value parsed as JSON; None when it is empty, over a million characters, not JSON, or nested
    deeper than the parser's recursion limit (a hostile ``[[[[...`` raises RecursionError, not ValueError)."""
    if not value or len(value) > 1_000_000:
        return None
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        return None


def _num(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(str(value).strip().split(",")[0])
    except ValueError:
        return None
    return x if x == x and abs(x) != float("inf") else None


def _int(value) -> int | None:
    x = _num(value)
    return int(x) if x is not None else None


def lora_config(metadata: dict[str, str], adapter_config: dict | None) -> dict:
    """peft LoraConfig fields (r, lora_alpha, ...) from diffusers' metadata or a peft folder's config."""
    doc = json_doc(metadata.get("lora_adapter_metadata"))
    if isinstance(doc, dict):
        return doc
    return adapter_config or {}


def ic_lora_factors(metadata: dict[str, str]) -> dict[str, float] | None:
    """The Lightricks trainer's IC-LoRA keys (reference video scale factors), or None for a plain LoRA. The
    musubi-tuner LTX fork's ``ss_reference_downscale_factor`` counts as ``reference_downscale_factor``."""
    found: dict[str, float] = {}
    for k, v in sorted(metadata.items(), key=lambda kv: kv[0].startswith("ss_")):  # the plain key wins
        m = _REFERENCE.match(k)
        x = _num(v) if m else None
        if m and x is not None:
            found.setdefault(m.group(1), x)
    return found or None


def ic_lora_info(metadata: dict[str, str], names: list[str]) -> tuple[dict[str, float] | None, str]:
    """(reference factors, what says it is an IC-LoRA), or (None, "") for a plain LoRA.

    ltx-trainer writes the factors only when they differ from 1, so an IC-LoRA may carry none: then a training
    flag (loraport's strategy, the musubi fork's ``ss_*_training``) or an IC-LoRA file name marks it
    (``trainer.ic_marks.ic_marker``, the rule Studio follows too), and the factor is the pipelines' default of 1."""
    factors = ic_lora_factors(metadata)
    if factors:
        return factors, f"metadata {', '.join(sorted(factors))} (reference-video scale factors)"
    marker = ic_marker(metadata, names)
    return ({"reference_downscale_factor": 1.0}, marker) if marker else (None, "")


def training_tool(metadata: dict[str, str], adapter_config: dict | None) -> str | None:
    if any(k.startswith("loraport.") for k in metadata):
        return "loraport"
    software = json_doc(metadata.get("software"))
    if isinstance(software, dict) and software.get("name"):
        return str(software["name"])[:60]
    if any(k.startswith("ss_") for k in metadata):
        return "kohya/musubi"
    if ic_lora_factors(metadata):
        return "ltx-trainer"
    if "lora_adapter_metadata" in metadata or metadata.get("format") == "pt":
        return "diffusers"
    if adapter_config:
        return "peft"
    return None


# ltx-trainer names its checkpoints lora_weights_step_02000.safetensors (and writes no other metadata)
_LTX_TRAINER_FILE = re.compile(r"^lora_weights_step_(\d{5,})\.safetensors$")


def training_info(metadata: dict[str, str], adapter_config: dict | None, file_name: str = "") -> dict:
    """The Training fields of the report, each from the first source that has it (None when none does)."""
    md = metadata
    cfg = lora_config(md, adapter_config)
    info = json_doc(md.get("training_info"))
    ai_step = info.get("step") if isinstance(info, dict) else None
    by_name = _LTX_TRAINER_FILE.match(file_name)
    return {
        "tool": training_tool(md, adapter_config) or ("ltx-trainer" if by_name else None),
        "steps": _first(_int, md.get("loraport.steps"), md.get("ss_max_train_steps"), md.get("ss_steps"), ai_step,
                        by_name.group(1) if by_name else None),
        "learning_rate": _first(_num, md.get("loraport.learning_rate"), md.get("ss_learning_rate"),
                                md.get("ss_unet_lr")),
        "rank": _first(_int, md.get("loraport.rank"), md.get("ss_network_dim"), cfg.get("r")),
        "alpha": _first(_num, md.get("loraport.alpha"), md.get("ss_network_alpha"), cfg.get("lora_alpha")),
        "base_model_version": _first(_text, md.get("loraport.base_model_version"), md.get("loraport.base_model"),
                                     md.get("ss_base_model_version"), md.get("modelspec.architecture")),
        "dataset_size": _first(_int, md.get("loraport.dataset_size"), md.get("ss_num_train_images")),
        "resolution": _first(_text, md.get("loraport.resolution"), md.get("ss_resolution"),
                             md.get("modelspec.resolution")),
    }


def frames(metadata: dict[str, str]) -> int | None:
    return _first(_int, metadata.get("loraport.frames"), metadata.get("ss_frames"), metadata.get("frames"))


def _text(value) -> str | None:
    return str(value)[:100] if value not in (None, "") else None


def _first(convert, *values):
    for v in values:
        x = convert(v)
        if x is not None:
            return x
    return None


def trigger_words(metadata: dict[str, str]) -> list[str]:
    """Explicit trigger keys first, then kohya's dataset folder convention ``<repeats>_<token> <class>``."""
    words: list[str] = []
    for key in _TRIGGER_KEYS:
        if metadata.get(key):
            words.append(metadata[key])
    for key in ("config", "training_config", "ss_datasets"):
        words += json_values(json_doc(metadata.get(key)), ("trigger_word", "trigger_phrase", "class_tokens"))
    for key in ("ss_training_comment", "modelspec.description", "modelspec.usage_hint"):  # "trigger word: ohwx"
        m = _TRIGGER_SAID.search((metadata.get(key) or "")[:MAX_VALUE_CHARS * 10])
        if m:
            words.append(m.group(1).strip(" \"'`"))
    for key in ("ss_tag_frequency", "ss_dataset_dirs"):  # kohya writes the dataset folders into both
        folders = json_doc(metadata.get(key))
        if not isinstance(folders, dict):
            continue
        for folder, tags in folders.items():
            m = re.match(r"^\d+_(\S+)(.*)$", str(folder))
            if m:
                # kohya: "<repeats>_<token> <class>", the token is the trigger; ai-toolkit writes
                # {"1_<trigger>": {"<trigger>": 1}}, the whole trigger phrase as the folder's only tag.
                whole = m.group(1) + m.group(2)
                words.append(whole if isinstance(tags, dict) and whole in tags else m.group(1))
    seen, out = set(), []
    for w in (str(w).strip()[:100] for w in words):
        if w and w.lower() not in seen:
            seen.add(w.lower())
            out.append(w)
    return out[:10]


def json_values(doc, keys: tuple[str, ...]) -> list[str]:
    """Every string value under one of ``keys``, at any depth of a parsed JSON document."""
    found, stack = [], [doc]
    while stack:  # iterative: nesting depth of a hostile document cannot hurt
        node = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                if k in keys and isinstance(v, str):
                    found.append(v)
                else:
                    stack.append(v)
        elif isinstance(node, list):
            stack.extend(node)
    return found
