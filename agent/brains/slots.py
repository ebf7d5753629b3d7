"""The slot grammar: a sentence's setting changes, read over the one settings vocabulary.

A sentence is cut into clauses; in each, the names of settings (``tools.plan.glossary`` names and aliases, plus
"resolution" and "frames") are found, and every value (a number, "768x512", "+20%", "a bit more", "cosine") is
bound to the setting it belongs to: the unit after it ("3000 steps"), else the setting named just before it
("rank to 16"), else the one named earlier in the message ("rank 1 seems low, can we use 16 instead"), else the
setting the conversation was last about ("back to 32"). A clause that only talks about a value ("rank 1 seems
really low", "is 16 too high?") changes nothing: it is a question about the setting. A clause that says what
NOT to do ("don't use 8-bit adam", "not rank 64") changes nothing either, except a switch with exactly one other
way (adamw instead of adamw8bit, tiling off). Numbers in words and odd spellings are made digits first
(``agent.brains.numbers``); triggers are read by ``agent.brains.trigger``.
"""

import difflib
import functools
import re
from dataclasses import dataclass, field

from agent.brains import phrases as P
from agent.brains.negation import negated, the_other_way
from agent.brains.numbers import number_words, numbers_as_written, p_resolution, seconds_to_frames
from agent.brains.typos import fix_typos

_CONNECT = {"to", "=", ":", "of", "at", "is", "be", "from", "by", "around", "about", "like", "maybe", "roughly",
            "~", "the", "a", "value", "it", "back", "up", "down", "only", "just", "as", "set", "now", "then"}
_NAMING = {"checkpoint", "step", "job", "suggestion", "version", "run", "clip", "take", "v", "#", "number"}
_NUM = re.compile(r"^[+-]?\d+(?:\.\d+)?(?:e[+-]?\d+)?%?$")
_RES = re.compile(r"^\d{2,5}x\d{2,5}$")
_MODEL = re.compile(r"^(?:tiny-)?ltx-2(?:\.\d)?$")
_TOKEN = re.compile(r"\d+bit\b|[+-]?\d+(?:\.\d+)?(?:e[+-]?\d+)?(?:x\d+)?%?|x\d+(?:\.\d+)?|[a-z][a-z0-9_'.\-]*[a-z0-9]|[a-z]|=")


@dataclass
class Reading:
    changes: dict[str, str] = field(default_factory=dict)
    mentioned: list[str] = field(default_factory=list)  # settings named anywhere, in order
    asked_about: list[str] = field(default_factory=list)  # settings named in a question or a remark
    question: bool = False  # some clause is a question
    pointed: str | None = None  # the setting a bare "why that?" points back to
    unvalued: list[str] = field(default_factory=list)  # settings asked to change without a value ("lower it to?")


def normalise(text: str) -> str:
    """Lower case; number words as digits; "768 by 512" -> 768x512; "20 percent" -> 20%; "3k" -> 3000."""
    t = text.lower().replace("\u2019", "'").replace("\u00d7", "x").replace("\u201c", '"').replace("\u201d", '"')
    # "lets goooo", "yesss"; only in words of letters ("job train-...-153bbb" keeps its id)
    t = re.sub(r"(?<![\w-])[a-z]+(?![\w-])", lambda m: re.sub(r"([a-z])\1{2,}", r"\1", m.group(0)), t)
    t = fix_typos(t)  # "triger", "retrian", "bacth size"
    t = re.sub(r"\b(optim|quant)is(e|ed|es|er|ers|ing|ation)\b", r"\1iz\2", t)  # British spellings
    t = numbers_as_written(t)
    t = re.sub(r"\btimes\s+(\d+(?:\.\d+)?)\b", r"x\1", t)  # "steps times 2"
    t = re.sub(r"\b(\d+(?:\.\d+)?)\s*(?:x|times)\s+(?=the\b|as many\b|as much\b|more\b)", r"x\1 ", t)  # "2x the"
    t = number_words(t)
    t = _glued_names().sub(r"\1 ", t)  # "rank16", "lr2e-4", "steps2000"
    t = re.sub(r"\br\s*=\s*(?=\d)", "rank=", t)  # kohya's r=16
    t = re.sub(r"\b(\d{3,4})p\b", lambda m: p_resolution(int(m.group(1))), t)  # 720p -> 1280x704
    t = re.sub(r"(\d+(?:\.\d+)?)\s*k\b(?!\+)", lambda m: f"{float(m.group(1)) * 1000:g}", t)
    t = re.sub(r"\b(\d{2,5})\s*(?:x|by|\*)\s*(\d{2,5})\b", r"\1x\2", t)
    t = re.sub(r"(\d+(?:\.\d+)?)\s*(?:%|percent\b|per cent\b|pct\b)", r"\1%", t)
    t = re.sub(r"\b(\d+)\s*(?:gb|gig|gigs|gib)\b", r"\1gb", t)
    t = re.sub(r"\b(tiny[\s-])?ltx[\s-]?v?(2(?:\.\d)?)\b", lambda m: ("tiny-" if m.group(1) else "") + "ltx-" +
               m.group(2), t)
    t = re.sub(r"\b(on|to|for|from|in|with|than) (2\.[0-9])\b", r"\1 ltx-\2", t)  # "on 2.3": a version, no value
    t = re.sub(r"\b(\d+)[\s-]?bits?\b", r"\1bit", t)  # "8-bit adam", "4 bit": a kind, not a value
    # "5 seconds", "2s clips"; a bare "s" only after 1-2 digits ("two 4090s" are cards, not 4090 seconds)
    t = re.sub(r"\b(\d+(?:\.\d+)?\s*(?=sec)|\d{1,2}(?:\.\d+)?\s*(?=s\b))(?:seconds?|secs?|s)\b"
               r"(?:\s+(?:of\s+)?(?:video|clips?|long))?",
               lambda m: f"{seconds_to_frames(float(m.group(1)))} frames", t)
    return t


