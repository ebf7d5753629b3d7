"""IC-LoRA pairs in dataset preparation: the rules a pair must meet, and the reference's latents.

Which reference belongs to which target is found while the dataset is listed (``trainer.listing``): the recipe's
suffix (``clip.mp4`` + ``clip_ref.mp4``), a ``references/`` folder, or ``captions.jsonl`` (a ``reference`` column,
or ltx-trainer's ``reference_video`` and its legacy names). The reference is encoded by the same VAE into the same
latent cache as the targets, keyed by its content and its (possibly downscaled) bucket.
"""


import torch

from core.errors import LoraportError
from trainer import manifest
from trainer.cache import _Cache, cache_key, encode_video, file_sha256
from trainer.config import Bucket, TrainConfig
from trainer.listing import _Entry
from trainer.media import decode, probe


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
