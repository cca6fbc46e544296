"""Learnable PDE coefficients, for inverse problems.

:func:`make_learnable` turns named float coefficients of a PDE into ``nn.Parameter``s
(starting from their configured values) and returns a :class:`WithCoefficients`
module that holds them beside the network: the optimizer, checkpoints and resume see
them as ordinary parameters, and the PDE's residual reads the very same tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn

from pinn.core.checks import number

if TYPE_CHECKING:  # pinn.pdes sits above this package: annotations only
    from pinn.pdes.base import PDE

__all__ = ["WithCoefficients", "make_learnable"]


class WithCoefficients(nn.Module):
    """The network, plus the PDE coefficients being learned.

    Args:
        net: the network; ``forward`` is the network's.
        coefficients: ``{name: parameter}``.
    """

    def __init__(self, net: nn.Module, coefficients: dict[str, nn.Parameter]):
        super().__init__()
        self.net = net
        self.coefficients = nn.ParameterDict(coefficients)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def values(self) -> dict[str, float]:
        """The current coefficient values as floats."""
        return {name: float(p.detach()) for name, p in self.coefficients.items()}


def make_learnable(pde: PDE, net: nn.Module, names: Sequence[str], initial: Sequence[float]) -> WithCoefficients:
    """Make the coefficients ``names`` of ``pde`` learnable, starting from ``initial``.

    ``pde`` is changed in place: give it a copy of the PDE that serves as the truth
    (reference solution, sampled data, evaluation).

    Returns:
        The module to train: ``net`` plus the coefficient parameters.

    Raises:
        ValueError: when a name is not a float coefficient of the PDE, or the initial
            values do not match the names.
    """
    if len(names) != len(initial) or len(set(names)) != len(names):
        raise ValueError(f"pde.learn and pde.learn_init need one initial guess per distinct name, got {list(names)} "
                         f"and {list(initial)}; e.g. pde.learn=[nu] pde.learn_init=[0.05]")
    param = next(net.parameters())
    coefficients = {}
    for name, start in zip(names, initial):
        value = getattr(pde, name, None)
        if isinstance(value, bool) or not isinstance(value, float):
            choices = sorted(k for k, v in vars(pde).items() if isinstance(v, float) and not k.startswith("_"))
            raise ValueError(f"{pde.name} has no coefficient {name!r} to learn; choose from {choices}")
        number(f"the initial guess of {name!r}", start)
        p = nn.Parameter(torch.tensor(float(start), dtype=param.dtype, device=param.device))
        setattr(pde, name, p)  # the residual now reads the parameter
        coefficients[name] = p
    return WithCoefficients(net, coefficients)
