"""The guided brain's reading of a user message: which tools, with which arguments, or which conversational move.

Design: a slot grammar over the one vocabulary, not a trained classifier and not a chain of regexes in a fixed
order. Three kinds of data drive it: the settings vocabulary (``tools.plan.glossary``: names, aliases, units,
choices) read by ``agent.brains.slots``; the recipes' own TOML keywords (``tools.recipes.match_recipe``); and the
phrase families of ``agent.brains.phrases`` (plain cue phrases, longest match wins). A new way of saying
something is one more cue or alias in those tables. A classifier trained at build time would need a corpus we
would have to write ourselves (so it would learn our phrasings, not users'), could not say *why* it picked a
tool, and would blur the one property that matters most here: a setting change never turns into a launch.
The grammar is deterministic, explains itself in tests, and reads a message in well under a millisecond.

Only the user's own words are parsed; captions, metadata and tool results never reach this module.
"""

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agent import words
from agent.brains import phrases as P
from agent.brains.negation import negated
from agent.brains.slots import Reading, normalise, read_settings
from agent.brains.trigger import read_trigger
from tools.plan.gpus import gpu_words
from trainer.media import MEDIA_EXTS

Kind = Literal["tool", "help", "unknown", "skip", "yes", "no", "greeting", "thanks", "next", "story",
               "migrate_help", "ask_value", "keep_trigger", "pick"]


@dataclass
class Intent:
    kind: Kind
    tool: str | None = None
    args: dict[str, Any] = field(default_factory=dict)


RECIPES = ("character", "style", "motion", "face", "object")
_MEDIA = (*sorted(MEDIA_EXTS), ".zip")
_PATH_TOKEN = re.compile(r"\"([^\"]+)\"|'([^']+)'|`([^`]+)`|\(([^()]+)\)|\[([^\[\]]+)\]|<([^<>]+)>|(\S+)")
_STRAIGHT = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})  # phones type curly quotes
_ASKS = re.compile(r"\s*(?:what|what's|whats|which|how|why|is|are|does|do|should|explain|tell me)\b")
_NUMBER = re.compile(r"(?<![\w.-])[+-]?\d+(?:\.\d+)?(?:e[+-]?\d+)?%?(?![\w.])")
_RUNS = re.compile(r"\b(?:runs?|and|vs|versus|with|to|&)\s*#?(\d{1,2})\b|\bjobs?\s+#?([0-9a-z][\w-]{3,})")
_JOB = re.compile(r"\bjob\s+#?([0-9a-z][\w-]{3,})")


