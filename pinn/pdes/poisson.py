"""2-D Poisson, a steady problem (no time coordinate), on the unit square or any 2-D shape.

Two problems, one operator:

* **manufactured** (the default): ``-(u_xx + u_yy) = f`` with
  ``f = (kx^2 + ky^2) pi^2 sin(kx pi x) sin(ky pi y)``, so ``u = sin(kx pi x) sin(ky pi y)``,
  and ``u`` equal to it on the whole boundary.  On the unit square that is ``u = 0``.
* **values per boundary part** (``values={part: value}``): Laplace's equation ``u_xx + u_yy = 0``
  with ``u`` constant on each named part of the shape's boundary.  There is no closed form, so
  the run is scored at the nodes of a reference table: ``table`` (one shipped with pinn) or
  ``reference`` (a path).  PINNacle's Poisson2d-C is this on a plate with four holes
  (``pde=poisson2d_c``, or :func:`~pinn.pdes.poisson_holes.PoissonHoles`).

The operator does not fix its domain: ``geometry`` puts it on a disk, an L or a plate with holes.
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
from pinn.pdes._reference import packaged_nodes, reference_path, shipped_table
from pinn.pdes.base import PDE, finite

__all__ = ["Poisson"]


class Poisson(PDE):
    """Poisson's equation on a 2-D shape (the unit square by default); see the module docs.

    Args:
        kx, ky: the sine modes of the manufactured solution (positive integers; unused with ``values``).
        geometry: a 2-D shape to solve on instead of the unit square (config group ``geometry``).
        values: ``{part: value}``, a constant Dirichlet value for every boundary part of the shape
            (``{outer: 1.0, holes: 0.0}``); then the equation is Laplace's and the run is scored
            at the nodes of ``table`` or ``reference``.  ``None``: the manufactured problem.
        table: the name of a reference table shipped with pinn (``poisson1_cg_data.dat``), for ``values``.
        reference: a path to a reference table of your own, for ``values`` (it replaces ``table``).

    With ``hard_constraints=true`` the boundary values hold exactly on any shape, the square
    included, through the shape's distance functions (:class:`~pinn.physics.exact_dirichlet.ExactDirichlet`).
    """

    name = "poisson"
    residual_fields = ("u_xx", "u_yy")

    def __init__(self, *, kx: int = 1, ky: int = 2, geometry: Geometry | None = None,
                 values: Mapping[str, float] | None = None, table: str | None = None, reference: str | None = None):
        for name, k in (("kx", kx), ("ky", ky)):
            if isinstance(k, bool) or not isinstance(k, int) or k < 1:
                raise ValueError(f"{name} must be a positive integer, got {k!r}; e.g. pde.{name}=1")
        self.kx, self.ky = kx, ky
        self.geometry = _planar(geometry)
        if self.geometry is None:
            self.domain: ShapeDomain = Domain({"x": (0.0, 1.0), "y": (0.0, 1.0)})
        else:
            self.domain = ShapeDomain(self.geometry, names=("x", "y"))
        self.values = None if values is None else _part_values(values, self.domain.geometry.parts)
        self.table, self.reference = shipped_table(table), reference_path(reference)
        if self.values is None and (self.table or self.reference):
            raise ValueError("table and reference are for the problem with values per boundary part; the manufactured "
                             "problem has its exact solution: drop them, or give +pde.values={part: value, ...}")
        if self.values is not None and not (self.table or self.reference):
            raise ValueError("with values per boundary part the problem has no closed form: name its reference table, "
                             "+pde.table=NAME (shipped) or +pde.reference=PATH")
        self.hard_terms = ("boundary",) if self.values is None else tuple(self.values)
        self._exact: ExactDirichlet | None = None  # made at the first constrain(): a shape's distances
        self._nodes = None

    def constrain(self, u, coords):
        """``hard_constraints=true``: the boundary values on every part, held exactly."""
        if self._exact is None:
            given = self.values if self.values is not None else dict.fromkeys(self.domain.geometry.parts, self.solution)
            self._exact = ExactDirichlet(self.domain, given)
        return self._exact(u, coords)

    def _forcing(self, x, y):
        xp = torch if isinstance(x, torch.Tensor) else np
        return (self.kx**2 + self.ky**2) * math.pi**2 * xp.sin(self.kx * math.pi * x) * xp.sin(self.ky * math.pi * y)

    def residual(self, fields, coords):
        if self.values is not None:
            return fields["u_xx"] + fields["u_yy"]
        return fields["u_xx"] + fields["u_yy"] + self._forcing(coords["x"], coords["y"])

    def conditions(self) -> tuple[Term, ...]:
        if self.values is not None:  # one term per part, on its own points
            return tuple(Term(part, f"boundary:{part}", ("u",), _equals(value)) for part, value in self.values.items())
        if self.geometry is not None:  # the exact solution's values on the shape's boundary
            return (Term("boundary", "boundary", ("u",), lambda f, c: f["u"] - self.solution(c)),)
        return (Term("boundary", "boundary", ("u",), lambda f, c: f["u"]),)

    def solution(self, coords: Mapping[str, Any]):
        if self.values is not None:
            return super().solution(coords)  # no closed form: raises, naming nodes()
        x, y = coords["x"], coords["y"]
        xp = torch if isinstance(x, torch.Tensor) else np
        return xp.sin(self.kx * math.pi * x) * xp.sin(self.ky * math.pi * y)

    def nodes(self):
        if self.values is None:
            return None
        if self._nodes is None:
            self._nodes = packaged_nodes(self.table or "", self.domain.coordinates, self.fields, path=self.reference)
        return self._nodes


def _planar(geometry):
    """``geometry`` checked to be a 2-D :class:`~pinn.geometry.Geometry` (or ``None``)."""
    if geometry is None:
        return None
    if not isinstance(geometry, Geometry) or geometry.dim != 2:
        raise ValueError(f"geometry must be a 2-D shape (x, y), got {geometry!r:.60}")
    return geometry


def _equals(value: float):
    """The condition ``u = value``, as a term's function."""
    return lambda f, c: f["u"] - value


def _part_values(values, parts: tuple[str, ...]) -> dict[str, float]:
    """``values`` checked to give one finite number for each of the shape's boundary ``parts``."""
    if not isinstance(values, Mapping) or not values:
        raise ValueError(f"values must map each boundary part to a number, e.g. +pde.values={{{parts[0]}: 0.0}}; "
                         f"got {values!r:.60}")
    unknown, missing = sorted(set(values) - set(parts)), [p for p in parts if p not in values]
    if unknown or missing:
        raise ValueError(f"values must give exactly the shape's boundary parts {list(parts)}; "
                         f"{'unknown: ' + str(unknown) if unknown else 'missing: ' + str(missing)}")
    return {part: finite(f"values.{part}", values[part]) for part in parts}
