"""A trigger phrase asked for in the user's own words, kept as written ("zorbly style", "ohwx man"); a question
about the trigger, or a request not to change it, sets nothing."""

import re

from agent.brains import phrases as P
from agent.brains.negation import negated
from agent.brains.typos import fix_typos

_TRIGGER_SET = re.compile(
    r"trigger(?:\s+(?:word|phrase|token))?\s*(?:to|=|:|is|be|as|of|should be|should stay|stays|becomes?|was|"
    r"used to be)?\s*"
    r"(?:\"([^\"]+)\"|'([^']+)'|`([^`]+)`|([^\s\"'`,;!?()]+(?:\s+[^\s\"'`,;!?()]+){0,5}))", re.I)
_TRIGGER_AS = re.compile(r"(?:use|used|using|make|call it|set)\s+"
                         r"(?:\"([^\"]+)\"|'([^']+)'|([\w\-]+(?:\s+[\w\-]+){0,3}))\s+"
                         r"as\s+(?:the\s+|my\s+)?trigger", re.I)
_TRIGGER_STOP = {"and", "with", "please", "then", "instead", "for", "but", "so", "because", "too", "also", "now",
                 "thanks", "if", "rank", "steps", "lr", "frames", "resolution", "alpha", "plz", "pls", "ok"}
_NOT_A_TRIGGER = {"word", "phrase", "the", "a", "it", "this", "that", "same", "fine", "ok", "okay", "what", "do",
                  "does", "mean", "means", "is", "for", "from", "old", "you", "i", "my", "keep", "will", "would",
                  "should", "still", "be", "was", "going", "gonna", "used", "in", "on", "at", "we", "they",
                  "original", "previous", "current", "words", "phrases", "too", "again", "back", "now",
                  "before", "earlier", "last", "previously", "wrong", "right", "bad", "broken", "missing", "empty",
                  "different", "changed", "set", "not", "like"}


def _asks_or_refuses(raw: str, at: int) -> bool:
    """The clause around a trigger phrase asks about it ("what trigger will it use?", "is the trigger still
    zorbly?") or says not to change it; a polite request ("can you set the trigger to ohwx?") does neither."""
    start = max(raw.rfind(c, 0, at) for c in ".,;!?\n") + 1
    ends = [i for i in (raw.find(c, at) for c in ".,;!?\n") if i >= 0]
    clause = raw[start:min(ends) if ends else len(raw)].lower().strip()
    asked = (min(ends) if ends else -1) >= 0 and raw[min(ends)] == "?"
    polite = re.match(r"(?:please |ok |so )?(?:can|could|would|will) (?:you|we|u|i) |let'?s |please ", clause)
    first = clause.split()[0] if clause.split() else ""
    return negated(f" {clause} ") or (not polite and (asked or first in P.QUESTION_WORDS))


def _spelt_right(raw: str) -> str:
    """"triger" / "trigegr" -> "trigger", the rest of the message untouched (its case is the trigger's)."""
    return re.sub(r"(?i)\bt[a-z]{4,7}\b", lambda m: "trigger" if fix_typos(m.group(0).lower()) == "trigger"
                  else m.group(0), raw)


def read_trigger(raw: str) -> str | None:
    """The trigger a user asks for, as written: 'trigger "zorbly style"', 'make the trigger ohwx man', 'use
    zorbly as the trigger'. A question about the trigger ("what does the trigger do?") sets nothing."""
    raw = _spelt_right(raw)
    if m := _TRIGGER_AS.search(raw):
        return None if _asks_or_refuses(raw, m.start()) else next(g for g in m.groups() if g).strip()
    m = _TRIGGER_SET.search(raw)
    if not m or _asks_or_refuses(raw, m.start()):
        return None
    quoted = next((g for g in m.groups()[:3] if g), None)
    if quoted:
        return quoted.strip()
    words = []
    for word in m.group(4).split():
        if word.lower() in _TRIGGER_STOP:
            break
        words.append(word.rstrip("."))
    if not words or words[0].lower() in _NOT_A_TRIGGER:
        return None
    return " ".join(words)
