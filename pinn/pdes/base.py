"""The PDE interface: coordinates, residual, conditions and reference solution."""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch

from pinn.physics.domain_base import SpaceTimeDomain
from pinn.physics.fields import parse
from pinn.physics.terms import Term

__all__ = ["PDE", "positive", "finite"]

Array = Any  # a torch.Tensor or a numpy.ndarray


class PDE(abc.ABC):
    """A PDE on a :class:`~pinn.physics.domains.Domain` with its initial and boundary conditions.

    A concrete PDE provides:

    * ``name`` and ``residual_fields`` (class attributes): the fields and derivatives the
      residual reads (``"u"``, ``"u_x"``, ``"v_yy"``, see :mod:`pinn.physics.fields`),
    * optionally ``fields``, the unknown fields (default ``("u",)``; ``("u", "v", "p")`` for a
      flow: the network then gives one output per field), ``equations``, the names of the
      residual's equations (default ``("residual",)``: :meth:`residual` returns one tensor;
      with several, it returns ``{equation: tensor}``, each its own loss term), and
      ``gauge``, the fields fixed only up to a constant (compared after removing their mean),
    * ``domain`` (an attribute set in ``__init__``),
    * :meth:`residual`, :meth:`conditions`, and :meth:`solution` (a closed form) or
      :meth:`nodes` (a reference table, e.g. from a finite-element solver),
    * optionally ``periodic``: the names of coordinates in which the solution is periodic
      over the domain's box.  The network is then built periodic in them (see
      :class:`~pinn.nets.mlp.MLP`), so these boundaries need no loss term,
    * optionally a hard constraint: ``hard_terms``, the names of the condition terms it
      makes exact, and a method ``constrain(u, coords)`` that maps the raw network output
      ``u`` (pointwise, like the residual) to one that meets them for every ``u``
      (see :mod:`pinn.physics.constraints`; used with ``hard_constraints=true``).

    Residuals and conditions are written pointwise with torch ops: the same code
    runs on a batch ``(N,)`` and, under ``vmap``, on a single point ``()``.
    """

    name: ClassVar[str]
    residual_fields: tuple[str, ...]  # a class attribute, or set per instance (PoissonND: one per dimension)
    fields: ClassVar[tuple[str, ...]] = ("u",)
    equations: ClassVar[tuple[str, ...]] = ("residual",)
    gauge: ClassVar[tuple[str, ...]] = ()
    domain: SpaceTimeDomain  # a box (Domain) or a shape (ShapeDomain): one written interface
    periodic: tuple[str, ...] = ()
    hard_terms: tuple[str, ...] = ()

    @abc.abstractmethod
    def residual(self, fields: Mapping[str, torch.Tensor], coords: Mapping[str, torch.Tensor]):
        """The PDE residual at each point, zero for the exact solution: a tensor, or with several
        :attr:`equations` a mapping from each equation's name to its tensor."""

    @abc.abstractmethod
    def conditions(self) -> tuple[Term, ...]:
        """The initial and boundary conditions, as residual terms."""

    def solution(self, coords: Mapping[str, Array]) -> Array:
        """The reference solution at points given coordinate-wise (arrays of one common shape);
        with several :attr:`fields`, a mapping from each field's name to its array.

        Accepts float64 numpy arrays or torch tensors and returns the same kind;
        torch inputs keep the autograd graph, so the residual can be checked on it.

        A PDE without a closed form gives :meth:`nodes` instead and leaves this out.
        """
        raise NotImplementedError(f"{self.name} has no closed-form solution: it is scored at the nodes of its "
                                  f"reference table (nodes()), and observations must come from a file (data.path)")

    def nodes(self) -> tuple[dict[str, np.ndarray], np.ndarray] | None:
        """The reference at scattered nodes, for a PDE scored on a table (a finite-element
        solution): ``({coordinate: (N,) array}, values)`` with values ``(N,)``, or ``(N, F)``
        with several fields; ``None`` (the default) for a PDE scored by :meth:`solution` on a grid.
        See :func:`pinn.io.tables.table_nodes`."""
        return None

    # -- concrete, final --------------------------------------------------------------

    def terms(self) -> tuple[Term, ...]:
        """All loss terms: each equation on the interior, then the conditions."""
        if len(self.equations) == 1:
            equations: tuple[Term, ...] = (Term(self.equations[0], "interior", tuple(self.residual_fields),
                                                self.residual),)
        else:
            equations = tuple(Term(name, "interior", tuple(self.residual_fields),
                                   lambda f, c, name=name: self.residual(f, c)[name]) for name in self.equations)  # type: ignore[misc]
        return equations + tuple(self.conditions())

    def check_names(self) -> None:
        """Raise a one-line ``ValueError`` if a term reads a field or derivative this PDE does not declare."""
        for term in self.terms():
            for name in term.fields:
                try:
                    parse(name, self.domain.coordinates, self.fields)
                except ValueError as e:
                    raise ValueError(f"{self.name}: term {term.name!r} reads {name!r}, which it cannot: {e}") from None

    def solution_array(self, coords: Mapping[str, Array]) -> np.ndarray:
        """:meth:`solution` as one float64 array: its shape, plus a trailing field axis with several fields."""
        ref = self.solution(coords)
        if isinstance(ref, Mapping):
            return np.stack([np.asarray(ref[f], dtype=np.float64) for f in self.fields], axis=-1)
        return np.asarray(ref, dtype=np.float64)

    def periodic_indices(self) -> tuple[int, ...]:
        """Positions of :attr:`periodic` among the domain's coordinates."""
        unknown = [c for c in self.periodic if c not in self.domain.coordinates]
        if unknown:
            raise ValueError(f"{self.name}: periodic coordinates {unknown} are not among {self.domain.coordinates}")
        return tuple(self.domain.coordinates.index(c) for c in self.periodic)

    def reference_grid(self, grid: Mapping[str, np.ndarray]) -> np.ndarray:
        """The reference solution on a tensor-product grid, indexed like ``grid`` (``[x, t]``, then
        the field with several fields)."""
        mesh = np.meshgrid(*(np.asarray(grid[c], dtype=np.float64) for c in self.domain.coordinates), indexing="ij")
        return self.solution_array(dict(zip(self.domain.coordinates, mesh)))


def _xp(a: Array):
    """The array namespace of ``a``: ``torch`` for tensors, else ``numpy``."""
    return torch if isinstance(a, torch.Tensor) else np


def finite(name: str, value: Any) -> float:
    """Return ``value`` as a float, or raise if it is not a finite real number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def positive(name: str, value: Any) -> float:
    """Return ``value`` as a float, or raise if it is not a finite number > 0."""
    value = finite(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}; set a positive value, e.g. pde.{name}=0.1")
    return value
