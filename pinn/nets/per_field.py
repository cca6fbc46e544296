"""One network per field: a system's fields learned by separate MLPs, side by side."""

from __future__ import annotations

import torch
from torch import nn

from pinn.nets.mlp import MLP

__all__ = ["PerFieldMLP"]


class PerFieldMLP(nn.Module):
    """``outputs`` separate :class:`~pinn.nets.mlp.MLP` s of one output each, their values stacked
    in field order: ``(N, d) -> (N, outputs)``.  Fields that share no weights cannot compete for
    one network's capacity (a pressure beside a velocity); the price is ``outputs`` times the
    parameters and forward passes.  Every argument is the MLP's, given to each; the networks are
    drawn one after the other from ``generator``.
    """

    def __init__(self, lower: torch.Tensor, upper: torch.Tensor, *, outputs: int = 1,
                 generator: torch.Generator, **mlp_arguments):
        super().__init__()
        if isinstance(outputs, bool) or not isinstance(outputs, int) or outputs < 1:
            raise ValueError(f"outputs must be a positive integer, got {outputs!r}")
        self.nets = nn.ModuleList(MLP(lower, upper, outputs=1, generator=generator, **mlp_arguments)
                                  for _ in range(outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([net(x).reshape(*x.shape[:-1], 1) for net in self.nets], dim=-1)
