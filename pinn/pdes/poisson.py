"""2-D Poisson, a steady problem (no time coordinate).

    -(u_xx + u_yy) = f   on [0, 1]^2,   u = 0 on the boundary,
    f = (kx^2 + ky^2) pi^2 sin(kx pi x) sin(ky pi y),  so  u = sin(kx pi x) sin(ky pi y).
"""

from __future__ import annotations

from typing import Any

import math
from collections.abc import Mapping

import numpy as np
import torch

from pinn.physics.domains import Domain
from pinn.physics.terms import Term
from pinn.pdes.base import PDE

__all__ = ["Poisson"]


class Poisson(PDE):
    """Poisson's equation on the unit square with a manufactured exact solution.

    Args:
        kx, ky: the sine modes of the exact solution (positive integers).
    """

    name = "poisson"
    residual_fields = ("u_xx", "u_yy")

    def __init__(self, *, kx: int = 1, ky: int = 2):
        for name, k in (("kx", kx), ("ky", ky)):
            if isinstance(k, bool) or not isinstance(k, int) or k < 1:
                raise ValueError(f"{name} must be a positive integer, got {k!r}; e.g. pde.{name}=1")
        self.kx, self.ky = kx, ky
        self.domain = Domain({"x": (0.0, 1.0), "y": (0.0, 1.0)})

    def _forcing(self, x, y):
        xp = torch if isinstance(x, torch.Tensor) else np
        return (self.kx**2 + self.ky**2) * math.pi**2 * xp.sin(self.kx * math.pi * x) * xp.sin(self.ky * math.pi * y)

    def residual(self, fields, coords):
        return fields["u_xx"] + fields["u_yy"] + self._forcing(coords["x"], coords["y"])

    def conditions(self) -> tuple[Term, ...]:
        return (Term("boundary", "boundary", ("u",), lambda f, c: f["u"]),)

    def solution(self, coords: Mapping[str, Any]):
        x, y = coords["x"], coords["y"]
        xp = torch if isinstance(x, torch.Tensor) else np
        return xp.sin(self.kx * math.pi * x) * xp.sin(self.ky * math.pi * y)
