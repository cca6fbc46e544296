"""Heat equation ``u_t = alpha u_xx`` with Dirichlet or Neumann boundaries and mode data."""

from __future__ import annotations

from typing import Any

from collections.abc import Mapping, Sequence

from pinn.physics.constraints import box_factor, time_factor
from pinn.physics.domains import Domain
from pinn.physics.terms import Term
from pinn.pdes._modes import check_modes, wavenumber
from pinn.pdes.base import PDE, _xp, positive

__all__ = ["Heat"]

BOUNDARY_CONDITIONS = ("dirichlet", "neumann", "periodic")


class Heat(PDE):
    """``u_t = alpha u_xx`` on ``x in [x0, x1]``, ``t in [t0, t1]``.

    * ``bc="dirichlet"``: ``u = 0`` at both ends; the data are sine modes
      ``sum_k a_k sin(k pi (x - x0) / L)``.
    * ``bc="neumann"``: ``u_x = 0`` at both ends (insulated); the data are cosine modes
      ``sum_k a_k cos(k pi (x - x0) / L)`` (``k = 0`` allowed: a constant).
    * ``bc="periodic"``: ``u(x0) = u(x1)`` with all derivatives (built into the network);
      the data are ``sum_k a_k sin(2 k pi (x - x0) / L)``.

    Each mode decays by ``exp(-alpha kappa_k^2 (t - t0))`` with its wavenumber ``kappa_k``
    (``k pi / L``, or ``2 k pi / L`` when periodic): the exact solution.

    Args:
        alpha: diffusivity, > 0.
        modes: the modes ``k`` (positive integers; ``0`` too with Neumann boundaries).
        amplitudes: ``a_k``, one per mode.
        x: spatial interval.
        t: time interval.
        bc: ``"dirichlet"``, ``"neumann"`` or ``"periodic"``.
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
        bc: str = "dirichlet",
    ):
        if bc not in BOUNDARY_CONDITIONS:
            raise ValueError(f"unknown boundary condition {bc!r}; choose one of: {', '.join(BOUNDARY_CONDITIONS)} "
                             f"(e.g. pde.bc=neumann)")
        self.bc = bc
        self.alpha = positive("alpha", alpha)
        self.modes, self.amplitudes = check_modes(modes, amplitudes, lowest=0 if bc == "neumann" else 1)
        self.domain = Domain({"x": x}, t)
        self.periodic = ("x",) if bc == "periodic" else ()
        self.hard_terms = ("initial", "boundary") if bc == "dirichlet" else ("initial",)

    def _wavenumber(self, k: int) -> float:
        return wavenumber(self.domain, 2 * k if self.bc == "periodic" else k)

    def _shape(self, xp, k: int, x):
        x0 = self.domain.lower[0].item()
        return (xp.cos if self.bc == "neumann" else xp.sin)(self._wavenumber(k) * (x - x0))

    def _initial(self, x):
        xp = _xp(x)
        return sum(a * self._shape(xp, k, x) for k, a in zip(self.modes, self.amplitudes))

    def constrain(self, u, coords):
        """``u0(x) + tau D(x) u`` with ``D = 4 s (1 - s)`` for Dirichlet boundaries (``s`` is ``x``
        scaled to ``[0, 1]``), else ``D = 1``: the initial (and Dirichlet) conditions hold exactly."""
        x, tau = coords["x"], time_factor(self.domain, coords["t"])
        wall = box_factor(self.domain, coords, ("x",)) if self.bc == "dirichlet" else 1.0
        return self._initial(x) + tau * wall * u

    def residual(self, fields, coords):
        return fields["u_t"] - self.alpha * fields["u_xx"]

    def conditions(self) -> tuple[Term, ...]:
        initial = Term("initial", "initial", ("u",), lambda f, c: f["u"] - self._initial(c["x"]))
        if self.bc == "periodic":
            return (initial,)  # the network is periodic in x
        boundary = (Term("boundary", "boundary", ("u",), lambda f, c: f["u"]) if self.bc == "dirichlet"
                    else Term("boundary", "boundary", ("u_x",), lambda f, c: f["u_x"]))
        return (initial, boundary)

    def solution(self, coords: Mapping[str, Any]):
        x, t = coords["x"], coords["t"]
        xp, t0 = _xp(x), self.domain.lower[1].item()
        return sum(
            a * self._shape(xp, k, x) * xp.exp(-self.alpha * self._wavenumber(k) ** 2 * (t - t0))
            for k, a in zip(self.modes, self.amplitudes)
        )