def parse(text: str, last_setting: str | None = None) -> list[Intent]:
    """Map one user message to intents. ``last_setting`` is what the conversation was last about ("back to 32")."""
    raw = text.strip().translate(_STRAIGHT)
    paths, rest = _paths(raw)
    low = normalise(rest)
    if not low.strip(" .?!") and not paths:
        return [Intent("help")]
    family, cue = _family(low)
    if family in (None, "launch_training") and (n := _ordinal(low)) is not None:
        return [Intent("pick", args={"n": n})]  # "the second one", "option 3": of the list just shown
    refused = family in P.ACTIONS and _cue_negated(low, cue)
    if refused:  # "don't start yet", "no need to retrain": nothing runs; the rest of the message still counts
        family = None
    if family == "migrate_library":  # "migrate all the LoRAs in <folder> with the clips in <folder>"
        folders = [i.args["source"] for i in paths if i.tool == "import_dataset"]
        if len(folders) >= 2:
            return [Intent("tool", "migrate_library", {"folder": folders[0], "datasets": folders[1]})]
        return [Intent("migrate_help")]
    if family == "retrain_with":
        return [_retrain(rest, low, last_setting)]
    kept = _unrefused(low)  # "not style, it's a person": the recipe is read from what is not refused
    cards = gpu_words(low)  # "my 4090", "24gb": a card, not a setting's value
    if cards and family in (None, "explain_plan", "estimate", "check_hardware"):
        family = "check_hardware"
    reading = read_settings(_without(low, cards), last_setting)
    changes = dict(reading.changes)
    if family == "launch_training" and (reading.asked_about or (cue == "go" and len(low.split()) > 3)
                                        or re.match(r"\s*(?:where|how|what|why|when|which|who)\b", low)):
        family = None  # "is rank 32 ok or should I go lower?" asks about rank; it starts nothing
    if (trigger := read_trigger(rest)) is not None:
        changes["trigger"] = trigger
    if paths:
        intents = paths
        if recipe := _named_recipe(kept) or (_described_recipe(kept) if family in (None, "story") else None):
            intents.append(Intent("tool", "choose_recipe", {"name": recipe}))
        if changes:
            intents.append(Intent("tool", "set_option", {"changes": changes}))
        return intents
    if family == "keep_trigger" and reading.question and not changes:  # "what was the old trigger?"
        return [Intent("tool", "explain_settings", {"setting": "trigger"})]
    if changes and family == "why_retrain":  # "can't I just use my old lora on 2.3?" asks, it changes nothing
        changes = {}
    if changes:
        recipe = _named_recipe(kept) or (_described_recipe(kept) if _DESCRIBES.search(kept) else None)
        return ([Intent("tool", "choose_recipe", {"name": recipe})] if recipe else []) + _change(
            changes, reading, family, low)
    if family in ("explain_plan", None, "evaluate", "compare_runs") and reading.asked_about and reading.question:
        both = reading.asked_about[:2] if re.search(r"\b(?:difference|vs|versus|compared?)\b", low) else \
            reading.asked_about[:1]  # "what's the difference between rank and alpha": both explained
        return [Intent("tool", "explain_settings", {"setting": name}) for name in both]
    if family is None and reading.pointed:
        return [Intent("tool", "explain_settings", {"setting": reading.pointed})]
    if refused:
        return [Intent("no")]
    said = words.answer(rest)
    if said and (said, family) not in (("yes", "launch_training"), ("no", "cancel_job")):
        return [Intent(said)]  # "sure", "go for it": what it agrees to depends on where the user is
    if family and family not in P.TALK:
        return [_tool(family, low, reading)]
    if family == "story":
        return [Intent("story", args={"recipe": _named_recipe(kept) or _described_recipe(kept)})]
    if recipe := _named_recipe(kept):
        if _ASKS.match(low):  # "what's the difference between the style and character recipe?" picks nothing
            return [Intent("tool", "list_recipes")]
        return [Intent("tool", "choose_recipe", {"name": recipe})]
    if family in P.TALK:
        return [Intent(family)]  # type: ignore[arg-type]
    if recipe := _described_recipe(kept):
        return [Intent("tool", "choose_recipe", {"name": recipe})]
    if reading.asked_about:
        return [Intent("tool", "explain_settings", {"setting": reading.asked_about[0]})]
    if negated(_spaced(low)):
        return [Intent("no")]  # "don't use 8-bit", "not rank 64": what not to do changes nothing
    if unit := re.search(r"(\d+(?:\.\d+)?)\s*(epochs?|fps|frames? per second)\b", low):
        return [Intent("ask_value", args={"value": unit.group(1),  # not settings: say what is, and ask
                                          "unit": "epoch" if unit.group(2).startswith("epoch") else "fps"})]
    if reading.unvalued:
        return [Intent("ask_value", args={"setting": reading.unvalued[0]})]  # "change the rank": to what?
    if (number := _NUMBER.search(low)) and not re.match(r"\s*(?!(?:please|pls|instead|then|now|actually|maybe|"
                                                        r"ok|okay|thanks|too|enough|good|better|fine|right|high|"
                                                        r"low|or)\b)[a-z]", low[number.end():]):
        return [Intent("ask_value", args={"value": number.group(0)})]  # "actually 1500": of what? ("40 clips": no)
    return [Intent("unknown")]


def _ordinal(low: str) -> int | None:
    """1-based place named by a short reference to a list ("the second one", "number 2", "#3", "the last one":
    -1); None when the message says more than that."""
    *before, last = re.split(r"[,;]", low)  # "no not that, the third": a refused pick, then the one meant
    if before and not all(words.answer(part) == "no" or negated(_spaced(part)) for part in before):
        return None
    m = _ORDINAL.fullmatch(re.sub(r"[.!?,]", " ", last).strip())
    if not m:
        return None
    word = next(g for g in m.groups() if g)
    return -1 if word == "last" else int(word) if word.isdigit() else _PLACES[word]


