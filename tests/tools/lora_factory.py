"""Build LoRA files with real key layouts and real widths (docs/ltx.md, "Fingerprints"), at a low rank.

For any test that needs a LoRA file: ``make_ltx2_lora(tmp_path / "old.safetensors")`` is the default LTX-2 trainer
LoRA (q/k/v/out.0 in all six attention families of 48 blocks = 1152 Linears, 2304 tensors, ``diffusion_model.``
keys, no metadata); ``make_ltx23_lora`` adds the 2.3-only ``to_gate_logits``. The other families have one builder
each. Everything funnels into ``make_lora(path, modules, ...)``, which writes one convention's key names.
"""

from pathlib import Path

import torch
from safetensors.torch import save_file

Modules = dict[str, tuple[int, int]]  # module path -> (out_features, in_features) of the adapted base layer

QKVO = ("to_q", "to_k", "to_v", "to_out.0")
V, A = 4096, 2048  # LTX-2 / 2.3 video and audio widths
# (out, in) per LTX-2 attention family and projection (docs/ltx.md, "Fingerprints").
LTX2_ATTN: dict[str, dict[str, tuple[int, int]]] = {
    "attn1": {p: (V, V) for p in QKVO},
    "attn2": {p: (V, V) for p in QKVO},
    "audio_attn1": {p: (A, A) for p in QKVO},
    "audio_attn2": {p: (A, A) for p in QKVO},
    "audio_to_video_attn": {"to_q": (A, V), "to_k": (A, A), "to_v": (A, A), "to_out.0": (V, A)},
    "video_to_audio_attn": {"to_q": (A, A), "to_k": (A, V), "to_v": (A, V), "to_out.0": (A, A)},
}
GATE = {"attn1": (32, V), "attn2": (32, V), "audio_attn1": (32, A), "audio_attn2": (32, A),
        "audio_to_video_attn": (32, V), "video_to_audio_attn": (32, A)}  # to_gate_logits: Linear(query_dim, heads)
KOHYA_TE = {"text_encoder1.": "lora_te1_", "text_encoder2.": "lora_te2_"}


def ltx2_modules(n_blocks: int = 48, audio: bool = True, gate: bool = False, ff: bool = False) -> Modules:
    """LTX-2 (gate=False) or LTX-2.3 (gate=True) attention targets; audio=False keeps the video stream only."""
    families = [f for f in LTX2_ATTN if audio or f in ("attn1", "attn2")]
    out: Modules = {}
    for b in range(n_blocks):
        for fam in families:
            for proj, shape in LTX2_ATTN[fam].items():
                out[f"transformer_blocks.{b}.{fam}.{proj}"] = shape
            if gate:
                out[f"transformer_blocks.{b}.{fam}.to_gate_logits"] = GATE[fam]
        if ff:
            out[f"transformer_blocks.{b}.ff.net.0.proj"] = (4 * V, V)
            out[f"transformer_blocks.{b}.ff.net.2"] = (V, 4 * V)
    return out


def ltx_video_modules(size: str = "2b") -> Modules:
    """LTX-Video 0.9.x: attn1, attn2 and ff in 28 blocks x 2048 (2B) or 48 x 4096 (13B)."""
    n, d = {"2b": (28, 2048), "13b": (48, 4096)}[size]
    out: Modules = {}
    for b in range(n):
        for fam in ("attn1", "attn2"):
            for proj in QKVO:
                out[f"transformer_blocks.{b}.{fam}.{proj}"] = (d, d)
        out[f"transformer_blocks.{b}.ff.net.0.proj"] = (4 * d, d)
        out[f"transformer_blocks.{b}.ff.net.2"] = (d, 4 * d)
    return out


