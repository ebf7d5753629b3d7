"""The answers people give a question: yes / approve and no / decline, in one place.

The sidekick's session (a pending approval), the guided brain's parser and the Slack / Discord relay all read a
reply with ``answer()``, so "sure" approves everywhere or nowhere. A reply counts only when the whole message is
made of these words ("ok sure", "yes please, go ahead"); "yes but rank 16 first" is a new request, not a yes.
"""

import re
from typing import Literal

YES: frozenset[str] = frozenset({
    "y", "yes", "yep", "yup", "yeah", "yea", "ya", "ok", "okay", "k", "kk", "sure", "sure thing", "approve",
    "approved", "/approve", "go ahead", "do it", "go for it", "sounds good", "looks good", "lgtm", "fine",
    "alright", "all right", "absolutely", "of course", "definitely", "please", "please do", "yes please",
    "let's do it", "lets do it", "let's go", "lets go", "go", "start", "start it", "launch", "launch it", "run it",
    "ship it", "proceed", "confirm", "confirmed", "agreed", "perfect", "great", "cool", "correct", "right",
    "that's right", "thats right", "why not", "i do", "go on", "you choose", "your call", "up to you",
    "you decide", "you pick", "pick for me", "pick the recipe for me", "whatever you think", "whatever you think is best",
    "i trust you", "apply that", "apply it", "do that", "👍", "✅",
    "let's do this", "lets do this", "sounds good to me", "looks good to me", "fine by me", "works for me",
    "okey", "okie", "okey dokey", "yes sir", "affirmative", "for sure", "totally", "sure why not", "yeah why not",
    "make it so", "send it", "hit it", "all good", "good to go", "yes go", "go ahead then", "👌", "🚀",
})
NO: frozenset[str] = frozenset({
    "n", "no", "nope", "nah", "reject", "rejected", "/reject", "decline", "don't", "dont", "do not", "cancel",
    "not now", "not yet", "stop", "wait", "hold on", "hold off", "never mind", "nevermind", "no thanks",
    "no thank you", "not really", "abort", "forget it", "skip it", "👎", "❌",
    "hang on", "hold up", "not so fast", "let me think", "let me think about it", "maybe later", "later",
    "not right now", "rather not", "i'd rather not", "id rather not", "no way", "not today", "don't do it",
    "dont do it", "not like this", "wait up", "one moment", "i changed my mind", "changed my mind",
})
# A yes-word right after one of these is a no: "don't start", "do not launch it", "not yet, don't go".
NEGATING: frozenset[str] = frozenset({"don't", "dont", "do not", "not", "never", "no need to"})
# Words that may sit around an answer without changing it ("ok, sure, go for it then").
FILLER: frozenset[str] = frozenset({"then", "thanks", "thank you", "now", "please", "mate", "buddy", "and",
                                    "just", "actually", "oh", "um", "hmm", "well", "a sec", "a second", "one sec",
                                    "a moment", "a minute", "for now", "yet", "hmm", "so"})
_LONGEST = max(len(p.split()) for p in YES | NO | FILLER)

Answer = Literal["yes", "no"]


def normalise(text: str) -> str:
    """Lower case, curly quotes straightened, punctuation that does not change an answer dropped."""
    text = text.strip().lower().replace("\u2019", "'")
    text = re.sub(r"[.!,;:?]+", " ", text)
    return " ".join(text.split())


def answer(text: str) -> Answer | None:
    """"yes" or "no" when the whole message is an answer; None when it says anything else. A question ("ok?",
    "start?") is not a clear yes: it approves nothing."""
    words = normalise(text).split()
    if not words or text.strip().endswith("?"):
        return None
    kinds: set[str] = set()
    i, negating = 0, False
    while i < len(words):
        for n in range(min(_LONGEST, len(words) - i), 0, -1):  # longest phrase first: "go for it" before "go"
            phrase = " ".join(words[i:i + n])
            if phrase in NEGATING and i + n < len(words):
                negating, i = True, i + n
                break
            if phrase in YES or phrase in NO or phrase in FILLER:
                if phrase in NO and phrase not in FILLER:
                    kinds.add("no")
                elif phrase in YES and phrase not in FILLER:
                    kinds.add("no" if negating else "yes")
                negating = negating and phrase in FILLER
                i += n
                break
        else:
            return None
    if kinds == {"yes"}:
        return "yes"
    if kinds == {"no"}:
        return "no"
    return None