@functools.cache
def _glued_names() -> re.Pattern[str]:
    """A one-word setting name typed against its value ("rank16"): the name, to split off."""
    names = sorted({words[0] for words, _ in _names() if len(words) == 1 and words[0].isalpha()}, key=len,
                   reverse=True)
    return re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")(?=[+-]?\d)")


@functools.cache
def _names() -> tuple[tuple[tuple[str, ...], str], ...]:
    """(alias words, setting) for every spoken name, longest first."""
    from tools.plan.glossary import SETTINGS

    table: dict[tuple[str, ...], str] = {}
    for info in SETTINGS.values():
        if not info.overridable or info.kind == "buckets":
            continue
        for word in (info.name, *info.aliases):
            spoken = word.replace("_", " ").lower()
            if spoken not in P.NOT_SETTINGS:
                table[tuple(spoken.split())] = info.name
                table[(spoken.replace(" ", "-"),)] = info.name  # "learning-rate", "batch-size"
    for word, name in P.EXTRA_NAMES.items():
        table[tuple(word.split())] = name
    return tuple(sorted(table.items(), key=lambda kv: -len(kv[0])))


@functools.cache
def _kinds() -> dict[str, tuple[str, tuple[str, ...]]]:
    from tools.plan.glossary import SETTINGS

    kinds = {n: (i.kind, i.choices) for n, i in SETTINGS.items()}
    return {**kinds, "resolution": ("res", ()), "frames": ("frames", ())}


def clauses(text: str) -> list[tuple[list[str], bool]]:
    """(tokens, ends with '?') for each clause of a normalised message."""
    out = []
    text = _ASIDE.sub(", ", text)  # "rank 16 and what does alpha do": a change, then a question of its own
    for piece, mark in re.findall(r"([^,;?!]+?)(?:([?!,;])|\.(?:\s|$)|$)", text + " "):
        tokens = [t.rstrip(".") for t in _TOKEN.findall(piece)]
        if tokens:
            out.append((tokens, mark == "?"))
    return out


_ASIDE = re.compile(r"\s+(?:and|but|also|then)\s+(?=(?:what|why|how|which|is|does|do i|can i|could i|should|"
                    r"will it|would it)\b)")


