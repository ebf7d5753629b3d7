"""Dataset -> cached model inputs: buckets, VAE latents and text embeddings, encoded once per model.

Layout on disk: docs/CONTRACTS.md ("Dataset layout"). Cache: ``<cache_dir>/latents-<sha>.safetensors`` keyed by
(VAE encoder bytes, file content, bucket) and ``<cache_dir>/text-<sha>.safetensors`` keyed by (model, caption with
trigger), so a second run encodes nothing, a caption edit re-encodes only text, another model never reuses the
text, and reuses latents only from a sibling model cache whose encoder is byte-identical (LTX-2.3 -> 2.5).
"""

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from core.disk import DiskFullError
from core.errors import LoraportError
from trainer.cache import _Cache, cache_key, encode_video, file_sha256
from trainer.config import Bucket, TrainConfig
from trainer.latent_space import latent_space_key
from trainer.listing import MediaError, _Entry, list_entries  # noqa: F401 (read from here by other modules)
from trainer.manifest import CAPTIONS_FILE, REFERENCE_COLUMNS  # noqa: F401 (read from here by other modules)
from trainer.models import phases, prompt_cache
from trainer.media import count_frames, decode, probe



@dataclass
class TextEmbeds:
    """The connectors' outputs, exactly what the transformer cross-attends to."""

    video: torch.Tensor  # (B, L, D_video)
    audio: torch.Tensor  # (B, L, D_audio)
    mask: torch.Tensor  # (B, L) 1 = attend (all ones on 2.3: learnable registers fill the padding)


@dataclass
class PreparedItem:
    media: str  # path relative to the dataset dir
    caption: str  # as encoded, trigger word included
    split: str  # "train" | "holdout"
    bucket: Bucket
    fps: float
    latents: torch.Tensor  # (C, F', H', W') float32, normalised with the VAE's latents_mean/std
    video_embeds: torch.Tensor  # (L, D_video), text encoder dtype
    audio_embeds: torch.Tensor  # (L, D_audio)
    mask: torch.Tensor  # (L,)
    ref_latents: torch.Tensor | None = None  # IC-LoRA reference, same grid as latents (or 1/n of it)
    reference: str | None = None  # IC-LoRA: the reference file, relative to the dataset dir like `media`
    audio_latents: torch.Tensor | None = None  # (L, D_audio) packed, normalised audio tokens; None = no sound

    @property
    def bucket_key(self) -> tuple[int, ...]:
        """Items with the same key stack into one batch (latent shapes agree, sound or not, as long)."""
        grid = tuple(self.latents.shape[1:])
        return grid if self.audio_latents is None else (*grid, self.audio_latents.shape[0])

    # The names trainer.batches.collate reads.
    @property
    def prompt_embeds(self) -> torch.Tensor:
        return self.video_embeds

    @property
    def audio_prompt_embeds(self) -> torch.Tensor:
        return self.audio_embeds

    @property
    def prompt_mask(self) -> torch.Tensor:
        return self.mask


@dataclass
class PreparedDataset:
    train: list[PreparedItem]
    holdout: list[PreparedItem]
    errors: list[MediaError]
    dataset_hash: str  # sha256 over (media content hash, caption, split) of the usable items
    stats: dict = field(default_factory=dict)  # encoded_latents, encoded_texts, cached_latents, cached_texts
    # Audio runs: clips that train without their sound (none, undecodable, silent) and why; remarks on the
    # sound of clips that do train it (padded with silence, ...).
    without_sound: list[MediaError] = field(default_factory=list)
    audio_notes: list[MediaError] = field(default_factory=list)


def choose_bucket(width: int, height: int, frames: int, buckets: list[Bucket]) -> Bucket:
    """The bucket nearest in aspect ratio among those the clip is long enough for (images: F = 1).

    Ties go to the longer, then the larger bucket. A video shorter than every video bucket is refused.
    """
    if not buckets:
        raise LoraportError("No buckets configured: add at least one width x height x frames bucket.")
    video_buckets = [b for b in buckets if b.frames > 1]
    if frames <= 1:
        image_buckets = [b for b in buckets if b.frames == 1]
        pool = image_buckets or [Bucket(width=b.width, height=b.height, frames=1) for b in buckets]
    elif video_buckets:
        pool = [b for b in video_buckets if b.frames <= frames]
        if not pool:
            shortest = min(b.frames for b in video_buckets)
            raise LoraportError(f"too short: {frames} frames, the shortest bucket needs {shortest}; "
                                f"use a longer clip or add a shorter bucket.")
    else:
        pool = buckets  # image-only buckets: a video contributes its first frame
    aspect = math.log(width / height)
    return min(pool, key=lambda b: (abs(math.log(b.width / b.height) - aspect), -b.frames, -b.width * b.height))


