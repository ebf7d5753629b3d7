"""``tools.suggest.suggest(report)``: the advice of an evaluation (the contract's name; lives in tools.evaluate)."""

from tools.evaluate import suggest

__all__ = ["suggest"]
