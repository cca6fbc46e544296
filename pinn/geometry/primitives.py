"""Primitive shapes: boxes (intervals, rectangles, n-D hypercubes), balls (disks, n-D
hyperspheres) and polygons, each with an exact signed distance and named boundary parts."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from pinn.core.checks import positive
from pinn.geometry.base import Facet, Geometry, _points, r_and, sphere_measure, trimmed_distance

__all__ = ["Box", "Ball", "Polygon", "Interval", "Rectangle", "Disk", "Hypercube", "Hypersphere"]


def _vector(name: str, value, dim: int | None = None) -> torch.Tensor:
    v = torch.as_tensor(value, dtype=torch.float64).reshape(-1)
    if dim is not None and v.numel() != dim:
        raise ValueError(f"{name} must have {dim} entries, got {v.numel()}")
    if not bool(torch.isfinite(v).all()):
        raise ValueError(f"{name} must be finite, got {v.tolist()}")
    return v


def _default_names(dim: int) -> tuple[str, ...]:
    return ("x", "y", "z")[:dim] if dim <= 3 else tuple(f"x{i}" for i in range(dim))


class Box(Geometry):
    """The axis-aligned box ``[lower, upper]`` in any dimension.

    Args:
        lower, upper: ``(d,)`` corners, ``lower < upper``.
        names: the coordinates' names (default ``x, y, z``, or ``x0, x1, ...`` past 3-D); the
            face where coordinate ``c`` is smallest is the part ``c_min``, largest ``c_max``.
    """

    fills_bounds = True

    def __init__(self, lower: Sequence[float], upper: Sequence[float], *, names: Sequence[str] | None = None):
        self.lower = _vector("lower", lower)
        self.upper = _vector("upper", upper, self.lower.numel())
        if not bool((self.lower < self.upper).all()):
            raise ValueError(f"a box needs lower < upper in every coordinate, got {self.lower.tolist()} and "
                             f"{self.upper.tolist()}")
        self.dim = self.lower.numel()
        self.names = tuple(names) if names is not None else _default_names(self.dim)
        if len(self.names) != self.dim or len(set(self.names)) != self.dim:
            raise ValueError(f"names must be {self.dim} distinct coordinate names, got {list(self.names)}")

    def bounds(self):
        return self.lower.clone(), self.upper.clone()

    def sdf(self, x):
        x = _points(x, self.dim)
        center, half = (self.upper + self.lower) / 2, (self.upper - self.lower) / 2
        q = (x - center).abs() - half
        return q.clamp(min=0).norm(dim=1) + q.max(dim=1).values.clamp(max=0)

    def normal(self, x):
        x = _points(x, self.dim)
        gaps = torch.cat([(x - self.lower).abs(), (self.upper - x).abs()], dim=1)  # (n, 2d): each face
        eye = torch.eye(self.dim, dtype=torch.float64)
        return torch.cat([-eye, eye])[gaps.argmin(dim=1)]

    def facets(self):
        out = []
        sides = self.upper - self.lower
        for i, name in enumerate(self.names):
            area = float(torch.cat([sides[:i], sides[i + 1:]]).prod()) if self.dim > 1 else 1.0
            for end, sign in ((self.lower[i], -1.0), (self.upper[i], 1.0)):
                out.append(Facet(f"{name}_{'min' if sign < 0 else 'max'}", area, self._face(i, float(end), sign),
                                 distance=self._face_distance(i, float(end)), place=self._face_place(i, sign),
                                 unit_dim=self.dim - 1))
        return tuple(out)

    def _face_distance(self, axis: int, value: float):
        """The face's ADF: the distance to its plane, trimmed to the face by the R-conjunction of
        ``(h_j^2 - (x_j - c_j)^2) / (2 h_j)`` over the other coordinates."""
        center, half = (self.upper + self.lower) / 2, (self.upper - self.lower) / 2
        others = [j for j in range(self.dim) if j != axis]

        def distance(x):
            f = x[:, axis] - value
            if not others:
                return f.abs()
            t = None
            for j in others:
                tj = (half[j] ** 2 - (x[:, j] - center[j]) ** 2) / (2 * half[j])
                t = tj if t is None else r_and(t, tj)
            return trimmed_distance(f, t)

        return distance

    def _face_place(self, axis: int, sign: float):
        """The face's map from ``[0, 1)^(d-1)``: the unit columns give the other coordinates, in order."""
        others = [j for j in range(self.dim) if j != axis]

        def place(unit):
            full = torch.empty(len(unit), self.dim, dtype=torch.float64)
            full[:, others] = unit
            full[:, axis] = 1.0 if sign > 0 else 0.0
            x = self.lower + full * (self.upper - self.lower)
            x[:, axis] = self.upper[axis] if sign > 0 else self.lower[axis]
            normal = torch.zeros(len(unit), self.dim, dtype=torch.float64)
            normal[:, axis] = sign
            return x, normal

        return place

    def _face(self, axis: int, value: float, sign: float):
        def sample(n, generator):
            unit = torch.rand(n, self.dim, generator=generator, dtype=torch.float64)
            x = self.lower + unit * (self.upper - self.lower)
            x[:, axis] = value
            normal = torch.zeros(n, self.dim, dtype=torch.float64)
            normal[:, axis] = sign
            return x, normal

        return sample


