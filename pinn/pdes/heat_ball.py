"""Heat on the unit ball of R^d with a Neumann (Robin) condition: PINNacle's HNd for d = 5.

    u_t = (1/d) (u_x1x1 + ... + u_xdxd) - (|x|^2 / d) exp(|x|^2 / 2 + t)   in the ball, t in [0, 1],
    du/dn = u                                                          on the sphere,
    u(x, 0) = exp(|x|^2 / 2),

whose solution is u = exp(|x|^2 / 2 + t): then u_t = u, grad u = x u, Laplace u = (d + |x|^2) u,
and on the unit sphere du/dn = x . x u = u.  Coordinates are named x1 ... xd, then t.  The
normal comes from the geometry (:mod:`pinn.physics.normals`).
"""

from __future__ import annotations

from typing import Any

from collections.abc import Mapping

import numpy as np
import torch

from pinn.geometry.primitives import Hypersphere
from pinn.pdes.base import PDE
from pinn.physics.normals import gradient_names, normal_derivative
from pinn.physics.shape_domain import ShapeDomain
from pinn.physics.terms import Term

__all__ = ["HeatBall"]


class HeatBall(PDE):
    """HNd: heat on the unit ball of ``dim`` dimensions, ``du/dn = u`` on its sphere.

    Args:
        dim: the number of space dimensions (>= 2; PINNacle uses 5).
    """

    name = "heat_nd"

    def __init__(self, *, dim: int = 5):
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2:
            raise ValueError(f"dim must be an integer >= 2, got {dim!r}")
        self.dim = dim
        self.names = tuple(f"x{i + 1}" for i in range(dim))
        self.domain = ShapeDomain(Hypersphere(dim), (0.0, 1.0), names=self.names)
        self.residual_fields = ("u_t", *(f"u_{n}{n}" for n in self.names))

    def _r2(self, coords):
        return sum(coords[n] ** 2 for n in self.names)

    def residual(self, fields, coords):
        laplacian = sum(fields[f"u_{n}{n}"] for n in self.names)
        r2 = self._r2(coords)
        return fields["u_t"] - laplacian / self.dim + r2 / self.dim * torch.exp(r2 / 2 + coords["t"])

    def conditions(self) -> tuple[Term, ...]:
        return (
            Term("initial", "initial", ("u",), lambda f, c: f["u"] - torch.exp(self._r2(c) / 2)),
            Term("neumann", "boundary", ("u", *gradient_names("u", self.names)),
                 lambda f, c: normal_derivative(f, c, self.domain) - f["u"]),
        )

    def solution(self, coords: Mapping[str, Any]):
        xp = torch if isinstance(coords["t"], torch.Tensor) else np
        return xp.exp(self._r2(coords) / 2 + coords["t"])
