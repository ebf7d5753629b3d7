"""Which items are held out of training: one rule, used by the dataset importer (which writes each item's split
into captions.jsonl) and by the trainer (which decides only for a folder whose splits nobody wrote down).

Under MIN_ITEMS_FOR_HOLDOUT items nothing is held out: on a set that small every clip is needed for training,
and over-fitting is judged from the samples instead. From there on, max(1, round(n * fraction)) items are held
out (always leaving one to train on), ranked by a seeded hash of their content, so the choice survives renames
and copies and is the same on every machine and in every run of the same dataset.
"""

import hashlib

MIN_ITEMS_FOR_HOLDOUT = 5
HOLDOUT_SEED = 0  # the split belongs to the dataset, not to a run: a run's own seed does not move it


def holdout_names(content: dict[str, str], *, fraction: float, seed: int = HOLDOUT_SEED) -> list[str]:
    """The names (sorted) to hold out, from `content`: item name -> sha256 of its file's bytes."""
    n = len(content)
    if fraction <= 0 or n < MIN_ITEMS_FOR_HOLDOUT:
        return []
    k = min(max(1, round(n * fraction)), n - 1)
    ranked = sorted(content, key=lambda name: hashlib.sha256(f"{seed}:{content[name]}".encode()).hexdigest())
    return sorted(ranked[:k])
