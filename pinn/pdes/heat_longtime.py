"""Heat2d-LT (PINNacle): nonlinear heat over a long time, ``t`` in ``[0, 100]``.

    u_t = k (u_xx + u_yy) + 5 sin(u^2) (1 + 2 sin(pi t / 4)) sin(4 pi x) sin(2 pi y)

on ``[0, 1]^2``, ``u(x, y, 0) = sin(4 pi x) sin(3 pi y)``, ``u = 0`` on the walls, ``k = 0.001``.
With so little diffusion each point nearly follows its own ODE, driven between the roots of
``sin(u^2)`` by a source that changes sign every few time units: 25 forcing periods, sharp
switches in time.  No published PINN method gets below 0.99 rel. L2 on it.

The reference is PINNacle's COMSOL table (``heat_longtime.dat``, 192 nodes x 501 snapshots,
shipped in ``pinn/pdes/data``).  ``scripts/heat_longtime_reference.py`` checks it against our
own finite-difference solve (docs/accuracy.md, PINNacle section, for what it finds).
"""

from __future__ import annotations

import math

import numpy as np

from pinn.pdes._reference import packaged_nodes, reference_path
from pinn.pdes.base import PDE, _xp, positive
from pinn.physics.constraints import box_factor, time_factor
from pinn.physics.domains import Domain
from pinn.physics.terms import Term

__all__ = ["HeatLongTime", "finite_differences"]


class HeatLongTime(PDE):
    """Heat2d-LT.

    Args:
        k: the diffusivity (the shipped reference is for 0.001).
        t: the time interval (the reference covers ``[0, 100]``; a shorter one is scored on the
            snapshots inside it).
        reference: a path to a reference table, or ``None`` for the shipped one.
    """

    name = "heat2d_lt"
    residual_fields = ("u", "u_t", "u_xx", "u_yy")
    hard_terms = ("initial", "boundary")

    def __init__(self, *, k: float = 0.001, t=(0.0, 100.0), reference: str | None = None):
        self.k = positive("k", k)
        t0, t1 = (float(v) for v in t)
        if reference is None and (not math.isclose(self.k, 0.001) or t0 != 0.0 or not 0.0 < t1 <= 100.0):
            raise ValueError(f"the shipped reference is for k = 0.001 and t in [0, T], T <= 100; got k = {self.k}, "
                             f"t = [{t0}, {t1}]: give pde.reference=PATH to a table for these")
        self.domain = Domain({"x": (0.0, 1.0), "y": (0.0, 1.0)}, (t0, t1))
        self.reference = reference_path(reference)
        self._nodes = None

    @staticmethod
    def initial_values(x, y):
        xp = _xp(x)
        return xp.sin(4 * math.pi * x) * xp.sin(3 * math.pi * y)

    def source(self, u, coords):
        """``5 sin(u^2) (1 + 2 sin(pi t / 4)) sin(4 pi x) sin(2 pi y)``."""
        xp = _xp(u)
        x, y, t = coords["x"], coords["y"], coords["t"]
        return 5 * xp.sin(u * u) * (1 + 2 * xp.sin(math.pi * t / 4)) * xp.sin(4 * math.pi * x) * xp.sin(2 * math.pi * y)

    def residual(self, f, c):
        return f["u_t"] - self.k * (f["u_xx"] + f["u_yy"]) - self.source(f["u"], c)

    def conditions(self) -> tuple[Term, ...]:
        return (
            Term("initial", "initial", ("u",), lambda f, c: f["u"] - self.initial_values(c["x"], c["y"])),
            Term("boundary", "boundary", ("u",), lambda f, c: f["u"]),
        )

    def constrain(self, u, coords):
        """``u0(x, y) + tau B u`` (``tau`` the time scaled to ``[0, 1]``, ``B = 16 x (1 - x) y (1 - y)``):
        the initial and wall values hold exactly."""
        tau = time_factor(self.domain, coords["t"])
        return self.initial_values(coords["x"], coords["y"]) + tau * box_factor(self.domain, coords, ("x", "y")) * u

    def nodes(self):
        if self._nodes is None:
            cols, values = packaged_nodes("heat_longtime.dat", self.domain.coordinates, self.fields,
                                          path=self.reference, time_name="t")
            t1 = self.domain.upper[-1].item()
            keep = cols["t"] <= t1 + 1e-9
            self._nodes = ({c: v[keep] for c, v in cols.items()}, values[keep])
        return self._nodes


def finite_differences(*, k: float = 0.001, cells: int = 96, dt: float = 0.01, t_end: float = 100.0,
                       every: float = 0.2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An independent reference for :class:`HeatLongTime`: second-order central differences on a
    uniform grid of ``cells`` x ``cells`` cells and classical Runge-Kutta 4 in time.

    Args:
        k: the diffusivity.
        cells: cells per side (the table's nodes x = i/32, y = j/24 are grid points when
            ``cells`` is a multiple of 96).
        dt: the time step (``every`` must be a multiple of it).
        t_end: the final time.
        every: the spacing of the snapshots returned.

    Returns:
        ``(grid, times, u)``: the grid's coordinates ``(cells + 1,)``, the snapshot times ``(T,)``
        and ``u`` of shape ``(T, cells + 1, cells + 1)``, indexed ``[t, x, y]``.
    """
    per = round(every / dt)
    if per < 1 or not math.isclose(per * dt, every):
        raise ValueError(f"every = {every} must be a whole multiple of dt = {dt}")
    grid = np.linspace(0.0, 1.0, cells + 1)
    x, y = np.meshgrid(grid, grid, indexing="ij")
    h = 1.0 / cells
    shape = np.sin(4 * math.pi * x) * np.sin(2 * math.pi * y)

    def rate(u, t):
        out = np.zeros_like(u)
        inner = u[1:-1, 1:-1]
        lap = (u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4 * inner) / h**2
        out[1:-1, 1:-1] = k * lap + 5 * np.sin(inner * inner) * (1 + 2 * math.sin(math.pi * t / 4)) * shape[1:-1, 1:-1]
        return out  # zero on the walls: u stays 0 there

    u = HeatLongTime.initial_values(x, y)
    u[[0, -1], :] = 0.0
    u[:, [0, -1]] = 0.0
    snapshots, t = [u.copy()], 0.0
    for _ in range(round(t_end / every)):
        for _ in range(per):
            k1 = rate(u, t)
            k2 = rate(u + dt / 2 * k1, t + dt / 2)
            k3 = rate(u + dt / 2 * k2, t + dt / 2)
            k4 = rate(u + dt * k3, t + dt)
            u = u + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            t += dt
        snapshots.append(u.copy())
    return grid, np.linspace(0.0, round(t_end / every) * every, len(snapshots)), np.stack(snapshots)
