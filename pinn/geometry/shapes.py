"""Named shapes built from the primitives, as classes a config can name (``geometry=plate_with_holes``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from pinn.geometry.base import Facet, Geometry
from pinn.geometry.primitives import Ball, Box

__all__ = ["Perforated"]


class Perforated(Geometry):
    """The rectangle ``[lower, upper]`` with circular holes ``[[cx, cy, r], ...]`` cut out.

    Its boundary parts are ``outer`` (the rectangle's sides) and ``holes`` (the circles).  The
    holes must lie inside the rectangle and must not overlap, so that every hole's whole circle
    is boundary.

    Args:
        lower, upper: the rectangle's corners, 2 numbers each, ``lower < upper``.
        holes: ``[[cx, cy, r], ...]``, ``r > 0``.
    """

    dim = 2

    def __init__(self, lower: Sequence[float], upper: Sequence[float], holes: Sequence[Sequence[float]] = ()):
        box = Box(lower, upper, names=("x", "y"))
        lo, hi = box.bounds()
        shape: Geometry = box
        circles: list[tuple[float, float, float]] = []
        for hole in holes:
            if len(hole) != 3 or not float(hole[2]) > 0:
                raise ValueError(f"each hole is [cx, cy, r] with r > 0, got {list(hole)!r}")
            cx, cy, r = (float(v) for v in hole)
            if not (lo[0] < cx - r and cx + r < hi[0] and lo[1] < cy - r and cy + r < hi[1]):
                raise ValueError(f"the hole {list(hole)} does not lie inside the rectangle {lo.tolist()}-{hi.tolist()}")
            for ox, oy, orad in circles:
                if (cx - ox) ** 2 + (cy - oy) ** 2 <= (r + orad) ** 2:
                    raise ValueError(f"the holes {[ox, oy, orad]} and {list(hole)} overlap; keep them apart")
            circles.append((cx, cy, r))
            shape = shape - Ball([cx, cy], r, part="holes")
        parts = {p: "outer" for p in box.parts}
        self._shape = shape.rename(parts)
        self.lower, self.upper, self.holes = lo, hi, tuple(circles)

    def bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self._shape.bounds()

    def sdf(self, x: torch.Tensor) -> torch.Tensor:
        return self._shape.sdf(x)

    def normal(self, x: torch.Tensor) -> torch.Tensor:
        return self._shape.normal(x)

    def facets(self) -> tuple[Facet, ...]:
        return self._shape.facets()
