"""Poisson's equation in d dimensions (PINNacle's PNd for d = 5), with an exact solution.

    -(u_x1x1 + ... + u_xdxd) = (pi^2 / 4) sum_i sin(pi x_i / 2)   on [0, 1]^d,
    u = sum_i sin(pi x_i / 2)                                     on the boundary,

whose solution is u = sum_i sin(pi x_i / 2) everywhere.  Coordinates are named x1 ... xd.
"""

from __future__ import annotations

from typing import Any

import math
from collections.abc import Mapping

import numpy as np
import torch

from pinn.pdes.base import PDE
from pinn.physics.domains import Domain
from pinn.physics.terms import Term

__all__ = ["PoissonND"]


class PoissonND(PDE):
    """PNd: Poisson on the unit cube of ``dim`` dimensions, Dirichlet data from the exact solution.

    Args:
        dim: the number of dimensions (>= 2; PINNacle uses 5).
    """

    name = "poisson_nd"

    def __init__(self, *, dim: int = 5):
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2:
            raise ValueError(f"dim must be an integer >= 2, got {dim!r}")
        self.dim = dim
        self.names = tuple(f"x{i + 1}" for i in range(dim))
        self.domain = Domain({name: (0.0, 1.0) for name in self.names})
        self.residual_fields = tuple(f"u_{n}{n}" for n in self.names)

    def residual(self, fields, coords):
        laplacian = sum(fields[f"u_{n}{n}"] for n in self.names)
        forcing = (math.pi**2 / 4) * sum(torch.sin(math.pi * coords[n] / 2) for n in self.names)
        return laplacian + forcing

    def conditions(self) -> tuple[Term, ...]:
        return (Term("boundary", "boundary", ("u",), lambda f, c: f["u"] - self.solution(c)),)

    def solution(self, coords: Mapping[str, Any]):
        xp = torch if isinstance(coords[self.names[0]], torch.Tensor) else np
        return sum(xp.sin(math.pi * coords[n] / 2) for n in self.names)
