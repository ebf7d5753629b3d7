"""The guided brain's LTX-2.5 words: picking the target model, and testing an old LoRA there before retraining.

Hooks (one line each in ``agent.brains.guided``): ``target_calls`` runs first on a user's message; ``as_is_offer``
is asked by ``next_step`` before it proposes a training run; ``agreed_as_is`` is what a plain "yes" means while
that offer stands. Phrasings:
- "move it to 2.5", "target 2.5", "switch to ltx-2.5", "use LTX 2.5", "train on 2.5" -> the model becomes
  ltx-2.5 (and the old LoRA is judged again for 2.5); "back to 2.3" / "target 2.3" -> ltx-2.3;
- "does it still work on 2.5?", "test it first", "try it as is", "test it on 2.5" -> ``evaluate_as_is``.
Only the user's own words are read here, never tool results.
"""

import re
from typing import Any

from agent.brains import new_call_id
from agent.brains.negation import negated
from agent.brains.slots import normalise
from agent.ltx25 import is_25, thread_target
from agent.state import latest_job

_VERSION = r"(?:ltx[-_ ]?(?:v(?:ideo)?[-_ ]?)?)?2[._][35]\b"
_MOVE = re.compile(rf"\b(?:move|port|migrate|switch|target|go|use|train|retarget|upgrade)\b[^.?!]*?\b{_VERSION}"
                   rf"|\b(?:to|on|onto|for)\s+{_VERSION}(?:\s+instead)?\s*[.!]?\s*$|^\s*{_VERSION}\s*[.!]?\s*$")
_AS_IS = re.compile(r"\bstill works?\b|\bas[- ]is\b|\b(?:test|try|check) it (?:first|on\b)|\btry before\b"
                    r"|\bwithout retrain|\bdoes it (?:still )?work on\b|\bwork on (?:ltx[- ]?)?2[._]5\b")


_ADVICE = re.compile(r"\s*(?:should|shall|do|would) (?:i|we)\b|\s*is it worth|\s*why (?:would|should)")


def target_calls(text: str, state: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Tool calls for a target / as-is request, or None when the message is about something else."""
    low = text.lower()
    if negated(f" {normalise(low)} ") or _ADVICE.match(low):
        return None  # "don't switch to 2.5" changes nothing; "should I move to 2.5?" asks (parse answers it)
    if _AS_IS.search(low) and (state.get("old_lora") or {}).get("path"):
        model = "ltx-2.5" if re.search(r"2[._]5", low) or is_25(thread_target(state)) else None
        calls = []
        if model and not is_25(thread_target(state)):
            calls.append(_call("set_option", {"changes": {"model": model}}))
        return calls + [_call("evaluate_as_is", {})]
    m = _MOVE.search(low)
    if not m:
        return None
    model = "ltx-2.5" if re.search(r"2[._]5\b", m.group(0)) else "ltx-2.3"
    calls = [_call("set_option", {"changes": {"model": model}})]
    old = state.get("old_lora") or {}
    if old.get("path"):
        calls.append(_call("inspect_lora", {"path": old["path"], "target": model}))  # its verdict there
    return calls


def as_is_offer(state: dict[str, Any]) -> str | None:
    """Before a training run for 2.5: offer to test a 2.3 LoRA as it is (once, until it has been tested)."""
    if not _offer_stands(state):
        return None
    return ("Before training: your LoRA was made for LTX-2.3, and many 2.3 LoRAs still work on 2.5. I can test "
            "it as it is on LTX-2.5 beside 2.5 alone (same prompts and seeds) and measure it on your clips, which "
            "costs far less than a retrain. Say 'test it first' (or 'yes'), or 'start' to retrain anyway.")


def agreed_as_is(state: dict[str, Any]) -> dict[str, Any] | None:
    """The call a plain "yes" makes while the as-is offer stands."""
    return _call("evaluate_as_is", {}) if _offer_stands(state) else None


def _offer_stands(state: dict[str, Any]) -> bool:
    old = state.get("old_lora") or {}
    family = (old.get("base_model") or {}).get("family")
    return (is_25(thread_target(state)) and family == "ltx-2.3" and not old.get("ic_lora")
            and bool(state.get("dataset")) and not state.get("as_is") and not latest_job(state, "train"))


def _call(name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"id": new_call_id(), "name": name, "args": args}
