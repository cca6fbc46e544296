"""Named shapes built from the primitives, as classes a config can name (``geometry=plate_with_holes``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from pinn.geometry.base import Facet, Geometry
from pinn.geometry.primitives import Ball, Box

__all__ = ["Perforated"]


class Perforated(Geometry):
    """The rectangle ``[lower, upper]`` with circular holes ``[[cx, cy, r], ...]`` cut out.

    Its boundary parts are ``outer`` (the rectangle's sides) and ``holes`` (the circles), or, with
    the holes given by part (``{"big": [[0, 0, 1]], "small": [[3, 0, 0.4]]}``), one part per name:
    each can carry its own condition.  The holes must lie inside the rectangle and must not
    overlap, so that every hole's whole circle is boundary.

    Args:
        lower, upper: the rectangle's corners, 2 numbers each, ``lower < upper``.
        holes: ``[[cx, cy, r], ...]``, ``r > 0`` (boundary part ``holes``), or ``{part: [[cx, cy, r],
            ...]}``.

    Attributes:
        holes: ``((cx, cy, r), ...)``, every hole; ``hole_parts``: the boundary part of each.
    """

    dim = 2

    def __init__(self, lower: Sequence[float], upper: Sequence[float],
                 holes: Sequence[Sequence[float]] | Mapping[str, Sequence[Sequence[float]]] = ()):
        box = Box(lower, upper, names=("x", "y"))
        lo, hi = box.bounds()
        shape: Geometry = box
        by_part = dict(holes) if isinstance(holes, Mapping) else {"holes": holes}
        if "outer" in by_part or not all(isinstance(p, str) and p for p in by_part):
            raise ValueError(f"holes' parts must be names other than 'outer' (the rectangle's), got {list(by_part)}")
        circles: list[tuple[float, float, float]] = []
        parts: list[str] = []
        for part, group in by_part.items():
            for hole in group:
                if len(hole) != 3 or not float(hole[2]) > 0:
                    raise ValueError(f"each hole is [cx, cy, r] with r > 0, got {list(hole)!r}")
                cx, cy, r = (float(v) for v in hole)
                if not (lo[0] < cx - r and cx + r < hi[0] and lo[1] < cy - r and cy + r < hi[1]):
                    raise ValueError(f"the hole {list(hole)} does not lie inside the rectangle "
                                     f"{lo.tolist()}-{hi.tolist()}")
                for ox, oy, orad in circles:
                    if (cx - ox) ** 2 + (cy - oy) ** 2 <= (r + orad) ** 2:
                        raise ValueError(f"the holes {[ox, oy, orad]} and {list(hole)} overlap; keep them apart")
                circles.append((cx, cy, r))
                parts.append(part)
                shape = shape - Ball([cx, cy], r, part=part)
        self._shape = shape.rename({p: "outer" for p in box.parts})
        self.lower, self.upper, self.holes, self.hole_parts = lo, hi, tuple(circles), tuple(parts)

    def bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self._shape.bounds()

    def sdf(self, x: torch.Tensor) -> torch.Tensor:
        return self._shape.sdf(x)

    def normal(self, x: torch.Tensor) -> torch.Tensor:
        return self._shape.normal(x)

    def facets(self) -> tuple[Facet, ...]:
        return self._shape.facets()
