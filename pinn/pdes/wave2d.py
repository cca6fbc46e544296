"""The wave equation in two space dimensions, ``u_tt = cx^2 u_xx + cy^2 u_yy``: standing waves.

The defaults are Wave2d-MS (PINNacle's ``Wave2D_LongTime``) made consistent.  PINNacle codes
``u_tt - (u_xx + 2 u_yy) = 0`` on ``[0, 1]^2 x [0, 100]`` but scores against
``sin(pi x) sinh(pi y) cos(pi t) + sinh(3 pi x) sin(2 pi y) cos(pi t)``, which solves
``u_tt + u_xx + 2 u_yy = 0`` (elliptic in time) instead, and it gives no initial velocity.  Here
the coded equation is kept and the solution is the one it has with the same spatial wavenumbers,
``(pi, pi)`` and ``(3 pi, 2 pi)``: the standing waves
``sin(pi x) sin(pi y) cos(sqrt(3) pi t) + sin(3 pi x) sin(2 pi y) cos(sqrt(17) pi t)``, zero on
the walls, ``u_t = 0`` at ``t = 0``.  Over ``t`` in ``[0, 100]`` that is 87 periods of the slow
mode and 206 of the fast one.
"""

from __future__ import annotations

from typing import Any

import math
from collections.abc import Mapping, Sequence

from pinn.physics.constraints import box_factor
from pinn.physics.domains import Domain
from pinn.physics.terms import Term
from pinn.pdes._modes import check_mode_pairs, mode_sum, pair_wavenumbers
from pinn.pdes.base import PDE, _xp, positive

__all__ = ["Wave2D"]


class Wave2D(PDE):
    """``u_tt = cx^2 u_xx + cy^2 u_yy`` on ``[x0, x1] x [y0, y1] x [t0, t1]``, ``u = 0`` on the walls.

    Initial data ``u = sum_i a_i sin(m_i pi (x - x0)/Lx) sin(n_i pi (y - y0)/Ly)`` and ``u_t = 0``;
    the exact solution is the sum of standing waves, mode ``i`` oscillating as ``cos(w_i (t - t0))``
    with ``w_i^2 = cx^2 (m_i pi/Lx)^2 + cy^2 (n_i pi/Ly)^2``.

    Args:
        cx, cy: the wave speeds along x and y, > 0 (defaults 1 and sqrt(2): Wave2d-MS).
        modes: ``[[m, n], ...]``, positive integers.
        amplitudes: ``a_i``, one per mode.
        x, y, t: the intervals.
    """

    name = "wave2d"
    residual_fields = ("u_tt", "u_xx", "u_yy")
    hard_terms = ("initial", "initial_velocity", "boundary")

    def __init__(
        self,
        *,
        cx: float = 1.0,
        cy: float = math.sqrt(2.0),
        modes: Sequence[Sequence[int]] = ((1, 1), (3, 2)),
        amplitudes: Sequence[float] = (1.0, 1.0),
        x: Sequence[float] = (0.0, 1.0),
        y: Sequence[float] = (0.0, 1.0),
        t: Sequence[float] = (0.0, 100.0),
    ):
        self.cx, self.cy = positive("cx", cx), positive("cy", cy)
        self.modes, self.amplitudes = check_mode_pairs(
            modes, amplitudes, example="pde.modes=[[1,1],[3,2]] pde.amplitudes=[1.0,1.0]")
        self.domain = Domain({"x": x, "y": y}, t)

    def frequency(self, m: int, n: int) -> float:
        """The angular frequency ``w`` of mode ``(m, n)``."""
        return self._omega(*pair_wavenumbers(self.domain, m, n))

    def _omega(self, wx: float, wy: float) -> float:
        return math.sqrt((self.cx * wx) ** 2 + (self.cy * wy) ** 2)

    def _field(self, x, y, t=None):
        def oscillation(wx, wy, dt):
            return _xp(dt).cos(self._omega(wx, wy) * dt)

        return mode_sum(self.domain, self.modes, self.amplitudes, x, y, t, in_time=oscillation)

    def constrain(self, u, coords):
        """``u0(x, y) + phi(t) 16 s (1 - s) r (1 - r) u`` (``s``, ``r``: ``x``, ``y`` scaled to
        ``[0, 1]``), ``phi = q^2 / (1 + q^2)`` with ``q`` the time in units of the fastest mode's
        period over 2 pi: ``u`` and ``u_t = 0`` at ``t0`` and the wall values hold exactly, and the
        network's part stays of order one (as in :class:`pinn.pdes.Wave`)."""
        w = max(self.frequency(m, n) for m, n in self.modes)
        q = w * (coords["t"] - self.domain.lower[-1].item())
        phi = q * q / (1 + q * q)
        return self._field(coords["x"], coords["y"]) + phi * box_factor(self.domain, coords, ("x", "y")) * u

    def residual(self, fields, coords):
        return fields["u_tt"] - self.cx**2 * fields["u_xx"] - self.cy**2 * fields["u_yy"]

    def conditions(self) -> tuple[Term, ...]:
        return (
            Term("initial", "initial", ("u",), lambda f, c: f["u"] - self._field(c["x"], c["y"])),
            Term("initial_velocity", "initial", ("u_t",), lambda f, c: f["u_t"]),
            Term("boundary", "boundary", ("u",), lambda f, c: f["u"]),
        )

    def solution(self, coords: Mapping[str, Any]):
        return self._field(coords["x"], coords["y"], coords["t"])
