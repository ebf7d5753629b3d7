"""Which cached items form the n-th batch, as a pure function of (seed, n): resumable and shardable for free.

Items of different buckets have different latent shapes, so a batch draws from one bucket only. Each epoch
shuffles every bucket, cuts it into batches, and shuffles the batch list, all from a generator seeded by
(seed, epoch). A resumed run or another DDP rank asks for batch n and gets exactly what it would have got.
"""

import math
from collections import defaultdict
from collections.abc import Hashable, Sequence

import torch

from trainer.strategies import Batch


class BatchOrder:
    def __init__(self, bucket_keys: Sequence[Hashable], batch_size: int, seed: int):
        groups: dict[Hashable, list[int]] = defaultdict(list)
        for i, key in enumerate(bucket_keys):
            groups[key].append(i)
        self.groups = [groups[k] for k in sorted(groups, key=repr)]  # stable order, whatever the keys are
        self.batch_size, self.seed = batch_size, seed
        self.per_epoch = sum(math.ceil(len(g) / batch_size) for g in self.groups)
        self._cached: tuple[int, list[list[int]]] | None = None

    def batch(self, n: int) -> list[int]:
        """Item indices of batch n (0-based, over all epochs)."""
        return self._epoch(n // self.per_epoch)[n % self.per_epoch]

    def _epoch(self, epoch: int) -> list[list[int]]:
        if self._cached is not None and self._cached[0] == epoch:
            return self._cached[1]
        gen = torch.Generator().manual_seed(self.seed * 7919 + epoch)
        batches = []
        for group in self.groups:
            shuffled = [group[i] for i in torch.randperm(len(group), generator=gen).tolist()]
            batches += [shuffled[i: i + self.batch_size] for i in range(0, len(shuffled), self.batch_size)]
        self._cached = (epoch, [batches[i] for i in torch.randperm(len(batches), generator=gen).tolist()])
        return self._cached[1]


def collate(items: Sequence) -> Batch:
    """Stack cached items of one bucket into a Batch (tensors gain a leading batch dimension)."""
    first = items[0]

    def stack(name: str):
        values = [getattr(it, name, None) for it in items]
        return None if values[0] is None else torch.stack(values)

    # One fps per batch (RoPE's time axis): clips of one bucket at different rates take the first one's, as
    # ltx-trainer does.
    return Batch(latents=stack("latents"), prompt_embeds=stack("prompt_embeds"), prompt_mask=stack("prompt_mask"),
                 audio_prompt_embeds=stack("audio_prompt_embeds"), fps=float(first.fps),
                 ref_latents=stack("ref_latents"), audio_latents=_audio(items))


def _audio(items: Sequence) -> torch.Tensor | None:
    """(B, L, D) audio tokens when every item has sound of one length, else None: the batch trains video-only.
    Batching by `bucket_key` (which counts the audio length) keeps that from happening with batch_size > 1."""
    values = [getattr(it, "audio_latents", None) for it in items]
    if any(v is None for v in values) or len({tuple(v.shape) for v in values}) != 1:
        return None
    return torch.stack(values)
