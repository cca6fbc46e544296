"""The lid-driven cavity: steady incompressible Navier-Stokes, PINNacle's NS2d-C.

    u u_x + v u_y + p_x - nu (u_xx + u_yy) = 0     (momentum_x)
    u v_x + v v_y + p_y - nu (v_xx + v_yy) = 0     (momentum_y)
    u_x + v_y = 0                                   (continuity)

on [0, 1]^2 with nu = 0.01; on the lid y = 1 (part ``lid``) u = 4 x (1 - x), v = 0; on the
other walls (``walls``) u = v = 0; and p(0, 0) = 0 (the named point ``origin``), which fixes the
pressure's constant, so p is scored as it is (no gauge).  The reference is PINNacle's
finite-element solution on a 101 x 101 grid of nodes (``lid_driven_a4.dat``, shipped in
``pinn/pdes/data``), computed for nu = 0.01 only.
"""

from __future__ import annotations

import math

from pinn.geometry.primitives import Rectangle
from pinn.pdes._reference import packaged_nodes, reference_path
from pinn.pdes._navier_stokes import STEADY_FIELDS, navier_stokes
from pinn.pdes.base import PDE, positive
from pinn.physics.shape_domain import ShapeDomain
from pinn.physics.terms import Term

__all__ = ["LidDrivenCavity"]


class LidDrivenCavity(PDE):
    """NS2d-C: three fields u, v, p; three equations; the lid's parabolic velocity.

    Args:
        nu: the kinematic viscosity (the shipped reference is for 0.01).
        reference: a path to the reference table, or ``None`` for the shipped one.
    """

    name = "ns2d_c"
    fields = ("u", "v", "p")
    equations = ("momentum_x", "momentum_y", "continuity")
    residual_fields = STEADY_FIELDS
    hard_terms = ("lid_u", "lid_v", "walls_u", "walls_v")

    def __init__(self, *, nu: float = 0.01, reference: str | None = None):
        self.nu = positive("nu", nu)
        if reference is None and not math.isclose(self.nu, 0.01):
            raise ValueError(f"the shipped reference is for nu = 0.01, got nu = {self.nu}; give pde.reference=PATH "
                             f"to a table for this nu")
        square = Rectangle([0.0, 0.0], [1.0, 1.0]).rename(
            {"x_min": "walls", "x_max": "walls", "y_min": "walls", "y_max": "lid"})
        self.domain = ShapeDomain(square, names=("x", "y"), points={"origin": (0.0, 0.0)})
        self.reference = reference_path(reference)
        self._nodes = None

    def residual(self, f, c):
        return navier_stokes(f, self.nu)

    def conditions(self) -> tuple[Term, ...]:
        return (
            Term("lid_u", "boundary:lid", ("u",), lambda f, c: f["u"] - 4 * c["x"] * (1 - c["x"])),
            Term("lid_v", "boundary:lid", ("v",), lambda f, c: f["v"]),
            Term("walls_u", "boundary:walls", ("u",), lambda f, c: f["u"]),
            Term("walls_v", "boundary:walls", ("v",), lambda f, c: f["v"]),
            Term("pressure", "point:origin", ("p",), lambda f, c: f["p"]),
        )

    def constrain(self, raw, coords):
        """``hard_constraints=true``: the velocity held on every wall, per field, with
        ``B = 16 x (1 - x) y (1 - y)`` (zero on the walls, one at the centre):
        ``u = 4 x (1 - x) y + B N_u``, ``v = B N_v``; the pressure stays free (p(0, 0) = 0 a loss term)."""
        x, y = coords["x"], coords["y"]
        bubble = 16 * x * (1 - x) * y * (1 - y)
        return {"u": 4 * x * (1 - x) * y + bubble * raw["u"], "v": bubble * raw["v"], "p": raw["p"]}

    def nodes(self):
        if self._nodes is None:
            self._nodes = packaged_nodes("lid_driven_a4.dat", self.domain.coordinates, self.fields,
                                         path=self.reference)
        return self._nodes