# -- text --------------------------------------------------------------------------------------------------------

def _text_pipeline(components):
    """An LTX2Pipeline holding only the text parts, so prompts go through diffusers' own encode path."""
    from diffusers import LTX2Pipeline

    return LTX2Pipeline(scheduler=None, vae=None, audio_vae=None, text_encoder=components.text_encoder,
                        tokenizer=components.tokenizer, connectors=components.connectors, transformer=None,
                        vocoder=None)


@torch.no_grad()
def encode_prompts(components, prompts: list[str]) -> TextEmbeds:
    """Gemma 3 (all hidden states) -> text connectors, as ``LTX2Pipeline.__call__`` does for its prompt."""
    pipe = _text_pipeline(components)
    device = components.text_encoder.device
    embeds, mask = pipe._get_gemma_prompt_embeds(
        list(prompts), max_sequence_length=components.spec.max_sequence_length, device=device)
    video, audio, out_mask = components.connectors(
        embeds, mask, padding_side=getattr(components.tokenizer, "padding_side", "left"))
    return TextEmbeds(video=video, audio=audio, mask=out_mask)


def _assign_holdout(entries: list[_Entry], fraction: float) -> None:
    """Splits written in captions.jsonl (by the importer, or the user) stand, all-train included; otherwise
    trainer.holdout decides by the same rule and the same content hashes the importer uses, so a folder trained
    directly holds out what importing it would have held out."""
    if any(e.split_given or e.split == "holdout" for e in entries):
        return
    from trainer.holdout import holdout_names  # noqa: PLC0415

    content = {str(e.media): file_sha256(e.media) for e in entries}
    held = set(holdout_names(content, fraction=fraction))
    for e in entries:
        if str(e.media) in held:
            e.split = "holdout"


# -- encoding with a cache ---------------------------------------------------------------------------------------

def model_key(config: TrainConfig) -> str:
    """What makes two encodings interchangeable: the model id and the weights it was loaded from."""
    m = config.model
    return f"{m.id}|{m.path or ''}|{m.text_encoder_path or ''}"


