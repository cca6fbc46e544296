"""Space-time domains: a box in space times a time interval.

A domain names its coordinates (space first, then time) and gives three point
sets: ``interior`` (the whole space-time box), ``initial`` (space at the first
time) and ``boundary`` (the faces of the space box at all times).  A steady
domain (no time interval) has no initial set.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from pinn.geometry.primitives import Box
from pinn.physics.domain_base import SpaceTimeDomain, box_grid, default_resolution
from pinn.physics.normals import normal_of
from pinn.physics.sampling import Sampler

__all__ = ["Domain", "box_grid", "default_resolution"]  # the last two: re-exported from domain_base


def _check_interval(name: str, bounds: Sequence[float]) -> tuple[float, float]:
    try:
        lo, hi = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise ValueError(f"bounds of {name!r} must be two numbers [low, high], got {bounds!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"bounds of {name!r} must be finite, got [{lo}, {hi}]")
    if not lo < hi:
        raise ValueError(f"bounds of {name!r} must satisfy low < high, got [{lo}, {hi}]; swap or widen them")
    return lo, hi


class Domain(SpaceTimeDomain):
    """A box in space, optionally times a time interval.

    Args:
        space: ``{name: (low, high)}`` for each spatial coordinate; names are identifiers without
            ``_`` (``x``, ``y``, or ``x1 ... x5``: derivative names join them, ``u_x1x2``).
        time: ``(t0, t1)``, or ``None`` for a steady problem.
        time_name: the name of the time coordinate.
    """

    def __init__(
        self,
        space: Mapping[str, Sequence[float]],
        time: Sequence[float] | None = None,
        *,
        time_name: str = "t",
    ):
        if not space:
            raise ValueError("a domain needs at least one spatial coordinate")
        bounds = {name: _check_interval(name, b) for name, b in space.items()}
        if time is not None:
            if time_name in bounds:
                raise ValueError(f"time coordinate {time_name!r} is also a spatial coordinate")
            bounds[time_name] = _check_interval(time_name, time)
        for name in bounds:
            if not name.isidentifier() or "_" in name:
                raise ValueError(f"coordinate names must be identifiers without '_' (derivative names join them, "
                                 f"'u_xx'), got {name!r}")
        self.space_names = tuple(space)
        self.time_name = time_name if time is not None else None
        self.coordinates = tuple(bounds)
        self.lower = torch.tensor([b[0] for b in bounds.values()], dtype=torch.float64)
        self.upper = torch.tensor([b[1] for b in bounds.values()], dtype=torch.float64)
        s = len(self.space_names)
        #: The spatial box, as a :class:`~pinn.geometry.primitives.Box` (parts ``x_min``, ``x_max``, ...):
        #: made once, since sampling and normals use it at every step.
        self.box = Box(self.lower[:s].tolist(), self.upper[:s].tolist(), names=self.space_names)

    @property
    def point_sets(self) -> tuple[str, ...]:
        """The point sets this domain provides."""
        return ("interior", "initial", "boundary") if self.time_name else ("interior", "boundary")

    def _scale(self, unit: torch.Tensor) -> torch.Tensor:
        return self.lower + unit * (self.upper - self.lower)

    def sample(self, which: str, n: int, sampler: Sampler, *, generator: torch.Generator) -> torch.Tensor:
        """Draw ``n`` points of the set ``which`` as an ``(n, dim)`` float64 tensor."""
        if which not in self.point_sets:
            raise ValueError(f"unknown point set {which!r}; this domain has {self.point_sets}")
        if which == "interior":
            return self._scale(sampler.sample(n, self.dim, generator=generator))
        if which == "initial":
            pts = self._scale(sampler.sample(n, self.dim, generator=generator))
            pts[:, -1] = self.lower[-1]
            return pts
        return self._boundary(n, sampler, generator)

    @property
    def geometry(self) -> Box:
        """The spatial box (parts ``x_min``, ``x_max``, ...)."""
        return self.box

    def share(self, which: str) -> float:
        """A box domain has no per-part point sets (its sets are :attr:`point_sets`)."""
        raise ValueError(f"a box domain has no point set {which!r}; its sets are {self.point_sets} (put the PDE "
                         f"on ShapeDomain(Box(...)) for one set per face)")

    def inside(self, points: np.ndarray) -> np.ndarray:
        """``(n,)`` bool: which ``(n, dim)`` points lie in the closed box (time aside)."""
        s = len(self.space_names)
        x = np.asarray(points, dtype=np.float64)[:, :s]
        lo, hi = self.lower[:s].numpy(), self.upper[:s].numpy()
        return np.asarray(((x >= lo) & (x <= hi)).all(axis=1))

    def _boundary(self, n: int, sampler: Sampler, generator: torch.Generator) -> torch.Tensor:
        # The box's own faces, drawn as every shape's boundary is (Geometry.sample_boundary): column 0
        # of the sampler's unit sample picks a face by its measure, the next place the point on it,
        # and the last is the time.
        drawn = self.box.sample_boundary(n, generator=generator, sampler=sampler, extra=1 if self.time_name else 0)
        if drawn.extra is None:
            return drawn.points
        t = self.lower[-1] + drawn.extra[:, 0] * (self.upper[-1] - self.lower[-1])
        return torch.cat([drawn.points, t[:, None]], dim=1)

    def normal(self, coords: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The outward unit normal at points on the box's faces, ``{space coordinate: component}``
        (see :mod:`pinn.physics.normals`)."""
        return normal_of(self.box, self.space_names, coords)
