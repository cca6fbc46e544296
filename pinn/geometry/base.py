"""The geometry interface: signed distance, interior and boundary sampling, named boundary parts.

A :class:`Geometry` is a closed region of R^d.  Its boundary is made of :class:`Facet` s,
pieces of its primitives' boundaries that can each be sampled uniformly (by length, area or
count) together with their outward unit normals.  A CSG operation keeps its operands'
facets and adds a predicate that says which points of each remain on the new boundary, so

* boundary points are sampled on the primitive they come from: they lie on the boundary to
  round-off, and their normal is the primitive's, never guessed afterwards from the position
  (which is ambiguous at corners);
* sampling is uniform by measure over the whole boundary, differences and unions included:
  candidates are drawn uniformly over all facets' full measures and the points not on the
  boundary are rejected, which leaves a uniform sample of what remains.

Each facet belongs to a named part (``x_min``, ``hole``, ``lid``, ...), so conditions can be
set per part.  Everything is computed in float64.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import torch

from pinn.core.checks import count

__all__ = ["Geometry", "Facet", "BoundarySample"]

#: A facet's sampler: ``(n, generator) -> (points (n, d), unit outward normals (n, d))``.
FacetSampler = Callable[[int, torch.Generator], tuple[torch.Tensor, torch.Tensor]]
#: A facet's map from the unit cube: ``(unit (n, k)) -> (points (n, d), unit outward normals (n, d))``.
FacetPlacer = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
#: A point predicate: ``(n, d) -> (n,) bool``.
Predicate = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Facet:
    """A piece of a primitive's boundary.

    Attributes:
        part: the named boundary part it belongs to.
        measure: its full measure (length, area; 1 for a point), before any CSG cut.
        sample: draws points uniformly on it with their outward unit normals.
        keep: which of its points lie on the geometry's boundary (``None``: all).
        flip: whether the geometry's outward normal is the primitive's inward one (the
            facets of a subtracted shape).
        distance: an approximate distance to the facet, ``(n, d) -> (n,)``: smooth off the
            facet, zero on it (and nowhere else in the geometry), its gradient of unit length
            there (normalized to first order, Sukumar and Srivastava 2022); see
            :meth:`Geometry.distance`.
        place: maps points of the unit cube ``[0, 1)^unit_dim`` onto the facet, uniformly by
            measure, with their outward unit normals: what lets a configured sampler (Latin
            hypercube, Sobol) draw boundary points as it draws interior ones (see
            :meth:`Geometry.sample_boundary`).  ``None``: the facet is sampled by ``sample``.
        unit_dim: the number of unit coordinates ``place`` reads.
    """

    part: str
    measure: float
    sample: FacetSampler
    keep: Predicate | None = None
    flip: bool = False
    distance: Callable[[torch.Tensor], torch.Tensor] | None = None
    place: FacetPlacer | None = None
    unit_dim: int = 0

    def restricted(self, condition: Predicate, *, flip: bool = False) -> Facet:
        """This facet with ``condition`` added to its ``keep`` (and the normal flipped if ``flip``)."""
        old = self.keep
        keep = condition if old is None else (lambda x: old(x) & condition(x))
        return replace(self, keep=keep, flip=self.flip != flip)


@dataclass
class BoundarySample:
    """Points on a geometry's boundary.

    Attributes:
        points: ``(n, d)`` float64.
        normals: ``(n, d)`` outward unit normals.
        parts: ``(n,)`` index into ``names`` of each point's boundary part.
        names: the part names.
        extra: ``(n, extra)`` unit coordinates drawn with the points (a time coordinate), or ``None``.
    """

    points: torch.Tensor
    normals: torch.Tensor
    parts: torch.Tensor
    names: tuple[str, ...]
    extra: torch.Tensor | None = None

    def of(self, part: str) -> BoundarySample:
        """The points of one part."""
        if part not in self.names:
            raise ValueError(f"no boundary part {part!r}; the parts are {list(self.names)}")
        mask = self.parts == self.names.index(part)
        return BoundarySample(self.points[mask], self.normals[mask], self.parts[mask], self.names,
                              None if self.extra is None else self.extra[mask])


class Geometry(abc.ABC):
    """A closed region of R^d (see the module docs).

    Subclasses give :attr:`dim`, :meth:`bounds`, :meth:`sdf` and :meth:`facets`; the rest is
    final.  ``a | b``, ``a - b`` and ``a & b`` are the union, difference and intersection.
    """

    dim: int
    #: ``True`` when the region is its whole bounding box (a :class:`~pinn.geometry.primitives.Box`):
    #: its interior points are then drawn in the box directly, with no rejection.
    fills_bounds: bool = False

    @abc.abstractmethod
    def bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(lower, upper)``: a box, ``(d,)`` float64 each, that holds the geometry."""

    @abc.abstractmethod
    def sdf(self, x: torch.Tensor) -> torch.Tensor:
        """Signed distance at ``x`` ``(n, d)``: negative inside, zero on the boundary, positive outside.

        Exact for the primitives; for CSG results the usual min/max composition, whose zero set
        and sign are exact and whose magnitude is a bound on the distance.
        """

    @abc.abstractmethod
    def facets(self) -> tuple[Facet, ...]:
        """The boundary's facets."""

    @abc.abstractmethod
    def normal(self, x: torch.Tensor) -> torch.Tensor:
        """``(n, d)`` outward unit normals at boundary points ``x`` ``(n, d)``: those of the boundary
        piece nearest each point (the gradient of :meth:`sdf` there).  Exact away from corners and
        edges, where the normal is not defined; written in plain torch ops, so it also runs under
        ``vmap`` (a residual term may call it on one point)."""

    # -- final ---------------------------------------------------------------------------

    @property
    def parts(self) -> tuple[str, ...]:
        """The names of the boundary parts, in order of first appearance."""
        return tuple(dict.fromkeys(f.part for f in self.facets()))

    def inside(self, x: torch.Tensor) -> torch.Tensor:
        """``(n,)`` bool: strictly inside."""
        return self.sdf(_points(x, self.dim)) < 0

    def on_boundary(self, x: torch.Tensor, *, tol: float = 1e-10) -> torch.Tensor:
        """``(n,)`` bool: within ``tol`` of the boundary."""
        return self.sdf(_points(x, self.dim)).abs() <= tol

    def distance(self, x: torch.Tensor, parts: Sequence[str] | None = None) -> torch.Tensor:
        """``(n,)`` an approximate distance function (ADF) to the boundary, or to the named
        ``parts`` of it: zero exactly there, positive elsewhere in the geometry, smooth (so a
        residual may differentiate it twice), normalized to first order.  The facets' own ADFs
        are joined by R-equivalence, ``(sum_i phi_i^-1)^-1`` (Sukumar and Srivastava 2022); this
        is what exact Dirichlet conditions multiply the network by
        (:class:`pinn.physics.exact_dirichlet.ExactDirichlet`)."""
        x = _points(x, self.dim)
        facets = self._facets_of(parts)
        missing = sorted({f.part for f in facets if f.distance is None})
        if missing:
            raise ValueError(f"the boundary parts {missing} have no distance function (Facet.distance), which exact "
                             f"Dirichlet conditions need; give the primitive's facets one, or hold those conditions "
                             f"by loss terms")
        return join_distances([f.distance(x) for f in facets if f.distance is not None])

    def _facets_of(self, parts: Sequence[str] | None) -> list[Facet]:
        if parts is not None:
            unknown = sorted(set(parts) - set(self.parts))
            if unknown:
                raise ValueError(f"no boundary parts {unknown}; the parts are {list(self.parts)}")
        facets = [f for f in self.facets() if parts is None or f.part in set(parts)]
        lacking = sorted({f.part for f in facets if f.distance is None})
        if lacking:
            raise ValueError(f"the boundary parts {lacking} have no distance function; build them from Box, Ball "
                             f"and Polygon")
        return facets

    def rename(self, mapping: Mapping[str, str]) -> Geometry:
        """The same geometry with boundary parts renamed; several may map to one name
        (``{"x_min": "walls", "x_max": "walls", "y_min": "walls", "y_max": "lid"}``)."""
        unknown = sorted(set(mapping) - set(self.parts))
        if unknown:
            raise ValueError(f"no boundary parts {unknown} to rename; the parts are {list(self.parts)}")
        return _Renamed(self, dict(mapping))

    def sample_interior(self, n: int, *, generator: torch.Generator, sampler=None) -> torch.Tensor:
        """``n`` points strictly inside, ``(n, d)`` float64: drawn by ``sampler`` (default uniform)
        in :meth:`bounds` and kept where inside, batch after batch, until there are ``n``."""
        _count(n)
        lower, upper = self.bounds()
        out, have = [], 0
        batch = max(64, 2 * n)
        for _ in range(10_000):
            if have >= n:
                break
            u = sampler.sample(batch, self.dim, generator=generator) if sampler is not None else \
                torch.rand(batch, self.dim, generator=generator, dtype=torch.float64)
            x = lower + u.to(torch.float64) * (upper - lower)
            x = x[self.inside(x)]
            out.append(x)
            have += len(x)
        else:
            raise ValueError("the geometry's interior is too small a share of its bounding box to sample")
        return torch.cat(out)[:n] if out else torch.empty(0, self.dim, dtype=torch.float64)

    def sample_boundary(self, n: int, *, generator: torch.Generator, parts: Sequence[str] | None = None,
                        sampler=None, extra: int = 0) -> BoundarySample:
        """``n`` points uniform by measure over the boundary (or over the named ``parts`` of it).

        With a ``sampler`` (:class:`pinn.physics.sampling.Sampler`), the points come from its
        unit-cube draws, as interior points do: column 0 picks a facet by measure, the next
        columns place the point on it (:attr:`Facet.place`), and the last ``extra`` columns are
        returned as :attr:`BoundarySample.extra` (a space-time domain's time), so that a Latin
        hypercube or Sobol sample stratifies the boundary's space-time points jointly.  Points a
        CSG cut removes are replaced from further draws.  A facet without ``place`` (a user's
        primitive that gives only ``sample``) is drawn by ``sample`` instead, with ``torch.rand``.
        """
        _count(n)
        facets = list(self.facets())
        names = self.parts
        if parts is not None:
            unknown = sorted(set(parts) - set(names))
            if unknown:
                raise ValueError(f"no boundary parts {unknown}; the parts are {list(names)}")
            facets = [f for f in facets if f.part in set(parts)]
        if not facets:
            raise ValueError("the geometry has no boundary to sample")
        if sampler is not None and all(f.place is not None for f in facets):
            return self._sample_boundary_units(n, facets, names, sampler, generator, extra)
        out = self._sample_boundary_facets(n, facets, names, generator)
        if extra:
            out.extra = sampler.sample(n, extra, generator=generator) if sampler is not None else \
                torch.rand(n, extra, generator=generator, dtype=torch.float64)
        return out

    def _sample_boundary_units(self, n, facets, names, sampler, generator, extra) -> BoundarySample:
        """:meth:`sample_boundary` from a sampler's unit-cube draws (see there)."""
        weights = torch.tensor([f.measure for f in facets], dtype=torch.float64)
        cdf = torch.cumsum(weights, 0) / weights.sum()
        k = max(f.unit_dim for f in facets)
        pts, nrm, idx, ext, have = [], [], [], [], 0
        for attempt in range(10_000):
            if have >= n:
                break
            m = n - have if attempt == 0 else max(64, 2 * (n - have))  # exactly n when nothing is cut away
            unit = sampler.sample(m, 1 + k + extra, generator=generator).to(torch.float64)
            which = torch.searchsorted(cdf, unit[:, 0].contiguous(), right=True).clamp(max=len(facets) - 1)
            x = torch.empty(m, self.dim, dtype=torch.float64)
            normal = torch.empty(m, self.dim, dtype=torch.float64)
            index = torch.empty(m, dtype=torch.long)
            kept = torch.ones(m, dtype=torch.bool)
            for j, facet in enumerate(facets):
                mask = which == j
                if not bool(mask.any()):
                    continue
                xj, nj = facet.place(unit[mask][:, 1:1 + facet.unit_dim])
                x[mask], normal[mask] = xj, (-nj if facet.flip else nj)
                index[mask] = names.index(facet.part)
                if facet.keep is not None:
                    kept[mask] = facet.keep(xj)
            pts.append(x[kept])
            nrm.append(normal[kept])
            idx.append(index[kept])
            ext.append(unit[kept][:, 1 + k:])
            have += int(kept.sum())
        else:
            raise ValueError("almost none of the boundary's facets remain after the CSG cuts; cannot sample it")
        return BoundarySample(torch.cat(pts)[:n], torch.cat(nrm)[:n], torch.cat(idx)[:n], names,
                              torch.cat(ext)[:n] if extra else None)

    def _sample_boundary_facets(self, n, facets, names, generator) -> BoundarySample:
        """:meth:`sample_boundary` by each facet's own ``sample`` (uniform, ``torch.rand``)."""
        weights = torch.tensor([f.measure for f in facets], dtype=torch.float64)
        pts, nrm, idx, have = [], [], [], 0
        for _ in range(10_000):
            if have >= n:
                break
            batch = max(64, 2 * (n - have))
            choice = torch.multinomial(weights, batch, replacement=True, generator=generator)
            for k, facet in enumerate(facets):
                m = int((choice == k).sum())
                if m == 0:
                    continue
                x, normal = facet.sample(m, generator)
                if facet.keep is not None:
                    kept = facet.keep(x)
                    x, normal = x[kept], normal[kept]
                pts.append(x)
                nrm.append(-normal if facet.flip else normal)
                idx.append(torch.full((len(x),), names.index(facet.part), dtype=torch.long))
                have += len(x)
        else:
            raise ValueError("almost none of the boundary's facets remain after the CSG cuts; cannot sample it")
        # Facets were sampled in facet order within each batch; shuffle so the first n are a fair draw.
        points, normals, index = torch.cat(pts), torch.cat(nrm), torch.cat(idx)
        order = torch.randperm(len(points), generator=generator)[:n]
        return BoundarySample(points[order], normals[order], index[order], names)

    def measure_of(self, part: str | None = None, *, samples: int = 200_000, seed: int = 0) -> float:
        """The boundary's measure (or one part's), estimated from the facets' kept share."""
        g = torch.Generator().manual_seed(seed)
        total = 0.0
        for f in self.facets():
            if part is not None and f.part != part:
                continue
            if f.keep is None:
                total += f.measure
            else:
                x, _ = f.sample(samples, g)
                total += f.measure * float(f.keep(x).double().mean())
        return total

    def __or__(self, other: Geometry) -> Geometry:
        from pinn.geometry.csg import Union

        return Union(self, other)

    def __sub__(self, other: Geometry) -> Geometry:
        from pinn.geometry.csg import Difference

        return Difference(self, other)

    def __and__(self, other: Geometry) -> Geometry:
        from pinn.geometry.csg import Intersection

        return Intersection(self, other)


