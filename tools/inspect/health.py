"""Weight health, streamed: NaN/Inf anywhere, zero or near-zero B (up) matrices, outlier norms.

These are the failures users actually meet (docs/ltx.md, "Failures users meet"): NaN in ``to_gate_logits.lora_B`` renders black video; an
all-zero B (peft initialises B to zero, so an untrained or broken save) makes a LoRA that "does nothing". Each
tensor is read once: runs of adjacent same-shape tensors are read into one reused buffer of bounded size and reduced
with one op per run (``run_stats``), so peak memory stays near that buffer whatever the file size.
"""

import math
import statistics
from dataclasses import dataclass

import torch

from tools.inspect.keys import Layout
from tools.inspect.report import Health
from tools.inspect.safetensors_header import FLOAT_DTYPES, Header, iter_runs

CHUNK = 1 << 15  # elements per reduction: at or under torch's parallel grain (32768), so no thread pool spins up
# (with 2+ threads, forking each small reduction was 10x slower than the work itself); float64 scratch: 256 KiB
FP8 = (torch.float8_e4m3fn, torch.float8_e5m2)
NEAR_ZERO = 1e-6  # largest root-mean-square of a B matrix that still counts as "does nothing"
OUTLIER_RATIO = 100.0  # a B norm this many times the median is worth a look


@dataclass
class TensorStats:
    nan: int = 0
    inf: int = 0
    sum_sq: float = 0.0  # over the finite values
    numel: int = 0

    @property
    def norm(self) -> float:
        return self.sum_sq ** 0.5

    @property
    def rms(self) -> float:
        return (self.sum_sq / self.numel) ** 0.5 if self.numel else 0.0


def tensor_stats(t: torch.Tensor, norm: bool = True) -> TensorStats:
    """NaN/Inf counts and (with ``norm``) the sum of squares of one tensor, reduced CHUNK elements at a time.

    Fast path: a sum (or a float32-accumulated norm) per chunk, with no float copy of the chunk. It is finite
    whenever the chunk holds no NaN/Inf, so the ~10x slower isnan/isinf counting runs only on chunks that need
    it (those with NaN/Inf, or whose sum overflowed).
    """
    s = TensorStats(numel=t.numel())
    flat = t.reshape(-1)
    for start in range(0, flat.numel(), CHUNK):
        c = flat[start:start + CHUNK]
        if c.dtype in FP8:
            c = c.to(torch.float32)  # reductions are not implemented for fp8 on CPU
        acc = torch.float64 if c.dtype == torch.float64 else torch.float32  # norm refuses to narrow float64
        value = float(torch.linalg.vector_norm(c, dtype=acc) if norm else c.sum(dtype=acc))
        if not math.isfinite(value):
            c = c.to(torch.float64)  # (<=CHUNK,) scratch; float64 because finite values may still overflow
            bad_nan, bad_inf = torch.isnan(c), torch.isinf(c)
            s.nan += int(bad_nan.sum())
            s.inf += int(bad_inf.sum())
            value = float(torch.linalg.vector_norm(c.masked_fill(bad_nan | bad_inf, 0.0)))
        if norm:
            s.sum_sq += value * value
    return s


def run_stats(block: torch.Tensor) -> list[TensorStats]:
    """Stats of each row of an (n, numel) run of same-dtype tensors: one row-wise norm for the whole run.

    The norm is taken in the block's own dtype: torch accumulates in float32 either way, but asking for a float32
    result first copies the whole block to float32 (2x its bytes in memory, and measured ~2x slower). The result is
    rounded to that dtype (bf16: ~3 significant digits, plenty for zero / near-zero / 100x-outlier tests). A row
    whose norm is finite holds no NaN/Inf; only the others (NaN/Inf, or a norm past the dtype's range, e.g. fp16
    over 65504) are recounted exactly by ``tensor_stats``. fp8 has no CPU reductions: it goes row by row, chunked.
    """
    n, numel = block.shape
    if block.dtype in FP8 or numel == 0:
        return [tensor_stats(row) for row in block]
    norms = torch.linalg.vector_norm(block, dim=1).tolist()  # (n,) in block.dtype, no copy of the block
    return [TensorStats(sum_sq=v * v, numel=numel) if math.isfinite(v * v) else tensor_stats(block[i])
            for i, v in enumerate(norms)]


