"""Constructive solid geometry: union, difference and intersection of any two geometries.

Each keeps its operands' facets, restricted to the points that lie on its own boundary
(see :mod:`pinn.geometry.base`); the signed distances compose as min and max.
"""

from __future__ import annotations

import torch

from pinn.geometry.base import Geometry

__all__ = ["Union", "Difference", "Intersection"]


def _same_dim(a: Geometry, b: Geometry) -> int:
    if a.dim != b.dim:
        raise ValueError(f"cannot combine a {a.dim}-D and a {b.dim}-D geometry")
    return a.dim


class Union(Geometry):
    """``a | b``: the points of either."""

    def __init__(self, a: Geometry, b: Geometry):
        self.a, self.b, self.dim = a, b, _same_dim(a, b)

    def bounds(self):
        (la, ua), (lb, ub) = self.a.bounds(), self.b.bounds()
        return torch.minimum(la, lb), torch.maximum(ua, ub)

    def sdf(self, x):
        return torch.minimum(self.a.sdf(x), self.b.sdf(x))

    def facets(self):
        return (tuple(f.restricted(lambda x: self.b.sdf(x) > 0) for f in self.a.facets())
                + tuple(f.restricted(lambda x: self.a.sdf(x) > 0) for f in self.b.facets()))

    def normal(self, x):
        return _nearer(self.a, self.b, x, 1.0)


class Difference(Geometry):
    """``a - b``: the points of ``a`` not inside ``b`` (``b``'s boundary in ``a`` becomes boundary,
    its normals pointing into ``b``: out of the difference)."""

    def __init__(self, a: Geometry, b: Geometry):
        self.a, self.b, self.dim = a, b, _same_dim(a, b)

    def bounds(self):
        return self.a.bounds()

    def sdf(self, x):
        return torch.maximum(self.a.sdf(x), -self.b.sdf(x))

    def facets(self):
        return (tuple(f.restricted(lambda x: self.b.sdf(x) > 0) for f in self.a.facets())
                + tuple(f.restricted(lambda x: self.a.sdf(x) < 0, flip=True) for f in self.b.facets()))

    def normal(self, x):
        return _nearer(self.a, self.b, x, -1.0)


class Intersection(Geometry):
    """``a & b``: the points of both."""

    def __init__(self, a: Geometry, b: Geometry):
        self.a, self.b, self.dim = a, b, _same_dim(a, b)

    def bounds(self):
        (la, ua), (lb, ub) = self.a.bounds(), self.b.bounds()
        return torch.maximum(la, lb), torch.minimum(ua, ub)

    def sdf(self, x):
        return torch.maximum(self.a.sdf(x), self.b.sdf(x))

    def facets(self):
        return (tuple(f.restricted(lambda x: self.b.sdf(x) < 0) for f in self.a.facets())
                + tuple(f.restricted(lambda x: self.a.sdf(x) < 0) for f in self.b.facets()))

    def normal(self, x):
        return _nearer(self.a, self.b, x, 1.0)


def _nearer(a: Geometry, b: Geometry, x: torch.Tensor, b_sign: float) -> torch.Tensor:
    """The normal of whichever operand's boundary is nearer ``x`` (``b``'s times ``b_sign``: -1 for a
    subtracted shape, whose outward normal points into it)."""
    on_a = (a.sdf(x).abs() <= b.sdf(x).abs())[:, None]
    return torch.where(on_a, a.normal(x), b_sign * b.normal(x))
