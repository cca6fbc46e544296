"""A box in space times a time interval: the :class:`~pinn.physics.shape_domain.ShapeDomain` of a
:class:`~pinn.geometry.primitives.Box`, built from ``{name: (low, high)}``.

It gives the point sets ``interior`` (the whole space-time box), ``initial`` (space at the first
time), ``boundary`` (the faces of the space box at all times) and one set per face,
``boundary:x_min``, ``boundary:x_max``, ...  A steady domain (no time interval) has no initial set.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from pinn.geometry.primitives import Box
from pinn.physics.domain_base import box_grid, default_resolution
from pinn.physics.shape_domain import ShapeDomain

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


class Domain(ShapeDomain):
    """A box in space, optionally times a time interval: ``ShapeDomain(Box(...), time)``.

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
            time = _check_interval(time_name, time)
        for name in (*bounds, *((time_name,) if time is not None else ())):
            if not name.isidentifier() or "_" in name:
                raise ValueError(f"coordinate names must be identifiers without '_' (derivative names join them, "
                                 f"'u_xx'), got {name!r}")
        names = tuple(bounds)
        box = Box([lo for lo, _ in bounds.values()], [hi for _, hi in bounds.values()], names=names)
        super().__init__(box, time, names=names, time_name=time_name)
