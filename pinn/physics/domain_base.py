"""What every domain is: the written interface of a space-time domain.

A domain names its coordinates (space first, then time), bounds them in a box
(:attr:`lower`, :attr:`upper`), draws its point sets through the configured
:class:`~pinn.physics.sampling.Sampler` (the sampler means the same thing for interior and
boundary points on every domain: see :meth:`pinn.geometry.base.Geometry.sample_boundary`),
gives the outward normal on its boundary, says which grid points lie inside, and lays out the
evaluation grid.  :class:`~pinn.physics.domains.Domain` (a box) and
:class:`~pinn.physics.shape_domain.ShapeDomain` (any shape) are its two implementations; a box
domain is the domain of a :class:`~pinn.geometry.primitives.Box` (:attr:`geometry`).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from pinn.geometry.base import Geometry
from pinn.physics.sampling import Sampler

__all__ = ["SpaceTimeDomain", "default_resolution", "box_grid"]


class SpaceTimeDomain(abc.ABC):
    """A region in space, optionally times a time interval (see the module docs).

    Attributes:
        coordinates: every coordinate's name, space first, then time.
        space_names: the spatial coordinates' names.
        time_name: the time coordinate's name, or ``None`` for a steady domain.
        lower, upper: ``(dim,)`` float64: the bounding box of space and time.
    """

    coordinates: tuple[str, ...]
    space_names: tuple[str, ...]
    time_name: str | None
    lower: torch.Tensor
    upper: torch.Tensor

    @property
    @abc.abstractmethod
    def geometry(self) -> Geometry:
        """The spatial region (a :class:`~pinn.geometry.primitives.Box` for a box domain)."""

    @property
    @abc.abstractmethod
    def point_sets(self) -> tuple[str, ...]:
        """The point sets this domain provides (``interior``, ``boundary``, ``initial`` with time, ...)."""

    @abc.abstractmethod
    def sample(self, which: str, n: int, sampler: Sampler, *, generator: torch.Generator) -> torch.Tensor:
        """Draw ``n`` points of the set ``which`` as an ``(n, dim)`` float64 tensor, from ``sampler``'s
        unit-cube draws."""

    @abc.abstractmethod
    def normal(self, coords: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The outward unit normal at boundary points, ``{space coordinate: component}``."""

    @abc.abstractmethod
    def share(self, which: str) -> float:
        """The fraction of ``points.boundary`` that the set ``which`` (a named part's) gets."""

    @abc.abstractmethod
    def inside(self, points: np.ndarray) -> np.ndarray:
        """``(n,)`` bool: which ``(n, dim)`` points lie in the closed domain (time aside)."""

    # -- final ---------------------------------------------------------------------------

    @property
    def dim(self) -> int:
        """Number of coordinates (space and time)."""
        return len(self.coordinates)

    def time_axis(self) -> int | None:
        """The position of the time coordinate among :attr:`coordinates` (``None`` if steady)."""
        return self.coordinates.index(self.time_name) if self.time_name else None

    def into_window(self, points: torch.Tensor, t0: float, t1: float) -> torch.Tensor:
        """``(N, dim)`` points drawn over the whole time interval, with their times mapped affinely onto
        ``[t0, t1]`` (a time-marching window): the initial time goes to ``t0`` exactly, and a draw's
        distribution in time is kept."""
        axis = self.time_axis()
        if axis is None:
            raise ValueError("a steady domain has no time window; time marching needs a time coordinate")
        lo, hi = self.lower[axis].item(), self.upper[axis].item()
        t = t0 + (points[:, axis] - lo) * ((t1 - t0) / (hi - lo))
        out = points.clone()
        out[:, axis] = t.clamp(t0, t1)
        return out

    def default_resolution(self, *, points: int = 1_000_000) -> list[int]:
        """Grid points per coordinate when none are given (see :func:`default_resolution`)."""
        return default_resolution(self.dim, points=points)

    def grid(self, resolution: Sequence[int]) -> dict[str, np.ndarray]:
        """The bounding box's regular grid: ``{name: 1-D float64 array}``, endpoints included (points
        outside a shape are masked by evaluation, :meth:`inside`)."""
        return box_grid(self.coordinates, self.lower, self.upper, resolution)


def default_resolution(dim: int, *, points: int = 1_000_000) -> list[int]:
    """Grid points per coordinate when none are given: 201 each, fewer past two dimensions, so
    that the grid holds at most about ``points`` (100 each in 3-D, 15 in 5-D)."""
    return [max(2, min(201, int(round(points ** (1 / dim)))))] * dim


def box_grid(coordinates: Sequence[str], lower: torch.Tensor, upper: torch.Tensor,
             resolution: Sequence[int]) -> dict[str, np.ndarray]:
    """The regular grid of the box ``[lower, upper]``: ``{name: 1-D float64 array}``, endpoints included."""
    if len(resolution) != len(coordinates):
        raise ValueError(f"resolution needs one size per coordinate {tuple(coordinates)}, got {list(resolution)}")
    out = {}
    for name, n, lo, hi in zip(coordinates, resolution, lower.tolist(), upper.tolist()):
        if int(n) < 2:
            raise ValueError(f"grid resolution along {name!r} must be at least 2, got {n}")
        out[name] = np.linspace(lo, hi, int(n))
    return out
