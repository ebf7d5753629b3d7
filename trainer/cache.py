"""The encoding cache of dataset preparation: content hashes, cache keys, safetensors entries written atomically,
and the VAE encode whose latents it keeps.

Its own module so dataset preparation (``trainer.data``), IC-LoRA references (``trainer.pairs``) and sound
(``trainer.audio``) share it without importing each other.
"""

import hashlib
from collections.abc import Callable
from pathlib import Path

import torch


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cache_key(*parts) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:32]


_STAT_NAMES = {"latents": "latents", "text": "texts", "audio": "audio"}


class _Cache:
    """safetensors files in one folder; writes are atomic so a crash never leaves half an entry."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.stats = {"encoded_latents": 0, "encoded_texts": 0, "cached_latents": 0, "cached_texts": 0,
                      "encoded_audio": 0, "cached_audio": 0, "shared_latents": 0}

    def get(self, kind: str, key: str) -> dict[str, torch.Tensor] | None:
        """The cached entry, or None (absent or damaged: a damaged entry is re-encoded and overwritten)."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        path = self.folder / f"{kind}-{key}.safetensors"
        if not path.is_file() and kind == "latents":
            path = self._shared(path.name)
        if path is None or not path.is_file():
            return None
        try:
            tensors = load_file(path)
        except (SafetensorError, OSError):
            return None
        self.stats[f"cached_{_STAT_NAMES[kind]}"] += 1
        if path.parent != self.folder:  # another model's cache, same latent key: keep a copy of our own
            from core.atomic import atomic_write_bytes

            atomic_write_bytes(self.folder / path.name, path.read_bytes())
            self.stats["shared_latents"] += 1
        return tensors

    def _shared(self, name: str) -> Path | None:
        """The same latents entry in a sibling model's cache folder. Latent keys name the VAE encoder's exact
        bytes (trainer.latent_space), never the model, so an equal key is an interchangeable encoding."""
        if not self.folder.parent.is_dir():
            return None
        return next((p for p in self.folder.parent.glob(f"*/{name}") if p.parent != self.folder), None)

    def get_or_make(self, kind: str, key: str, make: Callable[[], dict[str, torch.Tensor]]) -> dict:
        from safetensors.torch import save

        from core.atomic import atomic_write_bytes

        cached = self.get(kind, key)
        if cached is not None:
            return cached
        tensors = {k: v.detach().cpu().contiguous() for k, v in make().items()}
        atomic_write_bytes(self.folder / f"{kind}-{key}.safetensors", save(tensors))
        self.stats[f"encoded_{_STAT_NAMES[kind]}"] += 1
        return tensors


@torch.no_grad()
def encode_video(components, video: torch.Tensor) -> torch.Tensor:
    """(F, 3, H, W) in [-1, 1] -> (C, F', H', W') float32, normalised as LTX2Pipeline normalises latents."""
    from diffusers.pipelines.ltx2.pipeline_ltx2 import LTX2Pipeline

    vae = components.vae
    x = video.permute(1, 0, 2, 3).unsqueeze(0).to(vae.device, vae.dtype)  # (1, 3, F, H, W)
    latents = vae.encode(x).latent_dist.mode()  # the mean: deterministic, as the image-to-video pipeline does
    latents = LTX2Pipeline._normalize_latents(latents, vae.latents_mean, vae.latents_std, vae.config.scaling_factor)
    return latents[0].float()