def check_health(header: Header, layout: Layout, progress=None) -> Health:
    """Stream every tensor once; ``progress(n_bytes)`` is called after each run of tensors (for a progress bar)."""
    b_names = {m.parts["B"].name: path for path, m in layout.modules.items() if "B" in m.parts}
    res = Health(checked=True)
    nan_names, inf_names, zero, near, norms = [], [], [], [], []
    audio_norms: list[float] = []  # B norms of the audio branch: trained (non-zero) or left at peft's zero init
    threads = torch.get_num_threads()
    # Each run is ~1 MiB: forking torch's pool for it costs more than it saves (full inspect of the 408 MiB bench
    # LoRA: 0.073 s on 1 thread, 0.12 s on 2, this shared 2-core machine). Restored after: callers keep theirs.
    torch.set_num_threads(1)
    try:
        for run, block in iter_runs(header):
            stats = run_stats(block) if run[0].dtype in FLOAT_DTYPES else [None] * len(run)
            for entry, st in zip(run, stats):
                if st is None or not entry.numel:
                    continue
                if st.nan:
                    nan_names.append(entry.name)
                if st.inf:
                    inf_names.append(entry.name)
                if entry.name in b_names:
                    if st.sum_sq == 0.0 and not (st.nan or st.inf):
                        zero.append(b_names[entry.name])
                    elif st.rms < NEAR_ZERO and not (st.nan or st.inf):
                        near.append(b_names[entry.name])
                    norms.append(st.norm)
                    if is_audio_branch(b_names[entry.name]):
                        audio_norms.append(st.norm if st.rms >= NEAR_ZERO and not (st.nan or st.inf) else 0.0)
                elif not b_names and not entry.name.endswith(".alpha"):
                    norms.append(st.norm)  # LoKr / LoHa / diff: no B to single out, so every factor counts
            if progress:
                progress(run[-1].end - run[0].begin)
    finally:
        torch.set_num_threads(threads)
    res.nan_tensors, res.inf_tensors = len(nan_names), len(inf_names)
    res.zero_B_layers, res.near_zero_B_layers = len(zero), len(near)
    if norms:
        res.median_norm, res.max_norm = float(statistics.median(norms)), float(max(norms))
    if audio_norms:
        res.audio_B_layers, res.audio_trained_B_layers = len(audio_norms), sum(n > 0 for n in audio_norms)
        res.audio_median_norm = float(statistics.median(audio_norms))
    _judge(res, nan_names, inf_names, zero, near, n_b=len(b_names))
    return res


def is_audio_branch(path: str) -> bool:
    """A module of LTX-2.x's audio branch: audio self/text attention, audio feed-forward, or either cross-modal
    attention (`transformer_blocks.3.audio_attn1.to_q`, `audio_proj_in`, ...)."""
    return any(part.startswith("audio_") or part in ("audio_to_video_attn", "video_to_audio_attn")
               for part in path.split("."))


def _judge(res: Health, nan_names, inf_names, zero, near, n_b: int) -> None:
    broken = suspect = False
    if nan_names:
        broken = True
        gate = " (in to_gate_logits: expect black video)" if any("to_gate_logits" in n for n in nan_names) else ""
        res.findings.append(f"{len(nan_names)} tensor(s) contain NaN{gate}, e.g. {_few(nan_names)}: the LoRA will "
                            "break any output it touches; retrain or use an earlier checkpoint.")
    if inf_names:
        broken = True
        res.findings.append(f"{len(inf_names)} tensor(s) contain Inf, e.g. {_few(inf_names)}: the file is unusable.")
    dead = len(zero) + len(near)
    if n_b and dead == n_b:
        broken = True
        res.findings.append(f"all {n_b} B (up) matrices are zero or near zero: this LoRA changes nothing "
                            "(untrained, or saved before its first step).")
    elif dead:
        suspect = True
        res.findings.append(f"{dead} of {n_b} B (up) matrices are zero or near zero, e.g. {_few(zero + near)}: "
                            "those layers were never trained.")
    if res.median_norm and res.max_norm and res.max_norm > OUTLIER_RATIO * res.median_norm:
        suspect = True
        res.findings.append(f"one layer's norm ({res.max_norm:.3g}) is over {OUTLIER_RATIO:.0f}x the median "
                            f"({res.median_norm:.3g}): a sign of a diverged or badly merged layer.")
    res.status = "broken" if broken else "suspect" if suspect else "ok"


def _few(names: list[str], n: int = 2) -> str:
    shown = ", ".join(names[:n])
    return shown + (f" (+{len(names) - n} more)" if len(names) > n else "")


