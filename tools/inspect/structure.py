"""Problems the header alone shows: LoRA matrices that do not fit together, and alpha values that silence a LoRA.

A LoRA layer adds ``B @ A * alpha / rank`` to its base weight, with A (lora_A / lora_down) of shape (rank, in) and
B (lora_B / lora_up) of shape (out, rank). A layer with only one of the two, or whose A and B disagree on the rank,
cannot be applied (loaders fail or skip it); rank 0 or alpha 0 adds nothing; a NaN / Inf alpha poisons the layer;
a negative alpha turns the learned change around. None of this needs the weights, so header-only reports get it too.
"""

import math

from tools.inspect.keys import Layout


def structure_findings(layout: Layout, alphas: dict[str, float]) -> tuple[list[str], str | None]:
    """(findings, worst status: "broken" | "suspect" | None). ``alphas``: kohya ``.alpha`` values by tensor name."""
    lone, misfit, empty = [], [], []
    for path, m in layout.modules.items():
        p = m.parts
        if ("A" in p) != ("B" in p):
            lone.append(path)
        elif "A" in p:
            a, b = p["A"].shape, p["B"].shape
            if len(a) < 2 or len(b) < 2 or a[0] != b[1]:
                misfit.append(f"{path} (A {list(a)}, B {list(b)})")
            elif a[0] == 0:
                empty.append(path)
    n_lora = sum("A" in m.parts or "B" in m.parts for m in layout.modules.values())
    findings: list[str] = []
    status: str | None = None
    if lone:
        status = "broken"
        findings.append(f"{len(lone)} layer(s) carry only one of their two LoRA matrices (A/down or B/up), e.g. "
                        f"{_few(lone)}: loaders fail on or skip them; the file is incomplete.")
    if misfit:
        status = "broken"
        findings.append(f"{len(misfit)} layer(s) have A and B matrices whose ranks do not match, e.g. "
                        f"{_few(misfit)}: no loader can apply them; the file is damaged.")
    if empty:
        status = "broken" if len(empty) == n_lora else status or "suspect"
        findings.append(f"{len(empty)} of {n_lora} layer(s) have rank 0 (empty matrices), e.g. {_few(empty)}: "
                        "they change nothing.")
    bad = sorted(k for k, v in alphas.items() if not math.isfinite(v))
    zero = sorted(k for k, v in alphas.items() if v == 0)
    negative = sorted(k for k, v in alphas.items() if v < 0)
    if bad:
        status = "broken"
        findings.append(f"{len(bad)} alpha value(s) are NaN or Inf, e.g. {_few(bad)}: those layers break any "
                        "output they touch.")
    if zero:
        status = "broken" if len(zero) == len(alphas) else status or "suspect"
        findings.append(f"{len(zero)} of {len(alphas)} alpha value(s) are 0, e.g. {_few(zero)}: scale alpha / rank "
                        "is 0, so those layers change nothing.")
    if negative:
        status = status or "suspect"
        findings.append(f"{len(negative)} alpha value(s) are negative, e.g. {_few(negative)}: those layers apply "
                        "the opposite of what they learned.")
    return findings, status


def _few(names: list[str], n: int = 2) -> str:
    shown = ", ".join(names[:n])
    return shown + (f" (+{len(names) - n} more)" if len(names) > n else "")