def read_settings(text: str, last_setting: str | None = None) -> Reading:
    """Every setting change in a normalised message, as {setting: spoken value} in overrides syntax."""
    reading = Reading()
    carried = False
    for tokens, asked in clauses(text):
        mentions = _mentions(tokens)
        joined = " " + " ".join(tokens) + " "
        imperative = tokens[0] == "do" and len(tokens) > 1 and (bool(_NUM.match(tokens[1])) or tokens[1] in (
            "it", "that", "this", "the", "a", "an", "another", "not", "more", "less", "fewer", "some", "one", "same",
            "half", "double", "twice"))  # "do 2000 steps", "do it again with rank 32", "do another run"
        lead = next((t for t in tokens if t not in _LEAD_FILLERS), tokens[0])  # "hmm why is ...", "ok so what ..."
        question = asked or (lead in P.QUESTION_WORDS and not imperative)
        remark = any(f" {w} " in joined for w in P.EVALUATIVE)
        advice = lead in ("should", "shall", "is", "are") or (  # "should I use more steps?" asks for advice
            lead in ("would", "will", "does", "do") and tokens[tokens.index(lead) + 1:][:1] in (["i"], ["it"], ["we"]))
        strong = not advice and any(f" {c} " in joined for c in P.CHANGE_CUES if c not in P.WEAK_CUES)
        earlier = reading.mentioned[-1:] or ([last_setting] if last_setting else [])
        offered = (asked or bool(reading.mentioned)) and all(  # "rank 4 seems low. sixteen?", "rank? 16"
            _NUM.match(t) or _RES.match(t) or t in _SOFTENERS for t in tokens)
        strict = carried or offered or any(f" {c} " in joined for c in P.BARE_VALUE_CUES)  # "use 16 instead"
        found = _bind(tokens, mentions, joined, earlier, strict)
        carried = strict and not found and not mentions  # "no wait, 1200": the cue's clause, then the value
        # "..., like 32?" after naming the setting: the bare value is the request, the question mark a softener
        request = strong or not (question or remark) or (strict and not mentions and bool(found) and bool(earlier))
        for _, _, name in mentions:
            if name not in reading.mentioned:
                reading.mentioned.append(name)
        reading.question = reading.question or question
        if request and (found or not question):
            reading.changes.update(found)
            if not found and not negated(joined):  # "change the rank": to what?
                reading.unvalued += [n for _, _, n in mentions if n not in reading.unvalued]
        else:
            reading.asked_about += [n for _, _, n in mentions if n not in reading.asked_about]
            reading.asked_about += [n for phrase, (n, _) in _value_words().items()  # "what's 8-bit adam?"
                                    if f" {phrase} " in joined and n not in reading.asked_about]
            if any(_RES.match(t) for t in tokens) and "resolution" not in reading.asked_about:
                reading.asked_about.append("resolution")  # "can I train at 1080p?"
            if any(_MODEL.match(t) for t in tokens) and question and "model" not in reading.asked_about:
                reading.asked_about.append("model")  # "should I move to 2.5?"
            pointing = tokens[0] == "why" or (tokens[0] in ("what", "whats", "what's", "is", "isn't", "how") and any(
                t in ("that", "this", "so") for t in tokens))
            if not mentions and question and pointing and (reading.mentioned or last_setting):
                reading.pointed = (reading.mentioned or [last_setting])[-1]  # "why that?"
    return reading


def _mentions(tokens: list[str]) -> list[tuple[int, int, str]]:
    out, i = [], 0
    while i < len(tokens):
        for words, name in _names_starting(tokens[i]):
            n = len(words)
            got = tuple(tokens[i:i + n])
            if got == words or (got[:-1] == words[:-1] and got and got[-1] == words[-1] + "s" and len(got) == n):
                out.append((i, i + n, name))
                i += n
                break
        else:
            if (typo := _misspelt(tokens, i)) is not None:  # "rnak 16", "stpes: 500"
                out.append((i, i + 1, typo))
            i += 1
    return out


def _names_starting(token: str) -> tuple[tuple[tuple[str, ...], str], ...]:
    """The entries of ``_names()`` (in its order, longest first) that can match at a token: those whose first
    word it is, and one-word names it is the plural of. Every message's every token asks, so this is indexed."""
    return _by_first_word().get(token, ())


@functools.cache
def _by_first_word() -> dict[str, tuple[tuple[tuple[str, ...], str], ...]]:
    index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for words, name in _names():  # in order, so each bucket keeps the longest-first order
        index.setdefault(words[0], []).append((words, name))
        if len(words) == 1:
            index.setdefault(words[0] + "s", []).append((words, name))
    return {first: tuple(entries) for first, entries in index.items()}


def _misspelt(tokens: list[str], i: int) -> str | None:
    """A one-word setting name typed a letter or two wrong, right before a value; None otherwise."""
    word = tokens[i]
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    if len(word) < 4 or not (_NUM.match(nxt) or nxt in ("to", "=", ":", "of")):
        return None
    close = difflib.get_close_matches(word, list(_single_names()), n=1, cutoff=0.75)
    return _single_names()[close[0]] if close else None


@functools.cache
def _single_names() -> dict[str, str]:
    return {words[0]: name for words, name in _names() if len(words) == 1 and len(words[0]) >= 4}


