"""The guided brain's reading of a user message: which tool, with which arguments, or help.

Deterministic and conservative: a request it cannot read gets a short list of what it can do, never a guess.
Only the user's own words are parsed; captions, metadata and tool results never reach this module.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Kind = Literal["tool", "help", "unknown", "skip", "yes", "no", "greeting"]


@dataclass
class Intent:
    kind: Kind
    tool: str | None = None
    args: dict[str, Any] = field(default_factory=dict)


RECIPES = ("character", "style", "motion", "face", "object")
# Words that describe what a LoRA taught -> the recipe for it. Face (IC-LoRA) first: "a person's face" is a face.
DESCRIPTIONS: list[tuple[str, str]] = [
    ("face", r"faces?|identity|ic[- ]?lora|likeness from a reference|face ?swap|headshot"),
    ("character", r"person|people|character|man|woman|girl|boy|guy|actor|actress|someone|celebrity|mascot|"
                  r"human|myself|my (?:wife|husband|friend|son|daughter|dog|cat)"),
    ("object", r"object|product|prop|item|bottle|shoe|sneaker|car|logo|packaging|toy|gadget"),
    ("motion", r"motion|movement|camera|dolly|pan(?:ning)?|zoom|orbit|tracking shot|dance|dancing|walk cycle|"
               r"fpv|drone shot|action|explosion"),
    ("style", r"style|aesthetic|look|painting|painterly|watercolou?r|anime|film grain|colou?r grade|"
              r"art ?style|cinematic look|vhs|claymation"),
]
SETTINGS_WORDS: list[tuple[str, str]] = [
    ("learning_rate", r"learning[ _-]?rate|\blr\b"), ("rank", r"\brank\b"), ("alpha", r"\balpha\b"),
    ("steps", r"\bsteps?\b"), ("resolution", r"resolution|buckets?|\bsize\b"), ("frames", r"\bframes?\b"),
    ("trigger", r"trigger"), ("batch_size", r"batch"), ("schedule", r"schedul"),
    ("first_frame_p", r"first[- ]frame"), ("checkpoint_every", r"checkpoint"),
    ("holdout_fraction", r"hold[- ]?out"), ("targets", r"target modules?|targets"),
]
_NUM = r"(\d+(?:\.\d+)?(?:e-?\d+)?)"
_SET = r"\s*(?:to|=|:|of|at|is)?\s*"
_MEDIA = (".mp4", ".mov", ".webm", ".mkv", ".png", ".jpg", ".jpeg", ".webp", ".zip")

COMMANDS: list[tuple[str, str]] = [
    ("estimate", r"how long|estimate|how much (?:time|disk|space)|what will it cost|cost\b"),
    ("job_status", r"\bstatus\b|progress|how'?s (?:it|the (?:training|job|run)|training) going|is it (?:done|finished)"
                   r"|how far"),
    ("cancel_job", r"\b(?:cancel|abort|kill)\b|\bstop (?:it|the (?:job|training|run))|^stop\b"),
    ("evaluate", r"\bevaluat|how good|test (?:it|the lora)|is it any good|judge|score (?:it|the lora)|did it work"),
    ("export_checkpoint", r"\bexport\b"),
    ("suggest_adjustments", r"\bsuggest|what should i (?:change|do|try)|advice|next run|improve it|how to improve"),
    ("list_my_loras", r"\bmy (?:\w+ )?loras\b|(?:list|show) (?:my )?(?:\w+ )?(?:loras|runs)|previous runs|my runs"),
    ("list_recipes", r"(?:list|show|which|what) (?:the )?recipes|recipes (?:are there|do you have)|^recipes\??$"),
    ("caption_all", r"caption (?:all|every|the (?:whole|entire|rest))|caption everything"),
    ("caption_preview", r"\bcaption|preview captions"),
    ("check_dataset", r"check (?:the |my )?(?:dataset|clips|data)"),
]
START = r"^(?:start|launch|go|train|begin|run it)\b|start (?:the )?training|launch (?:it|the (?:training|run))|" \
        r"let'?s go|train it|kick (?:it|off)|go ahead and train"
RETRAIN = r"\bretrain|\bre-train|train (?:it )?again|same again|again (?:but|with)|\bre-?run\b|another run|" \
          r"(?:try|use|apply|go with) (?:the )?(?:first |second )?suggestion"
EXPLAIN = r"^(?:what|why|how|explain|tell me about|what's)\b|what does|what is|\bexplain\b"
SKIP = r"\bskip\b|don'?t have (?:it|the (?:old )?lora|an? (?:old )?lora)|no old lora|start (?:fresh|from scratch)"
YES = r"^(?:y|yes|yep|yeah|ok|okay|sure|approve|do it|go ahead|sounds good)[.! ]*$"
NO = r"^(?:n|no|nope|reject|don'?t|do not|not now)[.! ]*$"


def parse(text: str) -> list[Intent]:
    """Map one user message to intents, most specific first. Several settings in one message are one call."""
    raw = text.strip()
    low = raw.lower()
    if not low or re.fullmatch(r"help|\?|what can you do\??|commands", low):
        return [Intent("help")]
    if re.search(RETRAIN, low):
        return [_retrain(raw, low)]
    paths = _paths(raw)
    if not paths:
        for tool, pattern in COMMANDS:
            if re.search(pattern, low):
                return [Intent("tool", tool, _command_args(tool, low))]
        if re.search(EXPLAIN, low):
            setting = _setting_named(low)
            if setting or re.search(r"explain|the plan|settings|why", low):
                return [Intent("tool", "explain_settings", {"setting": setting} if setting else {})]
        if re.search(r"^(?:show|review) (?:me )?(?:the )?(?:plan|settings)|^plan\??$", low):
            return [Intent("tool", "explain_settings")]
        if re.search(SKIP, low):
            return [Intent("skip")]
        if re.fullmatch(r"(?:hi|hello|hey|good (?:morning|afternoon|evening))\b.{0,20}", low):
            return [Intent("greeting")]
        if re.fullmatch(YES, low):
            return [Intent("yes")]
        if re.fullmatch(NO, low):
            return [Intent("no")]
    intents = paths
    recipe = recipe_from_text(low)
    if recipe:
        intents.append(Intent("tool", "choose_recipe", {"name": recipe}))
    changes = options_from_text(raw)
    if changes:
        intents.append(Intent("tool", "set_option", {"changes": changes}))
    if not intents and re.search(START, low):
        return [Intent("tool", "launch_training")]
    return intents or [Intent("unknown")]


def recipe_from_text(low: str) -> str | None:
    named = re.search(r"\b(" + "|".join(RECIPES) + r")\s+(?:recipe|lora)\b|recipe\s*(?:to|=|:)?\s*(" +
                      "|".join(RECIPES) + r")\b", low)
    if named:
        return named.group(1) or named.group(2)
    for recipe, words in DESCRIPTIONS:
        if re.search(rf"\b(?:{words})\b", low):
            return recipe
    return None


def options_from_text(raw: str) -> dict[str, str]:
    """Every setting change in the message, as {option: spoken value}; relative values keep their form."""
    t = raw.lower()
    out: dict[str, str] = {}
    if m := re.search(rf"\brank{_SET}(\d+)", t):
        out["rank"] = m.group(1)
    if m := re.search(rf"\balpha{_SET}{_NUM}", t):
        out["alpha"] = m.group(1)
    if m := re.search(r"(\d+(?:\.\d+)?)\s*%\s*(more|fewer|less|extra)\s+(?:training\s+)?steps", t):
        out["steps"] = ("+" if m.group(2) in ("more", "extra") else "-") + m.group(1) + "%"
    elif m := re.search(r"(increase|raise|reduce|lower|cut|decrease) (?:the )?steps by (\d+(?:\.\d+)?)\s*%", t):
        out["steps"] = ("+" if m.group(1) in ("increase", "raise") else "-") + m.group(2) + "%"
    elif re.search(r"double (?:the )?steps|twice as many steps", t):
        out["steps"] = "x2"
    elif re.search(r"halve (?:the )?steps|half (?:the|as many) steps", t):
        out["steps"] = "x0.5"
    elif m := re.search(rf"(\d+)\s*(?:training\s+)?steps\b|\bsteps{_SET}(\d+)", t):
        out["steps"] = m.group(1) or m.group(2)
    if m := re.search(rf"(?:learning[ _-]?rate|\blr){_SET}{_NUM}", t):
        out["learning_rate"] = m.group(1)
    if m := re.search(r"\b(\d{2,5})\s*[x×]\s*(\d{2,5})\b", t):
        out["resolution"] = f"{m.group(1)}x{m.group(2)}"
    if m := re.search(rf"(\d+)\s*frames?\b|\bframes?{_SET}(\d+)", t):
        out["frames"] = m.group(1) or m.group(2)
    if m := re.search(r"trigger(?:\s*(?:word|phrase))?\s*(?:to|=|:|of|is|be)?\s*[\"'`]?([^\s\"'`,.;]+)", raw, re.I):
        out["trigger"] = m.group(1)
    if m := re.search(rf"\bbatch(?:\s*size)?{_SET}(\d+)", t):
        out["batch_size"] = m.group(1)
    if m := re.search(r"checkpoints?\s*every\s*(\d+)", t):
        out["checkpoint_every"] = m.group(1)
    if m := re.search(r"\b(cosine|linear|constant)\b(?=.*schedul)|"
                      r"schedul\w*\s*(?:to|=|:)?\s*(cosine|linear|constant)", t):
        out["schedule"] = m.group(1) or m.group(2)
    if m := re.search(r"\b(tiny-ltx-2\.3|ltx-2\.3|ltx-2)\b(?=.*model)|"
                      r"model\s*(?:to|=|:)?\s*(tiny-ltx-2\.3|ltx-2\.3)", t):
        out["model"] = m.group(1) or m.group(2)
    if m := re.search(rf"\bseed{_SET}(\d+)", t):
        out["seed"] = m.group(1)
    return out


def _retrain(raw: str, low: str) -> Intent:
    args: dict[str, Any] = {"changes": options_from_text(raw)}
    if pick := re.search(r"suggestion\s*#?(\d+)", low):  # "retrain with suggestion 2": the brain fills it in
        args["suggestion"] = int(pick.group(1))
    named = re.search(r"\bmy (\w+) lora\b|\b(\w+) lora again\b|\bthe (\w+) (?:lora|run|one)\b", low)
    word = next((g for g in (named.groups() if named else ()) if g), None)
    recipe = recipe_from_text(f"{word} lora") if word else None
    if recipe and not re.search(r"same again|again but", low):
        args["recipe"] = recipe
    if m := re.search(r"\bjob\s+([0-9a-z][\w-]{3,})", low):
        args["job_id"] = m.group(1)
    return Intent("tool", "retrain_with", args)


def _command_args(tool: str, low: str) -> dict[str, Any]:
    if tool == "list_my_loras":
        recipe = re.search(r"\b(" + "|".join(RECIPES) + r")\b", low)
        return {"recipe": recipe.group(1)} if recipe else {}
    if tool in ("job_status", "cancel_job", "evaluate", "export_checkpoint"):
        job = re.search(r"\bjob\s+([0-9a-z][\w-]{3,})", low)
        return {"job_id": job.group(1)} if job else {}
    if tool == "caption_preview":
        n = re.search(r"caption (\d+)", low)
        return {"n": int(n.group(1))} if n else {}
    return {}


def _setting_named(low: str) -> str | None:
    for name, pattern in SETTINGS_WORDS:
        if re.search(pattern, low):
            return name
    return None


def _paths(raw: str) -> list[Intent]:
    """A .safetensors path is the old LoRA; a folder, zip or media path is the dataset."""
    intents = []
    for groups in re.findall(r"\"([^\"]+)\"|'([^']+)'|(\S+)", raw):
        token = next(g for g in groups if g).rstrip(".,;:!?)")
        if "/" not in token and "\\" not in token and not token.lower().endswith((".safetensors", *_MEDIA)):
            continue
        path = Path(token).expanduser()
        if token.lower().endswith(".safetensors"):
            intents.append(Intent("tool", "inspect_lora", {"path": str(path)}))
        elif token.lower().endswith(_MEDIA) or path.is_dir() or token.startswith(("/", "~", "./", "../")):
            # A path that does not exist still goes to the tool: its error says what was wrong.
            intents.append(Intent("tool", "import_dataset", {"source": str(path)}))
    return intents