def wan_modules(size: str = "1.3b", i2v: bool = False) -> Modules:
    """Wan 2.1 self/cross attention: 30 blocks x 1536 (1.3B) or 40 x 5120 (14B); i2v adds k_img / v_img."""
    n, d = {"1.3b": (30, 1536), "14b": (40, 5120)}[size]
    out: Modules = {}
    for b in range(n):
        for fam in ("self_attn", "cross_attn"):
            for proj in ("q", "k", "v", "o"):
                out[f"blocks.{b}.{fam}.{proj}"] = (d, d)
        if i2v:
            out[f"blocks.{b}.cross_attn.k_img"] = (d, d)
            out[f"blocks.{b}.cross_attn.v_img"] = (d, d)
    return out


def hunyuan_modules() -> Modules:
    """HunyuanVideo: 20 double blocks (img/txt attn_qkv, attn_proj) + 40 single blocks (linear1/2), 3072 wide."""
    return _double_single_modules(n_double=20, n_single=40, attn="attn_")


def flux_modules() -> Modules:
    """Flux.1 (original key names): 19 double blocks (img/txt_attn.qkv, .proj) + 38 single blocks, 3072 wide."""
    return _double_single_modules(n_double=19, n_single=38, attn="attn.")


def _double_single_modules(n_double: int, n_single: int, attn: str, d: int = 3072) -> Modules:
    """The double-stream / single-stream layout HunyuanVideo and Flux share; only counts and the attn name differ."""
    out: Modules = {}
    for b in range(n_double):
        for s in ("img", "txt"):
            out[f"double_blocks.{b}.{s}_{attn}qkv"] = (3 * d, d)
            out[f"double_blocks.{b}.{s}_{attn}proj"] = (d, d)
    for b in range(n_single):
        out[f"single_blocks.{b}.linear1"] = (3 * d + 4 * d, d)
        out[f"single_blocks.{b}.linear2"] = (d, d + 4 * d)
    return out


def sdxl_modules() -> Modules:
    """SDXL UNet cross-attention (640 / 1280 wide, text features 2048) plus both text encoders (kohya names)."""
    out: Modules = {}
    for blk, d in (("input_blocks.4.1", 640), ("input_blocks.7.1", 1280), ("output_blocks.0.1", 1280)):
        base = f"{blk}.transformer_blocks.0"
        out.update({f"{base}.attn1.{p}": (d, d) for p in ("to_q", "to_k", "to_v")})
        out.update({f"{base}.attn2.to_q": (d, d), f"{base}.attn2.to_k": (d, 2048), f"{base}.attn2.to_v": (d, 2048)})
    for te, d in (("text_encoder1", 768), ("text_encoder2", 1280)):
        for layer in range(2):
            for p in ("q_proj", "k_proj", "v_proj", "out_proj"):
                out[f"{te}.text_model.encoder.layers.{layer}.self_attn.{p}"] = (d, d)
    return out


def make_lora(path: str | Path, modules: Modules, *, rank: int = 4, convention: str = "comfy",
              dtype: torch.dtype = torch.bfloat16, metadata: dict[str, str] | None = None, alpha: float | None = None,
              kind: str = "lora", zero_b: bool = False, nan_in: str | None = None, seed: int = 0) -> Path:
    """Write a LoRA for ``modules`` in one convention: comfy | diffusers | peft | kohya (kind: lora | lokr).

    ``zero_b`` writes all-zero B (up) matrices (an untrained LoRA); ``nan_in`` puts NaN into the B matrix of every
    module whose path contains that text. kohya files get an ``.alpha`` scalar per module (``alpha`` or rank).
    """
    gen = torch.Generator().manual_seed(seed)
    tensors: dict[str, torch.Tensor] = {}
    for mod, (out_f, in_f) in modules.items():
        if kind == "lokr":
            tensors.update(_lokr(mod, out_f, in_f, rank, alpha, dtype, gen))
            continue
        a = (torch.randn(rank, in_f, generator=gen) * 0.02).to(dtype)  # lora_A: (r, in)
        b = torch.zeros(out_f, rank) if zero_b else torch.randn(out_f, rank, generator=gen) * 0.01  # lora_B: (out, r)
        if nan_in and nan_in in mod:
            b[0, 0] = float("nan")
        down, up = _names(mod, convention)
        tensors[down], tensors[up] = a, b.to(dtype)
        if convention == "kohya":
            tensors[_kohya(mod) + ".alpha"] = torch.tensor(float(alpha if alpha is not None else rank), dtype=dtype)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata)
    return path