class _Renamed(Geometry):
    def __init__(self, inner: Geometry, mapping: dict[str, str]):
        self.inner, self.mapping, self.dim = inner, mapping, inner.dim

    def bounds(self):
        return self.inner.bounds()

    def sdf(self, x):
        return self.inner.sdf(x)

    def facets(self):
        return tuple(replace(f, part=self.mapping.get(f.part, f.part)) for f in self.inner.facets())

    def normal(self, x):
        return self.inner.normal(x)


def join_distances(phis: Sequence[torch.Tensor]) -> torch.Tensor:
    """R-equivalence of distances ``phi_i >= 0``: ``(sum_i 1 / phi_i)^-1``, zero where any is
    zero, written as ``m / sum_i (m / phi_i)`` with ``m = min_i phi_i`` so that it stays finite
    (and differentiable) where some vanish."""
    if len(phis) == 1:
        return phis[0]
    stack = torch.stack(list(phis))
    m = stack.min(dim=0).values
    ratio = torch.where(stack > 0, m / torch.where(stack > 0, stack, torch.ones_like(stack)), torch.ones_like(stack))
    return m / ratio.sum(dim=0)


def distance_weights(phis: Sequence[torch.Tensor]) -> torch.Tensor:
    """``(k, n)`` transfinite-interpolation weights ``w_i = (1/phi_i) / sum_j (1/phi_j)``: 1 on
    the zero set of ``phi_i``, 0 on the others', smooth between (computed like
    :func:`join_distances`)."""
    stack = torch.stack(list(phis))
    m = stack.min(dim=0).values
    ratio = torch.where(stack > 0, m / torch.where(stack > 0, stack, torch.ones_like(stack)), torch.ones_like(stack))
    return ratio / ratio.sum(dim=0)


