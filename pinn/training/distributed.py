"""Data-parallel training on ``torch.distributed`` (as started by ``torchrun``).

Each rank holds a shard of the collocation points and a replica of the model,
wrapped in :class:`~torch.nn.parallel.DistributedDataParallel`, which averages the
parameter gradients over the ranks.  With equally sized shards, the average of the
ranks' mean squared residuals is the mean over the union of the shards, so the
gradient is the one a single process would compute on all the points.

:class:`GlobalLoss` also makes the loss *value* the global one on every rank, so
that every decision the trainer takes from it (the L-BFGS line search, non-finite
roll-backs, stall detection, the history) is the same everywhere and the replicas
never drift apart.  Full-batch L-BFGS therefore works across ranks.

Nothing here sets up the process group: the CLI does that (gloo on the CPU, NCCL on
CUDA); the library only asks ``torch.distributed`` whether one exists.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

__all__ = ["GlobalLoss", "any_rank", "rank", "shard_generator", "world_size"]


def world_size() -> int:
    """Processes in the default process group (1 without one)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    """This process's rank in the default process group (0 without one)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def shard_generator(seed: int, rank: int) -> torch.Generator:
    """The generator that draws rank ``rank``'s collocation points.

    Independent streams per ``(seed, rank)`` via numpy's ``SeedSequence``.  Rank 0 of a
    distributed run does not use this: it keeps the run's own generator, so that a
    one-process run is unchanged.
    """
    if rank < 0:
        raise ValueError(f"rank must be >= 0, got {rank}")
    state = np.random.SeedSequence([int(seed), int(rank)]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state) & 0x7FFF_FFFF_FFFF_FFFF)


def any_rank(flag: bool, device: torch.device | str = "cpu") -> bool:
    """True on every rank when ``flag`` is true on at least one (a collective call)."""
    if world_size() == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


class GlobalLoss:
    """Wraps a loss so that it runs through a DDP replica and reports global values.

    Args:
        loss: a loss like :class:`~pinn.training.losses.PINNLoss`: ``loss(model, points) -> (total, parts)``.
        replica: ``DistributedDataParallel(model)``; the trainer keeps working with the
            plain ``model`` (its state dict, its parameters), while the forward passes go
            through the replica so that its backward all-reduces the gradients.

    The returned total is ``local + (mean_over_ranks(local) - local).detach()``: its value
    is the global loss, and its gradient is the local one, which DDP then averages.
    The parts are averaged over the ranks (they are for logging and carry no gradient).
    """

    def __init__(self, loss, replica: DistributedDataParallel):
        if not isinstance(replica, DistributedDataParallel):
            raise TypeError(f"replica must be a DistributedDataParallel module, got {type(replica).__name__}")
        self.loss = loss
        self.replica = replica

    def __getattr__(self, name):  # term_names, weights, pde, ... of the wrapped loss
        return getattr(self.__dict__["loss"], name)

    def __call__(self, model: nn.Module, points: Mapping[str, torch.Tensor]):
        if model is not self.replica.module:
            raise ValueError("GlobalLoss was called with a model other than the one its DDP replica wraps")
        total, parts = self.loss(self.replica, points)
        names = list(parts)
        coefficients = getattr(model, "coefficients", {})
        values = torch.stack([total.detach().reshape(())] + [parts[n].detach().reshape(()) for n in names])
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
        values = values / world_size()
        total = total + (values[0] - total.detach())
        parts = {n: values[i + 1] for i, n in enumerate(names)}
        for name, p in coefficients.items():  # identical on every rank; the replica hides them
            parts[name] = p.detach()
        return total, parts
