"""The Taylor-Green vortex: an exact solution of the unsteady incompressible Navier-Stokes equations.

    u_t + u u_x + v u_y + p_x - nu (u_xx + u_yy) = 0     (momentum_x)
    v_t + u v_x + v v_y + p_y - nu (v_xx + v_yy) = 0     (momentum_y)
    u_x + v_y = 0                                         (continuity)

on [0, 2 pi]^2 x [0, t1], with

    u = -cos x sin y F(t),   v = sin x cos y F(t),   p = -(cos 2x + cos 2y) F(t)^2 / 4,   F = exp(-2 nu t),

its initial values and its values on the boundary given (terms initial_u, initial_v,
boundary_u, boundary_v).  The pressure is fixed only up to a constant (``gauge``).
"""

from __future__ import annotations

from typing import Any

import math
from collections.abc import Mapping

import numpy as np
import torch

from pinn.pdes._navier_stokes import STEADY_FIELDS, navier_stokes
from pinn.pdes.base import PDE, positive
from pinn.physics.domains import Domain
from pinn.physics.terms import Term

__all__ = ["TaylorGreen"]


class TaylorGreen(PDE):
    """The decaying Taylor-Green vortex (three fields u, v, p; three equations).

    Args:
        nu: the kinematic viscosity, > 0 (the Reynolds number is 1 / nu for this unit flow).
        t1: the final time, > 0.
    """

    name = "taylor_green"
    fields = ("u", "v", "p")
    equations = ("momentum_x", "momentum_y", "continuity")
    gauge = ("p",)
    residual_fields = ("u_t", "v_t", *STEADY_FIELDS)

    def __init__(self, *, nu: float = 0.1, t1: float = 1.0):
        self.nu = positive("nu", nu)
        self.t1 = positive("t1", t1)
        self.domain = Domain({"x": (0.0, 2 * math.pi), "y": (0.0, 2 * math.pi)}, (0.0, self.t1))

    def residual(self, f, c):
        return navier_stokes(f, self.nu, unsteady=True)

    def conditions(self) -> tuple[Term, ...]:
        exact = self.solution
        return tuple(Term(f"{where}_{field}", where, (field,), lambda f, c, k=field: f[k] - exact(c)[k])  # type: ignore[misc]
                     for where in ("initial", "boundary") for field in ("u", "v"))

    def solution(self, coords: Mapping[str, Any]) -> dict:
        x, y, t = coords["x"], coords["y"], coords["t"]
        xp = torch if isinstance(x, torch.Tensor) else np
        decay = xp.exp(-2 * self.nu * t)
        return {"u": -xp.cos(x) * xp.sin(y) * decay, "v": xp.sin(x) * xp.cos(y) * decay,
                "p": -(xp.cos(2 * x) + xp.cos(2 * y)) * decay**2 / 4}