def trimmed_distance(f: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """The ADF of a trimmed surface: ``f`` the signed distance to its carrier (a line, a plane),
    ``t >= 0`` exactly on the piece kept; ``sqrt(f^2 + ((sqrt(t^2 + f^4) - t) / 2)^2)``, zero only
    where ``f = 0`` and ``t >= 0`` (Sukumar and Srivastava 2022, eq. 6)."""
    return torch.sqrt(f**2 + ((torch.sqrt(t**2 + f**4) - t) / 2) ** 2)


def r_and(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """R-conjunction (R0): positive where both ``a`` and ``b`` are, ``a + b - sqrt(a^2 + b^2)``."""
    return a + b - torch.sqrt(a**2 + b**2)


def _count(n) -> None:
    count("the number of points", n)


def _points(x: torch.Tensor, dim: int) -> torch.Tensor:
    x = torch.as_tensor(x, dtype=torch.float64)
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"points must have shape (n, {dim}), got {tuple(x.shape)}")
    return x


def sphere_measure(dim: int, radius: float) -> float:
    """The (dim-1)-measure of the sphere of ``radius`` in R^dim (2 for dim 1: two points)."""
    return 2 * math.pi ** (dim / 2) / math.gamma(dim / 2) * radius ** (dim - 1)
