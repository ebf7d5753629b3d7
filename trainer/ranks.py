"""Agreement between training processes (DDP ranks under torchrun / accelerate): each helper is a no-op, or a
plain answer, for a single process, and one small collective otherwise."""

import torch


def any_rank(acc, flag: bool) -> bool:
    """Stop together: one rank seeing the cancel flag must stop them all, or DDP hangs in the next all-reduce."""
    if acc.num_processes == 1:
        return flag
    return bool(acc.reduce(torch.tensor([float(flag)], device=acc.device), reduction="sum").item() > 0)


def replicas_in_sync(acc, params: list) -> bool | None:
    """DDP keeps replicas identical by averaging gradients; check it once, cheaply: per-tensor float64 sums
    of the LoRA weights, gathered from every rank, must agree exactly. None for a single process."""
    if acc.num_processes == 1:
        return None
    sums = torch.stack([p.detach().double().sum() for p in params])[None]  # (1, n_tensors)
    every = acc.gather(sums)  # (world, n_tensors)
    return bool((every == every[0]).all().item())


def same_on_all_ranks(acc, value: int) -> bool:
    every = acc.gather(torch.tensor([value], device=acc.device))
    return bool((every == every[0]).all().item())


def mean_over_ranks(acc, value: float) -> float:
    if acc.num_processes == 1:
        return value
    return acc.reduce(torch.tensor([value], device=acc.device), reduction="mean").item()
