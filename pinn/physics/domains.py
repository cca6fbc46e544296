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
from pinn.physics.normals import normal_of
from pinn.physics.sampling import Sampler

__all__ = ["Domain", "box_grid", "default_resolution"]


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


class Domain:
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

    @property
    def dim(self) -> int:
        """Number of coordinates (space and time)."""
        return len(self.coordinates)

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

    def _boundary(self, n: int, sampler: Sampler, generator: torch.Generator) -> torch.Tensor:
        # Column 0 of the unit sample picks a face (weighted by its measure); the other
        # columns place the point on that face.  The fixed coordinate is then pinned.
        s = len(self.space_names)
        unit = sampler.sample(n, self.dim, generator=generator)
        extent = self.upper[:s] - self.lower[:s]
        face_measure = torch.stack([extent.prod() / e for e in extent]).repeat_interleave(2)
        cdf = torch.cumsum(face_measure, 0) / face_measure.sum()
        face = torch.searchsorted(cdf, unit[:, 0].contiguous(), right=True).clamp(max=2 * s - 1)
        # Space coordinates other than the pinned one reuse columns 1..s-1 in order.
        pts = torch.empty(n, self.dim, dtype=torch.float64)
        for k in range(2 * s):
            mask = face == k
            axis, side = divmod(k, 2)
            free = [a for a in range(s) if a != axis]
            rows = unit[mask]
            p = torch.empty(rows.shape[0], self.dim, dtype=torch.float64)
            for col, a in enumerate(free, start=1):
                p[:, a] = rows[:, col]
            p[:, axis] = float(side)
            if self.time_name:
                p[:, -1] = rows[:, -1]
            pts[mask] = self._scale(p)
        return pts

    def normal(self, coords: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The outward unit normal at points on the box's faces, ``{space coordinate: component}``
        (see :mod:`pinn.physics.normals`)."""
        s = len(self.space_names)
        box = Box(self.lower[:s].tolist(), self.upper[:s].tolist(), names=self.space_names)
        return normal_of(box, self.space_names, coords)

    def default_resolution(self, *, points: int = 1_000_000) -> list[int]:
        """Grid points per coordinate when none are given (see :func:`default_resolution`)."""
        return default_resolution(self.dim, points=points)

    def grid(self, resolution: Sequence[int]) -> dict[str, np.ndarray]:
        """A regular grid: ``{name: 1-D float64 array}``, one per coordinate, endpoints included."""
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
