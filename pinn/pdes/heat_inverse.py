"""PINNacle's HInv: an inverse heat problem that learns a coefficient field beside the solution.

    u_t = div(a grad u) + f        on [-1, 1]^2 x [0, 1],

with both u and the conductivity a(x, y) unknown: two fields (the network's second output is
a).  The data are observations of u alone (``data.field=u``, PINNacle: 2,500 points with
Gaussian noise of std 0.1), a is known on the boundary (the term ``boundary_a``), and a does
not change in time (the term ``steady_a``, ``a_t = 0``: the network sees t, a must not use it).  The
exact pair, from which f follows,

    u = exp(-t) sin(pi x) sin(pi y),      a = 2 + sin(pi x) sin(pi y),

is the reference for both.  Nothing pins u on the boundary or at t = 0: only the data do.
"""

from __future__ import annotations

from typing import Any

import math
from collections.abc import Mapping

import numpy as np
import torch

from pinn.pdes.base import PDE
from pinn.physics.constraints import box_factor
from pinn.physics.domains import Domain
from pinn.physics.terms import Term

__all__ = ["HeatInverse"]


class HeatInverse(PDE):
    """HInv: u and the coefficient field a from observations of u (two fields, one equation)."""

    name = "heat_inverse"
    fields = ("u", "a")
    residual_fields = ("u_t", "u_x", "u_y", "u_xx", "u_yy", "a", "a_x", "a_y")
    hard_terms = ("boundary_a",)

    def __init__(self):
        self.domain = Domain({"x": (-1.0, 1.0), "y": (-1.0, 1.0)}, (0.0, 1.0))

    def residual(self, f, c):
        flux = f["a_x"] * f["u_x"] + f["a_y"] * f["u_y"] + f["a"] * (f["u_xx"] + f["u_yy"])
        return f["u_t"] - flux - self._forcing(c)

    @staticmethod
    def _forcing(c):
        """f = u_t - div(a grad u) for the exact pair."""
        pi = math.pi
        sx, sy, cx, cy = (torch.sin(pi * c["x"]), torch.sin(pi * c["y"]), torch.cos(pi * c["x"]),
                          torch.cos(pi * c["y"]))
        s, decay = sx * sy, torch.exp(-c["t"])
        grad_s2 = pi**2 * (cx**2 * sy**2 + sx**2 * cy**2)
        return -decay * s - decay * (grad_s2 - 2 * pi**2 * s * (2 + s))

    def conditions(self) -> tuple[Term, ...]:
        return (Term("boundary_a", "boundary", ("a",), lambda f, c: f["a"] - 2.0),
                Term("steady_a", "interior", ("a_t",), lambda f, c: f["a_t"]))

    def constrain(self, raw, coords):
        """``hard_constraints=true``: a = 2 on the boundary exactly, ``a = 2 + B(x, y) N_a`` with
        ``B`` the box factor of x and y; u is left to the data."""
        return {"u": raw["u"], "a": 2.0 + box_factor(self.domain, coords, ("x", "y")) * raw["a"]}

    def solution(self, coords: Mapping[str, Any]) -> dict:
        x, y, t = coords["x"], coords["y"], coords["t"]
        xp = torch if isinstance(x, torch.Tensor) else np
        s = xp.sin(math.pi * x) * xp.sin(math.pi * y)
        return {"u": xp.exp(-t) * s, "a": 2 + s + 0 * t}