def _relative(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _caption(entry: _Entry, config: TrainConfig) -> str:
    """The caption as encoded: ``"<trigger> <caption>"``. A caption that already starts with the trigger (kohya
    datasets write it into every caption; import strips it, a folder trained directly keeps it) is not given a
    second one."""
    trigger, caption = (config.data.trigger_word or "").strip(), entry.caption.strip()
    if not trigger or re.match(rf"{re.escape(trigger)}(?:[\s,.:;]|$)", caption, flags=re.IGNORECASE):
        return caption
    return f"{trigger} {caption}".strip()


def _text(caption: str, components, cache: _Cache, mkey: str) -> dict:
    def make_text():
        e = encode_prompts(components, [caption])
        return {"video": e.video[0], "audio": e.audio[0], "mask": e.mask[0]}

    return cache.get_or_make("text", cache_key(mkey, components.spec.max_sequence_length, caption), make_text)


def _prepare_one(entry: _Entry, root: Path, config: TrainConfig, components, cache: _Cache,
                 mkey: str, sound=None) -> tuple[PreparedItem, str]:
    info = probe(entry.media)
    content = file_sha256(entry.media)
    # Video latents are keyed by the VAE encoder's bytes, not the model: LTX-2.5 reuses 2.3's encoder, so its
    # runs reuse 2.3's latents (trainer.latent_space); captions stay keyed by the model (its own text encoder).
    lkey = "vae:" + latent_space_key(components.vae)

    def latents_in(bucket: Bucket) -> dict:
        return cache.get_or_make("latents", cache_key(lkey, content, f"{bucket.width}x{bucket.height}x{bucket.frames}"),
                                 lambda: {"latents": encode_video(components, decode(entry.media, bucket))})

    frames = info.frames
    if info.kind == "video" and not frames:  # no count and no duration (a live or browser-recorded WebM)
        frames = count_frames(entry.media, max(b.frames for b in config.data.buckets))
    bucket = choose_bucket(info.width, info.height, frames, config.data.buckets)
    try:
        lat = latents_in(bucket)
    except LoraportError as exc:
        if "too short" not in str(exc) or info.kind != "video":
            raise
        # The header over-counted (Matroska/WebM store no frame count; a variable-rate clip's duration x fps is
        # an estimate): choose again by the frames that really decode, as ltx-trainer's buckets take what is there.
        bucket = choose_bucket(info.width, info.height, count_frames(entry.media, bucket.frames), config.data.buckets)
        lat = latents_in(bucket)
    ref = None
    if config.strategy.name == "ic-lora":
        from trainer.pairs import reference_latents

        ref, ref_hash = reference_latents(entry, bucket, config, components, cache, lkey)
        content = cache_key(content, ref_hash)
    caption = _caption(entry, config)
    text = _text(caption, components, cache, mkey)
    fps = info.fps if info.kind == "video" and info.fps > 0 else 24.0
    audio = None
    if sound is not None and entry.audio is not None:  # a manifest's `audio` file replaces the clip's own track
        content = cache_key(content, "audio-file", file_sha256(entry.audio) if entry.audio.is_file() else "missing")
        audio = sound.prepare(entry.media, info, bucket, fps, content, source=entry.audio)
    elif sound is not None:
        audio = sound.prepare(entry.media, info, bucket, fps, content)
    item = PreparedItem(media=_relative(entry.media, root), caption=caption, split=entry.split, bucket=bucket, fps=fps,
                        latents=lat["latents"], video_embeds=text["video"], audio_embeds=text["audio"],
                        mask=text["mask"], ref_latents=ref, audio_latents=audio,
                        reference=_relative(entry.reference.resolve(), root) if ref is not None else None)
    return item, cache_key(content, caption, entry.split) + ("|audio" if audio is not None else "")


def prepare_dataset(config: TrainConfig, components, cache_dir: Path,
                    on_progress: Callable[[int, int, str], None] | None = None) -> PreparedDataset:
    """Encode every usable file once (latents + text embeddings) into ``cache_dir`` (the caller's: a workspace
    keeps one per model, ``Workspace.cache_dir``); bad files become ``errors`` and the rest go on.
    ``on_progress(done, total, media)`` after each file."""
    root = Path(config.data.dataset_dir).expanduser().resolve()
    errors: list[MediaError] = []
    entries = list_entries(config, errors)
    _assign_holdout(entries, config.data.holdout_fraction)
    cache, mkey = _Cache(cache_dir), model_key(config)
    sound = None
    if config.data.audio != "off":
        from trainer.audio import SoundPreparer

        sound = SoundPreparer(config, components, cache, mkey)
    # Phases never share the GPU: every caption first (text encoder + connectors), then every clip (VAE).
    phases.enter(components, "text")
    for caption in dict.fromkeys(_caption(e, config) for e in entries):
        _text(caption, components, cache, mkey)
    prompt_cache.encode(components, prompt_cache.validation_texts(config))  # validation prompts too
    phases.enter(components, "vae")
    items, hashes = [], []
    for n, entry in enumerate(entries, 1):
        name = str(entry.media.relative_to(root)) if entry.media.is_relative_to(root) else entry.media.name
        try:
            item, item_hash = _prepare_one(entry, root, config, components, cache, mkey, sound)
            items.append(item)
            hashes.append(item_hash)
        except DiskFullError:
            raise  # not this clip's fault: every later clip would fail the same way
        except LoraportError as exc:
            msg = str(exc)
            errors.append(MediaError(name, msg.removeprefix(f"{entry.media.name}: ")))
        if on_progress:
            on_progress(n, len(entries), name)
    phases.enter(components, "idle")
    if not items:
        detail = "; ".join(f"{e.media}: {e.message}" for e in errors[:3]) or "the folder has no media files"
        raise LoraportError(f"No usable media in {root}: {detail}. Fix or replace these files and try again.")
    return PreparedDataset(train=[i for i in items if i.split == "train"],
                           holdout=[i for i in items if i.split == "holdout"], errors=errors,
                           dataset_hash=hashlib.sha256("".join(sorted(hashes)).encode()).hexdigest(),
                           stats=dict(cache.stats), without_sound=sound.without if sound else [],
                           audio_notes=sound.notes if sound else [])
