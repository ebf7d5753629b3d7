"""Negation: a clause that says what NOT to do changes nothing, except a switch with exactly one other way.

"don't start yet", "not rank 64", "no need to change the rank" ask for nothing; "don't use 8-bit adam" asks for
adamw and "don't enable tiling" for tiling off, because there is only one other way to go. "why not" is a yes.
"""

import re


def negated(joined: str) -> bool:
    """A clause that says what NOT to do ("don't use 8-bit adam", "not rank 64", "never mind the rank")."""
    return bool(_NEGATION.search(joined.replace(" why not ", " ")))


_NEGATION = re.compile(r" (?:don't|dont|do not|doesn't|does not|not|never|won't|wont|shouldn't|should not|"
                       r"no need to|no longer|stop using|no more|rather not) (?!\d)")


def the_other_way(found: dict[str, str], kinds: dict[str, tuple[str, tuple[str, ...]]]) -> dict[str, str]:
    """What a negated clause still asks for: a switch the other way ("don't use 8-bit adam" -> adamw, "don't
    enable tiling" -> off) where there is exactly one other way; no number ("not rank 64" changes nothing)."""
    out: dict[str, str] = {}
    for name, value in found.items():
        kind, choices = kinds.get(name, ("", ()))
        if kind == "bool":
            out[name] = "true" if value == "false" else "false"
        elif kind == "str" and value in choices:
            off = [c for c in choices if c in ("off", "none")]
            others = [c for c in choices if c != value]
            if value not in off and off:
                out[name] = off[0]
            elif len(others) == 1:
                out[name] = others[0]
    return out
