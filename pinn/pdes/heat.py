"""Heat equation ``u_t = alpha u_xx`` with zero Dirichlet boundaries and sine-mode data."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch

from ..domains import Domain
from ..terms import Term
from ._modes import check_modes
from .base import PDE, _xp, positive

__all__ = ["Heat"]


class Heat(PDE):
    """``u_t = alpha u_xx`` on ``x in [x0, x1]``, ``t in [t0, t1]``; ``u = 0`` at both ends.

    The initial condition is ``sum_k a_k sin(k pi (x - x0) / L)``, whose exact
    solution decays each mode by ``exp(-alpha (k pi / L)^2 (t - t0))``.

    Args:
        alpha: diffusivity, > 0.
        modes: the sine modes ``k`` (positive integers).
        amplitudes: ``a_k``, one per mode.
        x: spatial interval.
        t: time interval.
    """

    name = "heat"
    residual_fields = ("u_t", "u_xx")

    def __init__(
        self,
        *,
        alpha: float = 0.4,
        modes: Sequence[int] = (1,),
        amplitudes: Sequence[float] = (1.0,),
        x: Sequence[float] = (0.0, 1.0),
        t: Sequence[float] = (0.0, 1.0),
    ):
        self.alpha = positive("alpha", alpha)
        self.modes, self.amplitudes = check_modes(modes, amplitudes)
        self.domain = Domain({"x": x}, t)

    def _wavenumber(self, k: int) -> float:
        lo, hi = self.domain.lower[0].item(), self.domain.upper[0].item()
        return k * math.pi / (hi - lo)

    def _initial(self, x):
        xp, x0 = _xp(x), self.domain.lower[0].item()
        return sum(a * xp.sin(self._wavenumber(k) * (x - x0)) for k, a in zip(self.modes, self.amplitudes))

    def residual(self, fields, coords):
        return fields["u_t"] - self.alpha * fields["u_xx"]

    def conditions(self) -> tuple[Term, ...]:
        return (
            Term("initial", "initial", ("u",), lambda f, c: f["u"] - self._initial(c["x"])),
            Term("boundary", "boundary", ("u",), lambda f, c: f["u"]),
        )

    def solution(self, coords: Mapping[str, object]):
        x, t = coords["x"], coords["t"]
        xp, x0, t0 = _xp(x), self.domain.lower[0].item(), self.domain.lower[1].item()
        return sum(
            a * xp.sin(self._wavenumber(k) * (x - x0)) * xp.exp(-self.alpha * self._wavenumber(k) ** 2 * (t - t0))
            for k, a in zip(self.modes, self.amplitudes)
        )
