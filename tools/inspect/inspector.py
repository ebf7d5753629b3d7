"""inspect_lora: read a LoRA file's header (and, unless asked not to, stream its weights) into an InspectReport."""

import gc
import math
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from core.errors import LoraportError
from tools.inspect import metadata as meta
from tools.inspect.fingerprint import LTX2_AUDIO, identify, version_of
from tools.inspect.keys import Layout, parse_layout
from tools.inspect.report import (BaseModelInfo, CarryOver, Health, InspectReport, Migration, RankInfo, Targets,
                                  Training, guess_recipe, judge, normalise_target, unchecked)
from tools.inspect.safetensors_header import Header, read_header, read_scalars, resolve_source
from tools.inspect.structure import structure_findings
from tools.inspect.targets import target_facts

IMAGE_FAMILIES = {"flux", "sdxl", "sd1"}
CROSS_MODAL = {"audio_to_video_attn", "video_to_audio_attn"}


def inspect_lora(path: str | Path, target: str = "ltx-2.3", header_only: bool = False,
                 progress=None, *, header: Header | None = None) -> InspectReport:
    """Inspect a LoRA file: the base model it was made for, rank, targets, health, and whether it works on the target.

    Reads the safetensors header itself (bounded, validated); without ``header_only`` it also streams every
    tensor once to check for NaN / Inf / all-zero layers. ``progress(n_bytes)`` is called per run of tensors read.
    Raises ``LoraportError`` for anything that is not a readable safetensors LoRA (pickles are refused unopened).
    ``header``: the weights file's header when the caller has read it already, so it is not read again.
    """
    target = normalise_target(target)
    source = resolve_source(path)
    with _gc_paused(), _os_errors(source.weights.name):
        header = header or read_header(source.weights)
        layout = parse_layout(header.tensors)
    if not any(set(m.parts) - {"alpha"} for m in layout.modules.values()):
        raise LoraportError(
            f"{source.weights.name} holds no LoRA layers: none of its {len(header.tensors)} tensors is a LoRA matrix "
            f"(lora_A / lora_B, lora_down / lora_up, LoKr, LoHa or diff), e.g. {header.tensors[0].name[:100]!r}. "
            "It looks like a full model or another kind of file: point to the LoRA itself.")
    md = header.metadata
    name_hint = source.weights.name if source.adapter_config is None else f"{Path(path).name}/{source.weights.name}"
    guess = identify(layout, md, name_hint, source.adapter_config)
    base = BaseModelInfo(family=guess.family, variant=guess.variant, version=version_of(guess.family),
                         confidence=round(min(max(guess.confidence, 0.0), 1.0), 2), evidence=guess.evidence)

    rank = _rank(layout)
    training = Training(**meta.training_info(md, source.adapter_config, source.weights.name))
    alpha_entries = [m.parts["alpha"] for m in layout.modules.values() if "alpha" in m.parts]
    alphas = read_scalars(header, alpha_entries) if alpha_entries else {}
    alpha = _alpha(alphas, layout, training, rank.mode)
    scale = _scale(layout, alphas) or (round(alpha / rank.mode, 6) if alpha is not None and rank.mode else None)
    modality = _modality(layout, base.family)
    if header_only:
        health = unchecked()
    else:
        from tools.inspect.health import check_health  # torch: imported only when the weights are read

        with _os_errors(source.weights.name):
            health = check_health(header, layout, progress)
    _add_structure(health, layout, alphas)
    ic, ic_source = meta.ic_lora_info(md, [name_hint, md.get("ss_output_name"), md.get("modelspec.title"),
                                          md.get("name")])
    triggers = meta.trigger_words(md)
    recipe, why = guess_recipe(md, source.weights.name, triggers, ic, rank.mode, modality)
    carry = CarryOver(rank=training.rank or rank.mode, steps=training.steps, learning_rate=training.learning_rate,
                      trigger_word=triggers[0] if triggers else None, resolution=training.resolution,
                      frames=meta.frames(md))
    return InspectReport(
        path=str(source.weights.resolve()),
        file_size=header.file_size,
        n_tensors=len(header.tensors),
        n_params=sum(t.numel for t in header.tensors),
        dtypes=dict(Counter(t.dtype for t in header.tensors).most_common()),
        convention=layout.convention,
        prefix=layout.prefix,
        kind=layout.kind,
        base_model=base,
        modality=modality,
        audio_trained=_audio_trained(health),
        rank=rank,
        alpha=alpha,
        scale=scale,
        targets=_targets(layout),
        ic_lora=ic,
        metadata=meta.cut_metadata(md),
        trigger_words=triggers,
        training=training,
        health=health,
        verdict=judge(base, target, health, target_facts(layout, ic_source), source.weights.name),
        migration=Migration(recipe=recipe, why=why, carry_over=carry),
    )


