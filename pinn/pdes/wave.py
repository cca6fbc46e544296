"""Wave equation ``u_tt = c^2 u_xx`` with zero Dirichlet boundaries: a standing wave."""

from __future__ import annotations

from typing import Any

from collections.abc import Mapping, Sequence

from pinn.physics.constraints import box_factor
from pinn.physics.domains import Domain
from pinn.physics.terms import Term
from pinn.pdes._modes import check_modes, wavenumber
from pinn.pdes.base import PDE, _xp, positive

__all__ = ["Wave"]


class Wave(PDE):
    """``u_tt = c^2 u_xx`` on ``x in [x0, x1]``, ``t in [t0, t1]``; ``u = 0`` at both ends.

    Initial data ``u = sum_k a_k sin(k pi (x - x0) / L)``, ``u_t = 0``; the exact
    solution is the standing wave ``sum_k a_k sin(k pi (x - x0)/L) cos(c k pi (t - t0)/L)``.
    The defaults are PINNacle's Wave1d-C: ``sin(pi x) + 0.5 sin(4 pi x)``, ``c = 2``.

    Args:
        c: wave speed, > 0.
        modes: the sine modes ``k`` (positive integers).
        amplitudes: ``a_k``, one per mode.
        x: spatial interval.
        t: time interval.
    """

    name = "wave"
    residual_fields = ("u_tt", "u_xx")

    def __init__(
        self,
        *,
        c: float = 2.0,
        modes: Sequence[int] = (1, 4),
        amplitudes: Sequence[float] = (1.0, 0.5),
        x: Sequence[float] = (0.0, 1.0),
        t: Sequence[float] = (0.0, 1.0),
    ):
        self.c = positive("c", c)
        self.modes, self.amplitudes = check_modes(modes, amplitudes)
        self.domain = Domain({"x": x}, t)

    def _wavenumber(self, k: int) -> float:
        return wavenumber(self.domain, k)

    def _initial(self, x):
        xp, x0 = _xp(x), self.domain.lower[0].item()
        return sum(a * xp.sin(self._wavenumber(k) * (x - x0)) for k, a in zip(self.modes, self.amplitudes))

    hard_terms = ("initial", "initial_velocity", "boundary")

    def constrain(self, u, coords):
        """``u0(x) + phi(t) 4 s (1 - s) u`` (``s``: ``x`` scaled to ``[0, 1]``), where
        ``phi = q^2 / (1 + q^2)`` with ``q = c kappa_max (t - t0)``, the time in units of the
        fastest mode's period over 2 pi: ``u``, ``u_t = 0`` at ``t0`` and the boundary values
        hold exactly.  ``phi`` grows like ``q^2`` and levels off at 1, so the network's part
        stays of order one (a plain ``tau^2`` would ask it for ``u_tt / tau^2``, about 160 here)."""
        q = self.c * self._wavenumber(max(self.modes)) * (coords["t"] - self.domain.lower[-1].item())
        phi = q * q / (1 + q * q)
        return self._initial(coords["x"]) + phi * box_factor(self.domain, coords, ("x",)) * u

    def residual(self, fields, coords):
        return fields["u_tt"] - self.c**2 * fields["u_xx"]

    def conditions(self) -> tuple[Term, ...]:
        return (
            Term("initial", "initial", ("u",), lambda f, c: f["u"] - self._initial(c["x"])),
            Term("initial_velocity", "initial", ("u_t",), lambda f, c: f["u_t"]),
            Term("boundary", "boundary", ("u",), lambda f, c: f["u"]),
        )

    def solution(self, coords: Mapping[str, Any]):
        x, t = coords["x"], coords["t"]
        xp, x0, t0 = _xp(x), self.domain.lower[0].item(), self.domain.lower[1].item()
        return sum(
            a * xp.sin(self._wavenumber(k) * (x - x0)) * xp.cos(self.c * self._wavenumber(k) * (t - t0))
            for k, a in zip(self.modes, self.amplitudes)
        )
