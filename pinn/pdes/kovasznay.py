"""Kovasznay flow: an exact solution of the steady incompressible Navier-Stokes equations.

    u u_x + v u_y + p_x - nu (u_xx + u_yy) = 0     (momentum_x)
    u v_x + v v_y + p_y - nu (v_xx + v_yy) = 0     (momentum_y)
    u_x + v_y = 0                                   (continuity)

on [-0.5, 1] x [-0.5, 1.5], nu = 1 / Re, with u and v given on the whole boundary
(Kovasznay 1948; the setup of DeepXDE's example).  With lambda = Re/2 - sqrt(Re^2/4 + 4 pi^2):

    u = 1 - exp(lambda x) cos(2 pi y)
    v = lambda / (2 pi) exp(lambda x) sin(2 pi y)
    p = (1 - exp(2 lambda x)) / 2

The pressure is fixed only up to a constant, so it is compared after removing its mean
(``gauge``).
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

__all__ = ["Kovasznay"]


class Kovasznay(PDE):
    """Kovasznay flow at Reynolds number ``re`` (three fields u, v, p; three equations).

    Args:
        re: the Reynolds number, > 0 (20 in the literature).
    """

    name = "kovasznay"
    fields = ("u", "v", "p")
    equations = ("momentum_x", "momentum_y", "continuity")
    gauge = ("p",)
    residual_fields = STEADY_FIELDS

    def __init__(self, *, re: float = 20.0):
        self.re = positive("re", re)
        self.nu = 1.0 / self.re
        self.lam = self.re / 2 - math.sqrt(self.re**2 / 4 + 4 * math.pi**2)
        self.domain = Domain({"x": (-0.5, 1.0), "y": (-0.5, 1.5)})

    def residual(self, f, c):
        return navier_stokes(f, self.nu)

    def conditions(self) -> tuple[Term, ...]:
        return (
            Term("boundary_u", "boundary", ("u",), lambda f, c: f["u"] - self.solution(c)["u"]),
            Term("boundary_v", "boundary", ("v",), lambda f, c: f["v"] - self.solution(c)["v"]),
        )

    def solution(self, coords: Mapping[str, Any]) -> dict:
        x, y = coords["x"], coords["y"]
        xp = torch if isinstance(x, torch.Tensor) else np
        e = xp.exp(self.lam * x)
        return {
            "u": 1 - e * xp.cos(2 * math.pi * y),
            "v": self.lam / (2 * math.pi) * e * xp.sin(2 * math.pi * y),
            "p": (1 - e * e) / 2,
        }
