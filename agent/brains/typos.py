"""Command words typed one slip wrong ("triger", "retrian", "evalute", "bacth"), put right before reading.

Only the words the guided brain keys on (``phrases.TYPO_TARGETS``) are corrected, and only for one slip: two
letters swapped, or, for words of six letters or more, one letter missing, doubled or wrong. Real words one slip
from a target ("retain", "caption" -> "captain", "evacuate", "revolution", "leaning") are listed as not typos,
so a sentence that means them is left alone.
"""

import functools
import re

from agent.brains import phrases as P


def fix_typos(text: str) -> str:
    """The message with each one-slip command word replaced by the word it was meant to be."""
    return re.sub(r"(?<![\w-])[a-z]{4,}(?![\w-])", lambda m: _meant(m.group(0)), text)


@functools.cache
def _meant(word: str) -> str:
    if word in P.TYPO_TARGETS or word in P.NOT_TYPOS:
        return word
    for target in P.TYPO_TARGETS:
        if target[0] == word[0] and abs(len(target) - len(word)) <= 1 and _one_slip(word, target):
            return target
    return word


def _one_slip(word: str, target: str) -> bool:
    if len(word) == len(target):
        diff = [i for i, (a, b) in enumerate(zip(word, target)) if a != b]
        swapped = len(diff) == 2 and diff[1] == diff[0] + 1 and word[diff[0]] == target[diff[1]] and \
            word[diff[1]] == target[diff[0]]
        return swapped or (len(diff) == 1 and len(target) >= 6)
    if len(target) < 6:
        return False
    short, long_ = (word, target) if len(word) < len(target) else (target, word)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))
