"""2-D Poisson, a steady problem (no time coordinate).

    -(u_xx + u_yy) = f   on [0, 1]^2,   u = 0 on the boundary,
    f = (kx^2 + ky^2) pi^2 sin(kx pi x) sin(ky pi y),  so  u = sin(kx pi x) sin(ky pi y).

On another shape (``geometry``: a disk, an L, a plate with holes) the same manufactured solution
holds, with ``u`` equal to it on the shape's boundary: the operator does not fix its domain.
"""

from __future__ import annotations

from typing import Any

import math
from collections.abc import Mapping

import numpy as np
import torch

from pinn.geometry.base import Geometry
from pinn.physics.domains import Domain
from pinn.physics.exact_dirichlet import ExactDirichlet
from pinn.physics.shape_domain import ShapeDomain
from pinn.physics.terms import Term
from pinn.pdes.base import PDE

__all__ = ["Poisson"]


class Poisson(PDE):
    """Poisson's equation on the unit square with a manufactured exact solution.

    Args:
        kx, ky: the sine modes of the exact solution (positive integers).
        geometry: a 2-D shape to solve on instead of the unit square (config group ``geometry``);
            its whole boundary carries the exact solution's values.

    With ``hard_constraints=true`` the boundary values hold exactly on any shape, the square
    included, through the shape's distance functions (:class:`~pinn.physics.exact_dirichlet.ExactDirichlet`).
    """

    name = "poisson"
    residual_fields = ("u_xx", "u_yy")
    hard_terms = ("boundary",)

    def __init__(self, *, kx: int = 1, ky: int = 2, geometry: Geometry | None = None):
        for name, k in (("kx", kx), ("ky", ky)):
            if isinstance(k, bool) or not isinstance(k, int) or k < 1:
                raise ValueError(f"{name} must be a positive integer, got {k!r}; e.g. pde.{name}=1")
        self.kx, self.ky = kx, ky
        self.geometry = _planar(geometry)
        if self.geometry is None:
            self.domain = Domain({"x": (0.0, 1.0), "y": (0.0, 1.0)})
        else:
            self.domain = ShapeDomain(self.geometry, names=("x", "y"))
        self._exact: ExactDirichlet | None = None  # made at the first constrain(): a shape's distances

    def constrain(self, u, coords):
        """``hard_constraints=true``: the exact solution's values on the whole boundary, held exactly."""
        if self._exact is None:
            self._exact = ExactDirichlet(self.domain, {part: self.solution for part in self.domain.geometry.parts})
        return self._exact(u, coords)

    def _forcing(self, x, y):
        xp = torch if isinstance(x, torch.Tensor) else np
        return (self.kx**2 + self.ky**2) * math.pi**2 * xp.sin(self.kx * math.pi * x) * xp.sin(self.ky * math.pi * y)

    def residual(self, fields, coords):
        return fields["u_xx"] + fields["u_yy"] + self._forcing(coords["x"], coords["y"])

    def conditions(self) -> tuple[Term, ...]:
        if self.geometry is not None:  # the exact solution's values on the shape's boundary
            return (Term("boundary", "boundary", ("u",), lambda f, c: f["u"] - self.solution(c)),)
        return (Term("boundary", "boundary", ("u",), lambda f, c: f["u"]),)

    def solution(self, coords: Mapping[str, Any]):
        x, y = coords["x"], coords["y"]
        xp = torch if isinstance(x, torch.Tensor) else np
        return xp.sin(self.kx * math.pi * x) * xp.sin(self.ky * math.pi * y)


def _planar(geometry):
    """``geometry`` checked to be a 2-D :class:`~pinn.geometry.Geometry` (or ``None``)."""
    if geometry is None:
        return None
    if not isinstance(geometry, Geometry) or geometry.dim != 2:
        raise ValueError(f"geometry must be a 2-D shape (x, y), got {geometry!r:.60}")
    return geometry