class Ball(Geometry):
    """The closed ball of ``radius`` about ``center``, in any dimension.

    Args:
        center: ``(d,)``.
        radius: > 0.
        part: the name of its boundary (default ``sphere``); give several holes one name
            (``"holes"``) to set one condition on all of them.
    """

    def __init__(self, center: Sequence[float], radius: float, *, part: str = "sphere"):
        self.center = _vector("center", center)
        self.dim = self.center.numel()
        positive("radius", radius)
        self.radius, self.part = float(radius), part

    def bounds(self):
        return self.center - self.radius, self.center + self.radius

    def sdf(self, x):
        return (_points(x, self.dim) - self.center).norm(dim=1) - self.radius

    def normal(self, x):
        r = _points(x, self.dim) - self.center
        return r / r.norm(dim=1, keepdim=True)

    def facets(self):
        def sample(n, generator):
            normal = torch.randn(n, self.dim, generator=generator, dtype=torch.float64)
            normal = normal / normal.norm(dim=1, keepdim=True)
            return self.center + self.radius * normal, normal

        def distance(x):  # |r^2 - R^2| / (2R): smooth on either side of the sphere
            return (((x - self.center) ** 2).sum(dim=1) - self.radius**2).abs() / (2 * self.radius)

        def place(unit):  # a circle by its angle; a sphere by normalised Gaussians (inverse CDF of the units)
            if self.dim == 2:
                angle = 2 * math.pi * unit[:, 0]
                normal = torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
            else:
                normal = torch.special.ndtri(unit.clamp(1e-12, 1 - 1e-12))
                normal = normal / normal.norm(dim=1, keepdim=True)
            return self.center + self.radius * normal, normal

        return (Facet(self.part, sphere_measure(self.dim, self.radius), sample, distance=distance, place=place,
                      unit_dim=1 if self.dim == 2 else self.dim),)


