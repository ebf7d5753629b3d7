"""A GPU a user names in words ("my 4090", "a 24 GB card", "an A100") -> the Hardware the plan reasons about.

The memory figures are the cards' published sizes (GiB as the driver reports them is a little lower; the tiers
in ``tools.plan.hardware`` leave room for that). Used to answer "will it fit on my 4090?" before anyone owns the
card in question.
"""

import re

from tools.plan.hardware import Hardware

# name as people write it -> (marketing name, memory in GB). Longest names first when matching.
KNOWN_GPUS: dict[str, tuple[str, float]] = {
    "5090": ("RTX 5090", 32), "5080": ("RTX 5080", 16), "5070 ti": ("RTX 5070 Ti", 16), "5070": ("RTX 5070", 12),
    "4090": ("RTX 4090", 24), "4080": ("RTX 4080", 16), "4070 ti": ("RTX 4070 Ti", 12), "4070": ("RTX 4070", 12),
    "4060 ti": ("RTX 4060 Ti", 16), "4060": ("RTX 4060", 8), "3090 ti": ("RTX 3090 Ti", 24),
    "3090": ("RTX 3090", 24), "3080 ti": ("RTX 3080 Ti", 12), "3080": ("RTX 3080", 10), "3070": ("RTX 3070", 8),
    "3060": ("RTX 3060", 12), "2080 ti": ("RTX 2080 Ti", 11), "titan rtx": ("Titan RTX", 24),
    "a100": ("A100", 80), "a100 40gb": ("A100 40 GB", 40), "h100": ("H100", 80), "h200": ("H200", 141),
    "b200": ("B200", 180), "a6000": ("RTX A6000", 48), "6000 ada": ("RTX 6000 Ada", 48),
    "pro 6000": ("RTX PRO 6000", 96), "l40s": ("L40S", 48), "l40": ("L40", 48), "l4": ("L4", 24),
    "a10g": ("A10G", 24), "a10": ("A10", 24), "t4": ("T4", 16), "v100": ("V100", 16), "a5000": ("RTX A5000", 24),
    "a4000": ("RTX A4000", 16), "mi300x": ("MI300X", 192),
    # laptop parts carry less memory than the desktop card of the same number; "super" / "ti super" variants
    "4090 laptop": ("RTX 4090 Laptop", 16), "4080 laptop": ("RTX 4080 Laptop", 12),
    "4070 ti super": ("RTX 4070 Ti Super", 16), "4070 super": ("RTX 4070 Super", 12),
    "4080 super": ("RTX 4080 Super", 16), "3060 ti": ("RTX 3060 Ti", 8), "3050": ("RTX 3050", 8),
    "2080": ("RTX 2080", 8), "2070": ("RTX 2070", 8), "2060": ("RTX 2060", 6), "1080 ti": ("GTX 1080 Ti", 11),
    "a40": ("A40", 48), "7900 xtx": ("RX 7900 XTX", 24),
}
_APPLE = re.compile(r"\b(?:mac|macbook|imac|mac studio|mac mini|m[1-4](?: pro| max| ultra)?|apple)\b")


def gpu_words(text: str) -> list[str]:
    """The parts of a sentence that name a card ("4090", "24gb", "a100"), so they are not read as settings."""
    low = text.lower()
    keys = sorted(KNOWN_GPUS, key=len, reverse=True)
    pattern = r"(?<![\w.])(?:" + "|".join(re.escape(k) for k in keys) + r"|\d{1,3}\s*(?:gb|gig|gigs|gib))s?(?![\w.])"  # "two 4090s"
    return re.findall(pattern, low)


def gpu_from_text(text: str) -> Hardware | None:
    """The card a sentence names, or None when it names none."""
    low = " " + text.lower().replace("rtx", " ").replace("geforce", " ") + " "
    if _APPLE.search(low):
        return Hardware(device="mps", name="an Apple GPU")
    vram = re.search(r"(\d{1,3})\s*(?:gb|gig|gigs|gib)\b", low)
    for key in sorted(KNOWN_GPUS, key=len, reverse=True):
        if re.search(rf"(?<![\w]){re.escape(key)}s?(?![\w])", low):
            name, gb = KNOWN_GPUS[key]
            gb = float(vram.group(1)) if vram else gb
            return Hardware(device="cuda", name=name, vram_gb=gb, gpu_count=1, bf16=True)
    if vram:
        gb = float(vram.group(1))
        return Hardware(device="cuda", name=f"a {gb:g} GB card", vram_gb=gb, gpu_count=1, bf16=True)
    return None
