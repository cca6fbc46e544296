"""Heat equation in two space dimensions with a diagonal diffusivity: ``u_t = kx u_xx + ky u_yy``.

On a box by default; on any 2-D shape (``geometry``) the same exact solution holds, with ``u``
equal to it on the shape's boundary."""

from __future__ import annotations

from typing import Any

import math
from collections.abc import Mapping, Sequence

from pinn.geometry.base import Geometry
from pinn.physics.constraints import box_factor, time_factor
from pinn.physics.domains import Domain
from pinn.physics.shape_domain import ShapeDomain
from pinn.physics.terms import Term
from pinn.pdes._modes import check_mode_pairs, mode_sum
from pinn.pdes.base import PDE, _xp, positive
from pinn.pdes.poisson import _planar

__all__ = ["Heat2D"]


class Heat2D(PDE):
    """``u_t = kx u_xx + ky u_yy`` on ``[x0, x1] x [y0, y1] x [t0, t1]``, ``u = 0`` on the boundary.

    The data are products of sine modes, ``sum_i a_i sin(m_i pi (x - x0)/Lx) sin(n_i pi (y - y0)/Ly)``,
    each decaying by ``exp(-(kx (m_i pi/Lx)^2 + ky (n_i pi/Ly)^2) (t - t0))``: the exact solution.
    The defaults are PINNacle's multi-scale Heat2d-MS: ``kx = (500 pi)^-2``, ``ky = pi^-2``,
    mode ``(20, 1)``, ``t in [0, 5]``.

    Args:
        kx, ky: diffusivities along x and y, > 0.
        modes: ``[[m, n], ...]``, positive integers.
        amplitudes: ``a_i``, one per mode.
        x, y, t: the intervals (with ``geometry``, ``t`` only: the modes fit the shape's bounding box).
        geometry: a 2-D shape to solve on instead of the box (config group ``geometry``); its whole
            boundary carries the exact solution's values, and there is no hard constraint.
    """

    name = "heat2d"
    residual_fields = ("u_t", "u_xx", "u_yy")

    def __init__(
        self,
        *,
        kx: float = 1 / (500 * math.pi) ** 2,
        ky: float = 1 / math.pi**2,
        modes: Sequence[Sequence[int]] = ((20, 1),),
        amplitudes: Sequence[float] = (1.0,),
        x: Sequence[float] = (0.0, 1.0),
        y: Sequence[float] = (0.0, 1.0),
        t: Sequence[float] = (0.0, 5.0),
        geometry: Geometry | None = None,
    ):
        self.kx, self.ky = positive("kx", kx), positive("ky", ky)
        self.modes, self.amplitudes = check_mode_pairs(
            modes, amplitudes, example="pde.modes=[[20,1]] pde.amplitudes=[1.0]")
        self.geometry = _planar(geometry)
        if self.geometry is None:
            self.domain = Domain({"x": x, "y": y}, t)
        else:
            self.domain = ShapeDomain(self.geometry, t, names=("x", "y"))
            self.hard_terms = ()  # the box's factors do not vanish on another shape's boundary

    def _field(self, x, y, t=None):
        def decay(wx, wy, dt):
            return _xp(dt).exp(-(self.kx * wx**2 + self.ky * wy**2) * dt)

        return mode_sum(self.domain, self.modes, self.amplitudes, x, y, t, in_time=decay)

    hard_terms: tuple[str, ...] = ("initial", "boundary")

    def constrain(self, u, coords):
        """``u0(x, y) + tau 16 s (1 - s) r (1 - r) u`` (``s``, ``r``: ``x``, ``y`` scaled to ``[0, 1]``):
        the initial and boundary conditions hold exactly."""
        tau = time_factor(self.domain, coords["t"])
        return self._field(coords["x"], coords["y"]) + tau * box_factor(self.domain, coords, ("x", "y")) * u

    def residual(self, fields, coords):
        return fields["u_t"] - self.kx * fields["u_xx"] - self.ky * fields["u_yy"]

    def conditions(self) -> tuple[Term, ...]:
        return (
            Term("initial", "initial", ("u",), lambda f, c: f["u"] - self._field(c["x"], c["y"])),
            Term("boundary", "boundary", ("u",), lambda f, c: f["u"])
            if self.geometry is None else  # the exact solution's values on the shape's boundary
            Term("boundary", "boundary", ("u",), lambda f, c: f["u"] - self._field(c["x"], c["y"], c["t"])),
        )

    def solution(self, coords: Mapping[str, Any]):
        return self._field(coords["x"], coords["y"], coords["t"])
