"""A domain over any :class:`~pinn.geometry.Geometry`, optionally times a time interval.

It gives the point sets ``interior``, ``boundary`` (the whole boundary, uniform by measure),
``initial`` (with time), and one set per named boundary part, ``boundary:PART``
(``boundary:holes``, ``boundary:lid``), so that each part can carry its own condition, and one
set per named point, ``point:NAME``, for point constraints.  A
part's set gets the share of ``points.boundary`` its measure gives (:meth:`share`), so the
density along the boundary is the same on every part.

Evaluation uses the bounding box's grid, with the points outside the shape masked
(:meth:`inside`): they are left out of the metrics and blank in the plots.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from pinn.geometry.base import Geometry
from pinn.physics.domain_base import SpaceTimeDomain
from pinn.physics.normals import normal_of
from pinn.physics.sampling import Sampler

__all__ = ["ShapeDomain"]

PART, POINT = "boundary:", "point:"


class ShapeDomain(SpaceTimeDomain):
    """``geometry`` (space) times ``time`` (or steady), with coordinates named ``names``.

    Args:
        geometry: the spatial region.
        time: ``(t0, t1)``, or ``None`` for a steady problem.
        names: the spatial coordinates' names (default ``x, y, z`` or the box's own).
        time_name: the time coordinate's name.
        points: named points of the shape, ``{"origin": (0, 0)}``, each a point set
            ``point:NAME`` (all its rows that point; with time, at sampled times) for a point
            constraint such as p(0, 0) = 0.
    """

    def __init__(self, geometry: Geometry, time: Sequence[float] | None = None, *,
                 names: Sequence[str] | None = None, time_name: str = "t",
                 points: Mapping[str, Sequence[float]] | None = None):
        if not isinstance(geometry, Geometry):
            raise TypeError(f"geometry must be a pinn.geometry.Geometry, got {type(geometry).__name__}")
        names = tuple(names) if names is not None else tuple(getattr(geometry, "names", ("x", "y", "z")[:geometry.dim]))
        if len(names) != geometry.dim:
            raise ValueError(f"names must give the {geometry.dim} spatial coordinates, got {list(names)}")
        for name in (*names, *((time_name,) if time is not None else ())):
            if not name.isidentifier() or "_" in name:
                raise ValueError(f"coordinate names must be identifiers without '_', got {name!r}")
        self._geometry, self.space_names = geometry, names
        _refuse_empty(geometry)
        lower, upper = geometry.bounds()
        if time is not None:
            t0, t1 = (float(t) for t in time)
            if not (math.isfinite(t0) and math.isfinite(t1) and t0 < t1):
                raise ValueError(f"time must be (t0, t1) with t0 < t1, got {tuple(time)}")
            lower = torch.cat([lower.to(torch.float64), torch.tensor([t0], dtype=torch.float64)])
            upper = torch.cat([upper.to(torch.float64), torch.tensor([t1], dtype=torch.float64)])
        self.time_name = time_name if time is not None else None
        self.coordinates = names + ((time_name,) if time is not None else ())
        self.lower, self.upper = lower.to(torch.float64), upper.to(torch.float64)
        self.points = {}
        for key, at in dict(points or {}).items():
            x = torch.as_tensor(at, dtype=torch.float64).reshape(-1)
            if not str(key).isidentifier() or x.numel() != geometry.dim or not bool(torch.isfinite(x).all()):
                raise ValueError(f"points must map names to {geometry.dim} finite coordinates, got {key!r}: {at!r}")
            if float(geometry.sdf(x[None])[0]) > 1e-12:
                raise ValueError(f"the point {key!r} {x.tolist()} lies outside the shape")
            self.points[str(key)] = x

    @property
    def geometry(self) -> Geometry:
        """The spatial region."""
        return self._geometry

    @property
    def parts(self) -> tuple[str, ...]:
        return self.geometry.parts

    @property
    def point_sets(self) -> tuple[str, ...]:
        base = ("interior", "initial", "boundary") if self.time_name else ("interior", "boundary")
        return base + tuple(PART + p for p in self.parts) + tuple(POINT + p for p in self.points)

    def share(self, which: str) -> float:
        """The fraction of the boundary's measure that the set ``which`` (a ``boundary:PART``) covers;
        0 for a named point (``point:NAME``), which gets one row."""
        if which not in self.point_sets or which in ("interior", "initial", "boundary"):
            sets = [p for p in self.point_sets if p.startswith((PART, POINT))]
            raise ValueError(f"this domain has no point set {which!r} with a share of the boundary; its parts' "
                             f"and points' sets are {sets}")
        if which.startswith(POINT):
            return 0.0
        part = which[len(PART):]
        return self.geometry.measure_of(part) / self.geometry.measure_of()

    def sample(self, which: str, n: int, sampler: Sampler, *, generator: torch.Generator) -> torch.Tensor:
        """Draw ``n`` points of the set ``which`` as an ``(n, dim)`` float64 tensor."""
        if which not in self.point_sets:
            raise ValueError(f"unknown point set {which!r}; this domain has {self.point_sets}")
        s = self.geometry.dim
        # The time column is drawn with the points; a box's initial set draws it too (and sets it to
        # t0 below), so that a box's interior and initial points come from one draw shape, as ever.
        extra = 1 if self.time_name and (which != "initial" or self.geometry.fills_bounds) else 0
        if which.startswith(POINT):
            space = self.points[which[len(POINT):]].expand(n, s).clone()
            unit_t = sampler.sample(n, 1, generator=generator) if extra else None
        elif which in ("interior", "initial"):
            space, unit_t = self._interior(n, sampler, generator, extra)
        else:
            parts = None if which == "boundary" else [which[len(PART):]]
            drawn = self.geometry.sample_boundary(n, generator=generator, parts=parts, sampler=sampler, extra=extra)
            space, unit_t = drawn.points, drawn.extra
        if not self.time_name:
            return space
        if which == "initial" or unit_t is None:
            t = torch.full((n, 1), float(self.lower[s]), dtype=torch.float64)
        else:
            t = self.lower[s] + unit_t * (self.upper[s] - self.lower[s])
        return torch.cat([space, t], dim=1)

    def _interior(self, n: int, sampler: Sampler, generator: torch.Generator, extra: int):
        """``n`` points inside the shape and, with ``extra``, their time columns: one sampler draw over
        space and time together, kept where the space part falls inside, as the box's interior is."""
        s = self.geometry.dim
        lower, upper = self.lower[:s], self.upper[:s]
        if self.geometry.fills_bounds:  # a box: every draw is inside, so exactly n are drawn
            unit = sampler.sample(n, s + extra, generator=generator).to(torch.float64)
            return lower + unit[:, :s] * (upper - lower), (unit[:, s:] if extra else None)
        if not extra:
            return self.geometry.sample_interior(n, generator=generator, sampler=sampler), None
        out, have = [], 0
        for _ in range(10_000):
            if have >= n:
                break
            unit = sampler.sample(max(64, 2 * (n - have)), s + extra, generator=generator).to(torch.float64)
            unit = unit[self.geometry.inside(lower + unit[:, :s] * (upper - lower))]
            out.append(unit)
            have += len(unit)
        else:
            raise ValueError("the geometry's interior is too small a share of its bounding box to sample")
        unit = torch.cat(out)[:n]
        return lower + unit[:, :s] * (upper - lower), unit[:, s:]

    def normal(self, coords: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The outward unit normal at boundary points, ``{space coordinate: component}`` (see
        :mod:`pinn.physics.normals`)."""
        return normal_of(self.geometry, self.space_names, coords)

    def inside(self, points: np.ndarray) -> np.ndarray:
        """``(n,)`` bool: which ``(n, dim)`` points lie in the closed shape (time aside)."""
        x = torch.as_tensor(np.asarray(points)[:, :self.geometry.dim], dtype=torch.float64)
        return (self.geometry.sdf(x) <= 1e-12).numpy()


def _refuse_empty(geometry: Geometry) -> None:
    """Refuse a shape with no interior (``Disk((0, 0), 1) & Disk((5, 0), 1)``) at once, rather than
    when its points are drawn: an empty bounding box, or no inside point among 20,000 drawn
    uniformly in it (a shape under 1e-4 of its box is refused as too thin to sample)."""
    lower, upper = geometry.bounds()
    if not bool((upper > lower).all()):
        raise ValueError(f"the shape is empty: its bounding box runs from {lower.tolist()} to {upper.tolist()} "
                         f"(an intersection of shapes that do not overlap?)")
    u = torch.rand(20_000, geometry.dim, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    if not bool(geometry.inside(lower + u * (upper - lower)).any()):
        raise ValueError(f"the shape has no interior point among 20,000 drawn in its bounding box {lower.tolist()} to "
                         f"{upper.tolist()}: it is empty (shapes that do not overlap?) or too thin to sample")