_PLACES = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5}
_ORDINAL = re.compile(
    r"(?:(?:ok|okay|hmm|yes|yeah|so|then|i'?ll|i will|let'?s|lets|i'?d like|i want|go with|take|pick|use|try|"
    r"choose|the|that|number|option|no\.?|#)\s*)*"
    r"(?:(first|second|third|fourth|fifth|last)|(\d)(?:st|nd|rd|th)?)"
    r"(?:\s+(?:one|option|choice|please|then|thanks|sounds good|looks good|is fine))*")


# The words a negation refuses; "no" refuses only what it is put right in front of ("no style"), since "no, it's a
# character" is a correction. Lookaheads, so "no not the style one" yields both.
_REFUSAL = re.compile(r"\b(?:not|never|don'?t)\b(?=((?:\s+[\w'-]+){1,4}))"
                      r"|\bno\b(?=((?:\s+(?:the|a))?\s+[\w'-]+))")


def _unrefused(low: str) -> str:
    """The message without its clauses that refuse a recipe ("not style", "no not the style one", "it's not a
    person"); "my style lora doesn't work" refuses nothing."""
    kept = []
    for part in re.split(r"[,;.!?]|\bbut\b", low):
        refusals = [m.group(1) or m.group(2) for m in _REFUSAL.finditer(part)]
        if not any(_recipe_word(w) or _described_recipe(w) for w in refusals):
            kept.append(part)
    return ",".join(kept)


def _without(low: str, words_: list[str]) -> str:
    for word in words_:
        low = low.replace(word, " ")
    return low


def _change(changes: dict[str, str], reading: Reading, family: str | None, low: str) -> list[Intent]:
    """A setting change, after the answer when the message also asked about it; never a launch."""
    out = []
    asked = [n for n in reading.asked_about if n in changes or reading.question]
    if not asked and family == "explain_plan" and reading.mentioned:
        asked = reading.mentioned[:1]  # "can you explain alpha and set it to 16"
    if asked or (reading.question and family == "explain_plan"):
        out.append(Intent("tool", "explain_settings", {"setting": asked[0]} if asked else {}))
    out.append(Intent("tool", "set_option", {"changes": changes}))
    if family in P.LIGHT:
        out.append(_tool(family, low, reading))
    return out


def _family(low: str) -> tuple[str | None, str]:
    """The phrase family whose cue is the longest match (words, then letters), and that cue; None when no cue
    matches."""
    text = _spaced(low)
    best: tuple[int, int, str, str] | None = None
    for family, cues in P.FAMILIES.items():
        for cue in cues:
            if f" {cue} " in text:
                key = (len(cue.split()), len(cue), family, cue)
                if best is None or key[:2] > best[:2]:
                    best = key
    return (best[2], best[3]) if best else (None, "")


def _spaced(low: str) -> str:
    return " " + re.sub(r"[^\w'#+%.-]+|\.(?=\s|$)", " ", low).strip() + " "  # "... on ltx-2." ends on "ltx-2"


def _cue_negated(low: str, cue: str) -> bool:
    """The action is said NOT to be done: a negation just before its cue ("don't start yet", "no, do not launch
    it", "I don't want to retrain"); "why not start?" is a yes."""
    words_ = _spaced(low.replace("why not", "why")).split()
    n = len(cue.split())
    for k in range(len(words_) - n + 1):
        if words_[k:k + n] == cue.split() and any(w in P.NEGATORS for w in words_[max(0, k - 4):k]):
            return True
    return False