def _bind(tokens: list[str], mentions, joined: str, earlier: list[str], strict: bool) -> dict[str, str]:
    """Values of one clause -> {setting: value}; a later value for the same setting wins ("from 32 to 16").
    Each "and"-part keeps its own direction ("lower the rank and raise the steps")."""
    found: dict[str, str] = {}
    inside = {j for s, e, _ in mentions for j in range(s, e)}
    ends = {e: name for _, e, name in mentions}
    part_of = _parts(tokens, joined)
    for i, tok in enumerate(tokens):
        if i in inside:
            continue
        if _RES.match(tok):
            found["resolution"] = tok
            continue
        if not (_NUM.match(tok) or re.match(r"^x\d", tok)):
            continue
        if i > 0 and tokens[i - 1] in _NAMING:  # "checkpoint 750", "job 12", "suggestion 2": a name, not a value
            continue
        if i > 0 and tokens[i - 1] == "not" or tokens[max(0, i - 2):i] == ["instead", "of"]:
            continue  # "16, not 32", "16 instead of 32": the value it is not
        name, value = _owner(tokens, i, ends, mentions), tok
        if name is None and "e-" in tok:  # 2e-4 is a learning rate whatever was said before
            name = "learning_rate"
        elif name is None and strict and earlier and _bare(tokens, i):
            name = earlier[-1]
        if name is None or _kinds().get(name, ("",))[0] not in ("int", "float", "frames", "str"):
            continue
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        before = tokens[i - 1] if i > 0 else ""
        direction = part_of[i][0]
        if (before in ("by", "add", "another", "plus", "minus", "extra") or after in P.UP + P.DOWN
                or tok.endswith("%")) and direction and tok[0] not in "+-x":
            value = direction + tok
        found[name] = value
    named = [(s, n) for s, _, n in mentions]
    rel = _relative(joined, _direction(joined))
    pointed = re.search(r" (?:lower|raise|increase|decrease|reduce|bump|cut|drop) (?:it|that|them|this) ",
                        joined)  # "lower it a bit": the setting talked about ("fire it up" is no change)
    if not named and earlier and not found and rel and (_longest(joined, P.RELATIVE) not in P.NOT_BARE or pointed):
        named = [(0, earlier[-1])]  # "halve it", "a bit more"
    for start, name in [(s, n) for s, n in named if n not in found]:
        kind, choices = _kinds().get(name, ("", ()))
        part_rel = part_of[start][1]
        if kind in ("int", "float") and (part_rel or (rel and part_rel is None)):
            found[name] = part_rel or rel
        elif kind == "str" and choices:
            found.update({name: c for c in choices if f" {c} " in joined and c not in ("on", "off")})
            if name not in found and {"on", "off"} <= set(choices) and (state := _on_off(joined)):
                found[name] = "on" if state == "true" else "off"  # "no audio", "keep the sound"
        elif kind == "bool" and (state := _on_off(joined)):
            found[name] = state
    for phrase, (name, value) in _value_words().items():
        if f" {phrase} " in joined:
            found[name] = value
    model = next((t for t in tokens if _MODEL.match(t)), None)
    if model and (any(n == "model" for _, _, n in mentions) or re.search(r" (?:switch|use|train on|go with) ",
                                                                          joined)):
        found["model"] = model
    return the_other_way(found, _kinds()) if negated(joined) else found


@functools.cache
def _value_words() -> dict[str, tuple[str, str]]:
    """Spoken values that name their setting: the phrase table, plus every choice that only one setting has
    ("adamw", "cosine", "ic-lora"); choices several settings share ("int8", "bf16") or everyday words ("on",
    "required") need the setting named."""
    from tools.plan.glossary import SETTINGS

    owners: dict[str, list[str]] = {}
    for info in SETTINGS.values():
        if info.overridable:
            for choice in info.choices:
                owners.setdefault(choice, []).append(info.name)
    unique = {c: (names[0], c) for c, names in owners.items() if len(names) == 1 and c not in _PLAIN_CHOICES}
    return {**unique, **P.VALUE_WORDS}


_PLAIN_CHOICES = {"on", "off", "required", "none", "auto", "no", "blocks", "cpu"}


def _bare(tokens: list[str], i: int) -> bool:
    """A number said on its own ("use 16 instead", "maybe 24?"), not one counting something else ("about 3
    hours", "like 40 clips", "2 kids", "2am"): only then may it belong to the setting talked about before."""
    after = tokens[i + 1] if i + 1 < len(tokens) else ""
    return not after or not after[0].isalpha() or after in _BARE_FOLLOWERS or after in P.UP + P.DOWN