def _names(mod: str, convention: str) -> tuple[str, str]:
    if convention == "kohya":
        k = _kohya(mod)
        return f"{k}.lora_down.weight", f"{k}.lora_up.weight"
    prefix = {"comfy": "diffusion_model.", "diffusers": "transformer.", "peft": "base_model.model."}[convention]
    return f"{prefix}{mod}.lora_A.weight", f"{prefix}{mod}.lora_B.weight"


def _kohya(mod: str) -> str:
    for te, prefix in KOHYA_TE.items():
        if mod.startswith(te):
            return prefix + mod[len(te):].replace(".", "_")
    return "lora_unet_" + mod.replace(".", "_")


def _lokr(mod, out_f, in_f, rank, alpha, dtype, gen) -> dict[str, torch.Tensor]:
    """LyCORIS LoKr: delta W = kron(w1 (8, 8), w2_a (out/8, r) @ w2_b (r, in/8))."""
    k = _kohya(mod)
    return {
        f"{k}.lokr_w1": (torch.randn(8, 8, generator=gen) * 0.1).to(dtype),
        f"{k}.lokr_w2_a": (torch.randn(out_f // 8, rank, generator=gen) * 0.1).to(dtype),
        f"{k}.lokr_w2_b": (torch.randn(rank, in_f // 8, generator=gen) * 0.1).to(dtype),
        f"{k}.alpha": torch.tensor(float(alpha if alpha is not None else rank), dtype=dtype),
    }


def make_ltx2_lora(path: str | Path, rank: int = 4, audio: bool = True, metadata: dict[str, str] | None = None,
                   **kw) -> Path:
    """An old LTX-2 LoRA as Lightricks' trainer writes it: q/k/v/out.0 of every attention, comfy keys, no alpha.

    Its keys alone cannot tell LTX-2 from LTX-2.3; pass ``metadata=ltx2_metadata()`` or name the file
    ``ltx-2-19b-*.safetensors`` to make it identifiably LTX-2.
    """
    return make_lora(path, ltx2_modules(audio=audio, n_blocks=kw.pop("n_blocks", 48)), rank=rank,
                     metadata=metadata, **kw)


def make_ltx23_lora(path: str | Path, rank: int = 4, metadata: dict[str, str] | None = None, **kw) -> Path:
    """An LTX-2.3 LoRA with the 2.3-only ``to_gate_logits`` layers (as ai-toolkit writes them)."""
    return make_lora(path, ltx2_modules(gate=True, n_blocks=kw.pop("n_blocks", 48)), rank=rank, metadata=metadata,
                     **kw)


def ltx2_metadata() -> dict[str, str]:
    """musubi-style metadata that names LTX-2 as the base model."""
    return {"modelspec.architecture": "ltx-2/lora", "ss_base_model_version": "ltx2", "ss_network_dim": "4",
            "ss_network_alpha": "4", "ss_max_train_steps": "2000", "ss_learning_rate": "0.0001",
            "ss_output_name": "my_ltx2_lora", "modelspec.trigger_phrase": "ohwx"}


def loraport_metadata(base_model: str = "ltx-2.3", **fields) -> dict[str, str]:
    """The ``loraport.*`` keys of loraport's own export (docs/CONTRACTS.md), plus ``modelspec.*``."""
    md = {"loraport.base_model": base_model, "loraport.base_model_version": base_model.removeprefix("tiny-ltx-"),
          "loraport.recipe": "character", "loraport.trigger_word": "ohwx", "loraport.rank": "4",
          "loraport.alpha": "4", "loraport.steps": "2000", "loraport.learning_rate": "0.0001",
          "modelspec.architecture": f"{base_model}/lora", "modelspec.trigger_phrase": "ohwx"}
    md.update({f"loraport.{k}": str(v) for k, v in fields.items()})
    return md