def _tool(family: str, low: str, reading: Reading) -> Intent:
    if family == "explain_plan":
        setting = reading.asked_about[0] if reading.asked_about else None
        if setting is None and reading.mentioned:
            setting = reading.mentioned[0]
        return Intent("tool", "explain_settings", {"setting": setting} if setting else {})
    args: dict[str, Any] = {}
    job = _JOB.search(low)
    if family in ("job_status", "cancel_job", "evaluate", "export_checkpoint", "how_to_use") and job:
        args["job_id"] = job.group(1)
    elif family == "list_my_loras" and (recipe := _named_recipe(low) or _recipe_word(low)):
        args["recipe"] = recipe
    elif family == "caption_preview" and (n := re.search(r"caption (\d+)", low)):
        args["n"] = int(n.group(1))
    elif family == "check_hardware":
        args["question"] = low
    elif family == "compare_runs" and (runs := _RUNS.findall(low)):  # "compare run 3 and run 4", "job ab12 vs cd34"
        args["runs"] = [a or b for a, b in runs][:2]
    return Intent("tool", family, args)


def _retrain(raw: str, low: str, last_setting: str | None) -> Intent:
    changes = read_settings(re.sub(r"suggestion\s*#?\d+", " ", low), last_setting).changes
    if (trigger := read_trigger(raw)) is not None:
        changes["trigger"] = trigger
    args: dict[str, Any] = {"changes": changes}
    if pick := re.search(r"suggestion\s*#?(\d+)", low):  # "retrain with suggestion 2": the brain fills it in
        args["suggestion"] = int(pick.group(1))
    elif pick := re.search(r"\b(first|second|third|fourth)\s+suggestion\b|suggestion (one|two|three|four)\b", low):
        word = pick.group(1) or pick.group(2)
        args["suggestion"] = {"first": 1, "one": 1, "second": 2, "two": 2, "third": 3, "three": 3}.get(word, 4)
    named = re.search(r"\bmy (\w+) lora\b|\b(\w+) lora again\b|\bthe (\w+) (?:lora|run|one)\b", low)
    word = next((g for g in (named.groups() if named else ()) if g), None)
    if word in RECIPES and not re.search(r"same again|again but", low):
        args["recipe"] = word
    if m := _JOB.search(low):
        args["job_id"] = m.group(1)
    return Intent("tool", "retrain_with", args)


def _named_recipe(low: str) -> str | None:
    named = re.search(r"\b(" + "|".join(RECIPES) + r")\s+(?:recipe|lora|one)\b|recipe\s*(?:to|=|:|is)?\s*(" +
                      "|".join(RECIPES) + r")\b", low)
    if named:
        return named.group(1) or named.group(2)
    # A recipe's name typed a letter or two wrong: "the charachter recipe", or the name alone ("stlye").
    words_ = re.findall(r"[a-z]+", low)
    for i, word in enumerate(words_):
        named_here = i + 1 < len(words_) and words_[i + 1] in ("recipe", "lora", "one") or len(words_) <= 2
        close = difflib.get_close_matches(word, RECIPES, n=1, cutoff=0.75) if len(word) >= 4 and named_here else []
        if close and close[0][0] == word[0]:  # typos keep the first letter: "stlye" is style, "option" no motion
            return close[0]
    return None


def _recipe_word(low: str) -> str | None:
    found = re.search(r"\b(" + "|".join(RECIPES) + r")\b", low)
    return found.group(1) if found else None


def _described_recipe(low: str) -> str | None:
    """The recipe whose TOML keywords fit a description ("it's a person" -> character), or None. Outside a
    description ("it's ...", "a ... lora"), short everyday keywords ("me", "can", "look") do not count alone."""
    from tools.recipes import load_recipe, match_recipe

    found = match_recipe(low)
    if found is None or _DESCRIBES.search(low):
        return found.name if found else None
    words_ = set(re.findall(r"[a-z0-9]+", low))
    strong = [k for k in load_recipe(found.name).keywords
              if (k in low if " " in k else k in words_) and (" " in k or len(k) > 3) and k not in _WEAK]
    return found.name if strong or found.name in words_ else None


_DESCRIBES = re.compile(r"\b(?:it'?s|it is|its|this is|that'?s|they'?re|he'?s|she'?s|lora (?:of|for|is)|"
                        r"teaches|taught|trained on|learned|learnt|about a|a lora)\b")
