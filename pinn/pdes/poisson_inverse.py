"""PINNacle's PInv, made consistent: a coefficient field learned beside the solution of a steady
diffusion problem,

    div(a grad u) + f = 0        on [0, 1]^2,

with u and a(x, y) both unknown (two fields; the network's second output is a).  The data are
observations of u alone on PINNacle's 50 x 50 grid (``data.at=pinv_points.dat``, noise of
std 0.1); a is known on the boundary (the term ``boundary_a``).  The exact pair is

    u = sin(pi x) sin(pi y),      a = 1 / (1 + x^2 + y^2 + (x - 1)^2 + (y - 1)^2).

**The consistent problem.**  PINNacle's code (``src/pde/inverse.py``, ``PoissonInv.f_src``) writes
the source with ``(2x + 1)`` and ``(2y + 1)`` where this pair needs ``(2x - 1)`` and ``(2y - 1)``:
its (u, a) does not solve its PDE.  Here ``f = -div(a grad u)`` of the pair itself,

    f = 2 pi^2 a s + 2 pi a^2 ((2x - 1) cos(pi x) sin(pi y) + (2y - 1) sin(pi x) cos(pi y)),

``s = sin(pi x) sin(pi y)``, so the reference is exact.  Nothing pins u on the boundary: only the
data do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from pinn.pdes.base import PDE
from pinn.physics.constraints import box_factor
from pinn.physics.domains import Domain
from pinn.physics.terms import Term

__all__ = ["PoissonInverse"]


def _a(x, y):
    return 1 / (1 + x**2 + y**2 + (x - 1) ** 2 + (y - 1) ** 2)


class PoissonInverse(PDE):
    """PInv: u and the coefficient field a from noisy observations of u (two fields, one equation)."""

    name = "poisson_inverse"
    fields = ("u", "a")
    residual_fields = ("u_x", "u_y", "u_xx", "u_yy", "a", "a_x", "a_y")
    hard_terms = ("boundary_a",)

    def __init__(self):
        self.domain = Domain({"x": (0.0, 1.0), "y": (0.0, 1.0)})

    def residual(self, f, c):
        return f["a"] * (f["u_xx"] + f["u_yy"]) + f["a_x"] * f["u_x"] + f["a_y"] * f["u_y"] + self.forcing(c)

    @staticmethod
    def forcing(c):
        """``f = -div(a grad u)`` of the exact pair (torch tensors or numpy arrays)."""
        x, y = c["x"], c["y"]
        xp = torch if isinstance(x, torch.Tensor) else np
        pi = math.pi
        a = _a(x, y)
        return (2 * pi**2 * a * xp.sin(pi * x) * xp.sin(pi * y)
                + 2 * pi * a**2 * ((2 * x - 1) * xp.cos(pi * x) * xp.sin(pi * y)
                                   + (2 * y - 1) * xp.sin(pi * x) * xp.cos(pi * y)))

    def conditions(self) -> tuple[Term, ...]:
        return (Term("boundary_a", "boundary", ("a",), lambda f, c: f["a"] - _a(c["x"], c["y"])),)

    def constrain(self, raw, coords):
        """``hard_constraints=true``: a = its exact value on the boundary, ``a = a_ref + B(x, y) N_a``
        with ``B`` the box factor; u is left to the data."""
        x, y = coords["x"], coords["y"]
        return {"u": raw["u"], "a": _a(x, y) + box_factor(self.domain, coords, ("x", "y")) * raw["a"]}

    def solution(self, coords: Mapping[str, Any]) -> dict:
        x, y = coords["x"], coords["y"]
        xp = torch if isinstance(x, torch.Tensor) else np
        return {"u": xp.sin(math.pi * x) * xp.sin(math.pi * y), "a": _a(x, y)}