class Polygon(Geometry):
    """A simple polygon in the plane.

    Args:
        vertices: ``(k, 2)``, k >= 3, in either orientation; edge ``i`` joins vertex ``i`` to ``i + 1``.
        parts: the boundary part of each edge (default all ``boundary``): one name, or ``k`` names.
    """

    dim = 2

    def __init__(self, vertices: Sequence[Sequence[float]], *, parts: str | Sequence[str] = "boundary"):
        v = torch.as_tensor(vertices, dtype=torch.float64)
        if v.ndim != 2 or v.shape[1] != 2 or v.shape[0] < 3 or not bool(torch.isfinite(v).all()):
            raise ValueError(f"a polygon needs at least 3 finite vertices (x, y), got shape {tuple(v.shape)}")
        names = [parts] * len(v) if isinstance(parts, str) else list(parts)
        if len(names) != len(v):
            raise ValueError(f"parts must name each of the {len(v)} edges, got {len(names)} names")
        nxt = torch.roll(v, -1, dims=0)
        area = 0.5 * float((v[:, 0] * nxt[:, 1] - nxt[:, 0] * v[:, 1]).sum())
        if abs(area) < 1e-14:
            raise ValueError("the polygon's vertices enclose no area")
        if area < 0:  # make it counter-clockwise, each edge keeping its part name
            k = len(v)
            v = torch.flip(v, dims=[0])
            names = [names[(k - 2 - j) % k] for j in range(k)]
        self.vertices, self.edge_parts = v, tuple(names)
        self._a, self._b = v, torch.roll(v, -1, dims=0)
        if bool(((self._b - self._a).norm(dim=1) == 0).any()):
            raise ValueError("the polygon has a repeated vertex (an edge of length 0)")

    def bounds(self):
        return self.vertices.min(dim=0).values, self.vertices.max(dim=0).values

    def _inside_crossings(self, x):
        a, b = self._a[None], self._b[None]
        px, py = x[:, None, 0], x[:, None, 1]
        crosses = (a[..., 1] > py) != (b[..., 1] > py)
        t = (py - a[..., 1]) / torch.where(b[..., 1] == a[..., 1], torch.ones_like(b[..., 1]), b[..., 1] - a[..., 1])
        xc = a[..., 0] + t * (b[..., 0] - a[..., 0])
        return ((crosses & (px < xc)).sum(dim=1) % 2) == 1

    def sdf(self, x):
        x = _points(x, 2)
        a, b = self._a[None], self._b[None]
        ab = b - a
        t = (((x[:, None] - a) * ab).sum(-1) / (ab * ab).sum(-1)).clamp(0, 1)
        dist = (x[:, None] - (a + t[..., None] * ab)).norm(dim=-1).min(dim=1).values
        return torch.where(self._inside_crossings(x), -dist, dist)

    def normal(self, x):
        x = _points(x, 2)
        a, b = self._a[None], self._b[None]
        ab = b - a
        t = (((x[:, None] - a) * ab).sum(-1) / (ab * ab).sum(-1)).clamp(0, 1)
        nearest = (x[:, None] - (a + t[..., None] * ab)).norm(dim=-1).argmin(dim=1)
        edges = self._b - self._a
        outward = torch.stack([edges[:, 1], -edges[:, 0]], dim=1) / edges.norm(dim=1, keepdim=True)
        return outward[nearest]

    def facets(self):
        out = []
        for a, b, part in zip(self._a, self._b, self.edge_parts):
            edge = b - a
            length = float(edge.norm())
            normal = torch.stack([edge[1], -edge[0]]) / length  # outward for a counter-clockwise polygon

            def sample(n, generator, a=a, edge=edge, normal=normal):
                t = torch.rand(n, 1, generator=generator, dtype=torch.float64)
                return a + t * edge, normal.expand(n, 2).clone()

            def distance(x, a=a, edge=edge, length=length):  # the segment's ADF (Sukumar and Srivastava, eq. 6)
                f = ((x[:, 0] - a[0]) * edge[1] - (x[:, 1] - a[1]) * edge[0]) / length
                mid = a + edge / 2
                t = ((length / 2) ** 2 - ((x - mid) ** 2).sum(dim=1)) / length
                return trimmed_distance(f, t)

            def place(unit, a=a, edge=edge, normal=normal):
                return a + unit[:, :1] * edge, normal.expand(len(unit), 2).clone()

            out.append(Facet(part, length, sample, distance=distance, place=place, unit_dim=1))
        return tuple(out)


def Interval(lower: float, upper: float, *, name: str = "x") -> Box:  # noqa: N802 (a constructor)
    """``[lower, upper]`` as a 1-D :class:`Box` (parts ``x_min``, ``x_max``)."""
    return Box([lower], [upper], names=[name])


def Rectangle(lower: Sequence[float], upper: Sequence[float], *, names: Sequence[str] = ("x", "y")) -> Box:  # noqa: N802
    """A 2-D :class:`Box` (parts ``x_min``, ``x_max``, ``y_min``, ``y_max``)."""
    return Box(lower, upper, names=names)


def Hypercube(dim: int, *, lower: float = 0.0, upper: float = 1.0) -> Box:  # noqa: N802
    """``[lower, upper]^dim``."""
    return Box([lower] * dim, [upper] * dim)


def Disk(center: Sequence[float], radius: float, *, part: str = "circle") -> Ball:  # noqa: N802
    """A 2-D :class:`Ball`."""
    if len(center) != 2:
        raise ValueError(f"a disk's center has 2 coordinates, got {len(center)}")
    return Ball(center, radius, part=part)


def Hypersphere(dim: int, *, radius: float = 1.0, part: str = "sphere") -> Ball:  # noqa: N802
    """The ball of ``radius`` about the origin of R^dim (PINNacle's HNd domain for dim 5)."""
    return Ball([0.0] * dim, radius, part=part)