_WEAK = frozenset({"thing", "item", "move", "look", "film", "effect", "render", "filter", "model", "medium",
                   "watch", "phone", "device", "brand", "vibe", "grade", "colour", "color", "art", "action",
                   "sounds"})


_SPACED = re.compile(r"(?<![\w\"'`(\[<])((?:[A-Za-z]:[\\/]|~/|/)[^\n\"'`<>|()\[\]]*? [^\n\"'`<>|()\[\]]*?"
                     rf"\.(?:safetensors|zip|{'|'.join(e[1:] for e in sorted(MEDIA_EXTS))}))(?!\w)", re.I)
_JOINERS = re.compile(r"\s(?:and|the|are|is|in|with|at|here|then|also|plus|clips?|lora)\s", re.I)


def _user_path(text: str) -> Path:
    """``~`` expanded where it can be ("~~/x" or an unknown "~user" stay as typed: the tool's error says so)."""
    try:
        return Path(text).expanduser()
    except (RuntimeError, KeyError):
        return Path(text)


def _exists(path: Path, folder: bool = False) -> bool:
    """Whether a typed path is there; a name the system cannot even look up (too long, odd bytes) is not."""
    try:
        return path.is_dir() if folder else path.exists()
    except (OSError, ValueError):
        return False


def _quote_spaced(raw: str) -> str:
    """An unquoted file path with spaces in it ("/home/me/My LoRAs/zorbly v2.safetensors") put in quotes, when
    it exists or reads as one path (no "and", "the", "clips" inside it)."""
    def quote(m: re.Match[str]) -> str:
        path = m.group(1)
        return f'"{path}"' if _exists(_user_path(path)) or not _JOINERS.search(path) else path
    return _SPACED.sub(quote, raw)


def _folder_with_spaces(raw: str, match: re.Match[str]) -> tuple[Path, re.Match[str]] | None:
    """The existing folder a path token continues into over the next few words, longest first, and its match."""
    after = raw[match.end():].split()
    for n in range(min(4, len(after)), 0, -1):
        candidate = raw[match.start():match.end()] + " " + " ".join(after[:n])
        path = _user_path(candidate.rstrip(".,;:!?"))
        found = re.compile(re.escape(candidate)).search(raw, match.start())
        if _exists(path, folder=True) and found:
            return path, found
    return None


def _paths(raw: str) -> tuple[list[Intent], str]:
    """A .safetensors path is the old LoRA; a folder, zip or media path is the dataset. Quotes and brackets
    around a path are not part of it. Returns the intents and the message without the paths."""
    # "file:///x.safetensors" is the file; "/My LoRAs/a b.safetensors" is one path
    raw = _quote_spaced(re.sub(r"\bfile://(?=/|[A-Za-z]:)", "", raw))
    intents, rest = [], raw
    for match in _PATH_TOKEN.finditer(raw):
        token = next(g for g in match.groups() if g).strip().strip("\"'`").rstrip(".,;:!?)]>").lstrip("([<")
        low = token.lower()
        if "/" not in token and "\\" not in token and not low.endswith((".safetensors", *_MEDIA)):
            continue
        if not re.search(r"[a-z0-9]", low):  # "rank: 16 / steps: 2000": a separator, not a path
            continue
        if " " in token and not low.endswith((".safetensors", *_MEDIA)) and not token.startswith(("/", "~")):
            continue  # a bracketed remark, not a path
        path = _user_path(token)
        if match.group(7) is not None and not _exists(path) and (longer := _folder_with_spaces(raw, match)):
            path, match = longer  # "~/Videos/zorbly clips": a folder whose name has spaces, unquoted
        if low.endswith(".safetensors"):
            intents.append(Intent("tool", "inspect_lora", {"path": str(path)}))
        elif low.endswith(_MEDIA) or _exists(path, folder=True) or token.startswith(("/", "~", "./", "../")):
            # A path that does not exist still goes to the tool: its error says what was wrong.
            intents.append(Intent("tool", "import_dataset", {"source": str(path)}))
        else:
            continue
        rest = rest.replace(match.group(0), " ")
    return intents, rest