_BARE_FOLLOWERS = {"please", "pls", "plz", "instead", "then", "now", "actually", "maybe", "ok", "okay", "thanks",
                   "or", "is", "would", "should", "could", "might", "will", "seems", "sounds", "works", "too",
                   "this", "next", "again", "and", "but", "if", "for", "so", "i", "we", "it", "maybe", "perhaps",
                   "rather", "like", "at", "then", "cheers", "ty", "thx", "lol", "anyway", "anyways", "though",
                   "tho", "instead", "first"}


def _on_off(joined: str) -> str | None:
    """"true" / "false" for a switch said in words ("turn on", "without", "keep"), None when none is said."""
    off = re.search(r" (?:off|disable|disabled|false|no|without|skip|drop|remove) ", joined)
    on = re.search(r" (?:on|enable|enabled|true|yes|use|keep|include|with|too|also|train|learn) ", joined)
    return "false" if off else "true" if on else None


def _parts(tokens: list[str], joined: str) -> list[tuple[str, str | None]]:
    """(direction, relative change) for each token: those of its "and"-part, else the whole clause's."""
    whole = _direction(joined)
    out: list[tuple[str, str | None]] = []
    start = 0
    for end in [k for k, t in enumerate(tokens) if t in _AND] + [len(tokens)]:
        piece = " " + " ".join(tokens[start:end]) + " "
        direction = _direction(piece)
        keep = any(f" {w} " in piece for w in _KEEP)  # "... but keep alpha the same": this part changes nothing
        rel = "" if keep else _relative(piece, direction)
        out += [("" if keep else direction or whole, rel)] * (end - start)
        if end < len(tokens):
            out.append((whole, None))
        start = end + 1
    return out


_AND = {"and", "but", "then", "also", "while", "n", "&"}
_LEAD_FILLERS = {"hmm", "hm", "ok", "okay", "so", "well", "um", "uh", "oh", "lol", "and", "but", "sorry", "hey"}
_SOFTENERS = {"maybe", "perhaps", "or", "like", "so", "then", "hmm", "ok", "instead", "rather"}
_KEEP = ("keep", "leave", "same", "unchanged", "as is", "alone", "untouched")


def _owner(tokens, i, ends, mentions) -> str | None:
    """The setting named just before (through "to", "=", "at" ...), else the unit after, else one named earlier in
    the clause."""
    j = i
    while j > 0 and tokens[j - 1] in _CONNECT:
        j -= 1
    if j in ends:
        return ends[j]
    if j > 0 and tokens[j - 1] == "every":  # "validate every 250 steps": how often, not how long the run is
        return None
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    if nxt in P.UNITS:
        return P.UNITS[nxt]
    gap = 2 if tokens[i + 1:i + 2] in (["the"], ["of"]) else 1
    if after := next((name for s, _, name in mentions if s == i + gap), None):  # "100 warmup steps", "x2 the rank"
        return after
    if nxt in P.UP + P.DOWN and i + 2 < len(tokens) and tokens[i + 2] in P.UNITS:
        return P.UNITS[tokens[i + 2]]
    before = [name for _, e, name in mentions if e <= i]
    return before[-1] if before and _bare(tokens, i) else None  # "rank 16 took 3 hours": 3 is no rank


def _direction(joined: str) -> str:
    if any(f" {w} " in joined for w in P.DOWN):
        return "-"
    if any(f" {w} " in joined for w in P.UP):
        return "+"
    return ""


def _relative(joined: str, direction: str) -> str | None:
    """A change without a number: "halve", "a bit more", "lower it slightly", "up by a third"."""
    for part, share in (("half", 50), ("a third", 33), ("a quarter", 25), ("a fifth", 20), ("a tenth", 10)):
        if direction and f" by {part} " in joined:
            return "x0.5" if (part == "half" and direction == "-") else f"{direction}{share}%"
    rel = _longest(joined, P.RELATIVE)
    if rel is None:
        return None
    value = P.RELATIVE[rel]
    if value in ("+50%", "-50%") and any(f" {w} " in joined for w in P.SOFT):
        return value[0] + "20%"
    return value


def _longest(joined: str, table) -> str | None:
    hits = [k for k in table if f" {k} " in joined]
    return max(hits, key=len) if hits else None