@contextmanager
def _os_errors(name: str):
    """A file the system cannot read (permissions, an I/O error on a network drive) is a LoraportError too."""
    try:
        yield
    except OSError as err:
        raise LoraportError(f"{name} cannot be read: {err.strerror or err}. Check the file and its permissions.") \
            from None


@contextmanager
def _gc_paused():
    """A big header becomes ~10k acyclic objects (entries, modules, their dicts); the cyclic collector's passes
    over them (and over torch's ~175k objects) measured 10-20% of a header-only inspection. Nothing here makes
    cycles, so nothing is left for it to find. Re-enabled after (only if it was on: nesting and threads are safe)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _rank(layout: Layout) -> RankInfo:
    ranks = [m.rank for m in layout.modules.values() if m.rank is not None]
    if not ranks:
        return RankInfo()
    return RankInfo(min=min(ranks), max=max(ranks), mode=Counter(ranks).most_common(1)[0][0])


def _alpha(alphas: dict[str, float], layout: Layout, training: Training, rank_mode: int | None) -> float | None:
    """kohya ``.alpha`` tensors (scale = alpha / rank), else metadata, else alpha = rank (comfy / Lightricks).
    NaN / Inf alphas are left out here (structure_findings reports them): a report holds finite numbers only."""
    finite = [round(v, 6) for v in alphas.values() if math.isfinite(v)]
    if finite:
        return Counter(finite).most_common(1)[0][0]
    if alphas:
        return None
    if training.alpha is not None:
        return training.alpha
    if layout.kind in ("lora", "dora") and rank_mode:
        return float(rank_mode)  # no alpha anywhere: loaders use scale 1, i.e. alpha = rank
    return None


def _scale(layout: Layout, alphas: dict[str, float]) -> float | None:
    """The most common per-layer alpha / rank: with mixed ranks, the most common alpha over the most common rank
    can pair numbers of different layers (alpha 16 of the rank-32 layers over rank 8 of the others)."""
    scales = Counter()
    for m in layout.modules.values():
        a, r = m.parts.get("alpha"), m.rank
        if a is not None and r and math.isfinite(alphas.get(a.name, math.nan)):
            scales[round(alphas[a.name] / r, 6)] += 1
    return scales.most_common(1)[0][0] if scales else None


def _add_structure(health: Health, layout: Layout, alphas: dict[str, float]) -> None:
    """Header-level problems join the weight findings; they decide the status when the weights were read (a
    header-only report keeps status None but still lists them)."""
    findings, status = structure_findings(layout, alphas)
    health.findings += findings
    if health.checked and status and _RANK[status] > _RANK.get(health.status or "ok", 0):
        health.status = status


_RANK = {"ok": 0, "suspect": 1, "broken": 2}


def _modality(layout: Layout, family: str) -> str | None:
    if family in IMAGE_FAMILIES:
        return "image"
    if family == "other":  # named by its metadata only: its layer names say nothing about sound or video
        return None
    if not layout.modules:
        return None
    families = {m.stack[2].split(".")[0] if m.stack else m.path.split(".")[0] for m in layout.modules.values()}
    audio = bool(families & (LTX2_AUDIO - CROSS_MODAL)) or any(f.startswith("audio_") for f in families)
    video = bool(families - LTX2_AUDIO - {f for f in families if f.startswith("audio_")})
    if families & CROSS_MODAL or (audio and video):
        return "audio+video"
    return "audio" if audio else "video"


def _audio_trained(health) -> bool | None:
    """Trained on sound when at least half the audio-branch B matrices are non-zero. peft starts every B at zero,
    so a video-only run that still adapts the audio branch (or a broken save) leaves them at zero."""
    if not health.checked or not health.audio_B_layers:
        return None
    return 2 * health.audio_trained_B_layers >= health.audio_B_layers


def _targets(layout: Layout) -> Targets:
    families, modules, blocks = set(), set(), {}
    for m in layout.modules.values():
        if m.stack:
            stack, idx, inner = m.stack
            blocks.setdefault(stack, set()).add(idx)
            modules.add(inner)
            families.add(inner.split(".")[0])
        else:
            modules.add(m.path)
            families.add(m.path.split(".")[0])
    return Targets(families=sorted(families), modules=sorted(modules),
                   blocks={k: sorted(v) for k, v in sorted(blocks.items())}, layers_adapted=len(layout.modules))

