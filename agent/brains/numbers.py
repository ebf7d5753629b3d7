"""Numbers the way people type them, turned into digits the slot grammar can bind: number words ("thirty two",
"a couple thousand"), scientific forms ("2 e-4", "2x10^-4", ".0002"), thousands separators ("1,500"), "720p",
and seconds of video as frames of the 8k+1 rule.
"""

import re

_ONES = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if i > 1}
_SCALES = {"hundred": 100, "thousand": 1000}


def numbers_as_written(t: str) -> str:
    """Numbers the way people type them: ".0001" -> 0.0001, "2 e-4" / "2x10^-4" / "2*10^-4" -> 2e-4, "10^-4" ->
    1e-4, "1,500" -> 1500, "0,0002" -> 0.0002 (a decimal comma), "thirtytwo" -> "thirty two", "a couple (of)
    thousand" -> "two thousand"."""
    t = re.sub(r"(?<![\w.])\.(\d)", r"0.\1", t)
    t = re.sub(r"\b(\d+(?:\.\d+)?)\s*(?:x|\*|\u00d7)\s*10\s*\^\s*([+-]?\d+)\b", r"\1e\2", t)
    t = re.sub(r"(?<![\w.])10\s*\^\s*([+-]?\d+)\b", r"1e\1", t)
    t = re.sub(r"\b(\d+(?:\.\d+)?)\s+e\s*([+-]\d+)\b", r"\1e\2", t)
    t = re.sub(r"\b0,(\d+)\b|\b(\d+),(\d+)(?=e[+-]?\d)", lambda m: f"0.{m.group(1)}" if m.group(1) else
               f"{m.group(2)}.{m.group(3)}", t)  # a decimal comma: "0,0002", "1,5e-4"
    t = re.sub(r"\b(\d{1,3}),(\d{3})\b(?!,\d)", r"\1\2", t)
    t = re.sub(r"\b(" + "|".join(_TENS) + r")(" + "|".join(w for w in _ONES if 0 < _ONES[w] < 10) + r")\b",
               r"\1 \2", t)
    return re.sub(r"\b(?:a\s+)?couple(?:\s+of)?\s+(hundred|thousand)\b", r"two \1", t)


FPS = 24  # LTX-2.x's frame rate (LTX2Pipeline's default): "5 seconds" is 121 frames


def p_resolution(lines: int) -> str:
    """"720p" -> 16:9 at that height, both sides rounded to the multiple of 32 LTX sizes need (1280x704)."""
    height = max(32, round(lines / 32) * 32)
    return f"{max(32, round(lines * 16 / 9 / 32) * 32)}x{height}"


def seconds_to_frames(seconds: float) -> int:
    """Seconds of video -> the nearest frame count of the 8k+1 rule."""
    return max(1, round(seconds * FPS / 8)) * 8 + 1


def number_words(t: str) -> str:
    parts, out, i = re.split(r"(\s+|-|=|:|[?!,.;()])", t), [], 0
    while i < len(parts):
        w = parts[i]
        if w in _ONES or w in _TENS or (w == "a" and _next_word(parts, i) in _SCALES):
            total, current, j, used = 0, 0, i, False
            while j < len(parts):
                x = parts[j]
                if x.strip() in ("", "-") or x == "and" and used:
                    j += 1
                    continue
                if x in _ONES and not (x == "one" and not used and _next_word(parts, j) not in _SCALES):
                    current += _ONES[x]
                elif x in _TENS:
                    current += _TENS[x]
                elif x == "a" and not used and _next_word(parts, j) in _SCALES:
                    current = 1
                elif x in _SCALES and used:
                    current = max(current, 1) * _SCALES[x]
                    if x == "thousand":
                        total, current = total + current, 0
                else:
                    break
                used, j = True, j + 1
            if used and (total or current or parts[i] == "zero"):
                while j > i and parts[j - 1].strip() in ("", "-", "and"):
                    j -= 1
                out.append(str(total + current))
                i = j
                continue
        out.append(w)
        i += 1
    return "".join(out)


def _next_word(parts: list[str], i: int) -> str:
    for x in parts[i + 1:]:
        if x.strip() and x != "-":
            return x
    return ""
