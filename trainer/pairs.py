"""IC-LoRA pairs in dataset preparation: which reference belongs to which target, and the rules a pair must meet.

Pairs come from the recipe's suffix (``clip.mp4`` + ``clip_ref.mp4``) or from ``captions.jsonl`` (a ``reference``
column, or ltx-trainer's ``reference_video`` and its legacy names). The reference is encoded by the same VAE into
the same latent cache as the targets, keyed by its content and its (possibly downscaled) bucket.
"""

import glob
from pathlib import Path

import torch

from core.errors import LoraportError
from trainer import manifest
from trainer.cache import _Cache, cache_key, encode_video, file_sha256
from trainer.config import Bucket, TrainConfig
from trainer.listing import _Entry
from trainer.media import decode, is_media, probe


def in_reference_dir(path: Path, root: Path) -> bool:
    """The file lies below a ``references/`` (or ``reference/``, ``refs/``, ``ref/``) folder of the dataset."""
    return manifest.in_reference_dir(Path(path).relative_to(root))


def _media_named(folder: Path, stem: str) -> Path | None:
    if not folder.is_dir():
        return None
    return next((c for c in sorted(folder.glob(f"{glob.escape(stem)}.*")) if c.is_file() and is_media(c)), None)


def find_reference(media: Path, root: Path, suffix: str) -> Path | None:
    """A clip's reference by name: ``<stem><suffix>.*`` beside it, else a file of the same name (or that name plus
    the suffix) in a ``references/`` folder beside it or in any folder above it up to the dataset root, mirroring
    the clip's sub-folders (``references/a/clip.mp4`` for ``a/clip.mp4``) or not (``references/clip.mp4``)."""
    media, root = Path(media), Path(root)
    stems = [media.stem + suffix, media.stem] if suffix else [media.stem]
    if suffix and (beside := _media_named(media.parent, stems[0])):
        return beside
    folder = media.parent
    while folder.is_relative_to(root):
        dirs = [d for d in sorted(folder.iterdir()) if d.is_dir() and d.name.lower() in manifest.REFERENCE_DIRS]
        below = media.parent.relative_to(folder)
        for d in dirs:
            for sub in dict.fromkeys([d / below, d]):
                for stem in stems:
                    if (found := _media_named(sub, stem)) is not None:
                        return found
        if folder == root:
            break
        folder = folder.parent
    return None


def pair_listed(entries: list[_Entry], suffix: str, root: Path | None = None) -> list[_Entry]:
    """IC-LoRA with a manifest: a row without a reference column takes ``<stem><suffix>.*`` beside its media (or
    a ``references/`` folder's file of its name, given the dataset ``root``); a row whose media is another row's
    reference is that pair's reference, not an item of its own."""
    for e in entries:
        if e.reference is None and root is not None and not in_reference_dir(e.media, root):
            e.reference = find_reference(e.media, root, suffix or "")
        elif e.reference is None and suffix:
            e.reference = next((c for c in sorted(e.media.parent.glob(f"{glob.escape(e.media.stem + suffix)}.*"))
                                if is_media(c)), None)
    refs = {e.reference.resolve() for e in entries if e.reference is not None}
    return [e for e in entries if e.media.resolve() not in refs]


def reference_latents(entry: _Entry, bucket: Bucket, config: TrainConfig, components, cache: _Cache,
                      mkey: str) -> tuple[torch.Tensor, str]:
    """IC-LoRA: the reference's latents for a target in ``bucket``, and the reference's content hash.

    The rules, per target (a refusal names the file and the fix; the other pairs go on):
    - no reference: refused (ltx-trainer trains only targets that have reference latents);
    - another size or aspect: resized keeping aspect and centre-cropped to the target's bucket, divided by
      ``strategy.reference_downscale_factor`` (ltx-trainer resizes and crops references into the same buckets);
    - longer: its first frames, as many as the target's; shorter than the target's bucket: refused (ltx-trainer
      skips references shorter than the bucket);
    - an image for a video target: refused, no 1-frame reference fills a video bucket (an image target takes an
      image reference, or a clip's first frame).
    """
    suffix = config.strategy.reference_suffix
    if entry.reference is None:
        if suffix and entry.media.stem.endswith(suffix):
            raise LoraportError(f"looks like a reference (its name ends in {suffix}) but its target "
                                f"{entry.media.stem[:-len(suffix)]}{entry.media.suffix} is missing: add the target "
                                "clip or remove this file.")
        raise LoraportError(f"has no reference: an IC-LoRA trains on pairs; add {entry.media.stem}{suffix}"
                            f"{entry.media.suffix} beside it, a file of its name in a references/ folder, or a "
                            f"'reference' in {manifest.CAPTIONS_FILE}.")
    name = entry.reference.name
    if not entry.reference.is_file():
        raise LoraportError(f"its reference {name} is not in the dataset folder: add it or fix the 'reference'.")
    ref_info = probe(entry.reference)
    if ref_info.kind == "image" and bucket.frames > 1:
        raise LoraportError(f"its reference {name} is an image but it is a video ({bucket.frames} frames): an IC-LoRA "
                            f"trains on a reference clip at least as long; give a clip (an image reference can "
                            f"still be used at generation time).")
    f = config.strategy.reference_downscale_factor
    ref_bucket = Bucket(width=bucket.width // f, height=bucket.height // f, frames=bucket.frames)

    def make() -> dict[str, torch.Tensor]:
        try:
            pixels = decode(entry.reference, ref_bucket)  # resize + centre-crop; the first `frames` frames
        except LoraportError as exc:
            if "too short" not in str(exc):
                raise LoraportError(f"its reference {exc}") from exc
            raise LoraportError(f"its reference {name} is shorter than the {bucket.frames} frames it takes in its "
                                f"{bucket.width}x{bucket.height}x{bucket.frames} bucket: give a reference at least "
                                "as long as the target.") from exc
        return {"latents": encode_video(components, pixels)}

    ref_hash = file_sha256(entry.reference)
    ref_id = f"{ref_bucket.width}x{ref_bucket.height}x{ref_bucket.frames}"
    return cache.get_or_make("latents", cache_key(mkey, ref_hash, ref_id), make)["latents"], cache_key(ref_hash, f)
