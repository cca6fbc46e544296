"""Laplace's equation on a square plate with four holes: PINNacle's Poisson2d-C.

    u_xx + u_yy = 0      on [-0.5, 0.5]^2 minus the disks of radius 0.1 about (+-0.3, +-0.3),
    u = 1                on the outer edge (boundary part ``outer``),
    u = 0                on the four circles (boundary part ``holes``).

There is no closed form: the reference is PINNacle's finite-element solution at 1,246 nodes
(``poisson1_cg_data.dat``, shipped in ``pinn/pdes/data``), and the run is scored there.
"""

from __future__ import annotations

from pinn.geometry.primitives import Disk, Rectangle
from pinn.pdes._reference import packaged_nodes, reference_path
from pinn.pdes.base import PDE
from pinn.physics.exact_dirichlet import ExactDirichlet
from pinn.physics.shape_domain import ShapeDomain
from pinn.physics.terms import Term

__all__ = ["PoissonHoles"]


class PoissonHoles(PDE):
    """Poisson2d-C: ``u = 1`` outside, ``u = 0`` on the holes, harmonic in between.

    Args:
        reference: a path to the reference table, or ``None`` for the shipped one.
    """

    name = "poisson2d_c"
    residual_fields = ("u_xx", "u_yy")
    hard_terms = ("outer", "holes")

    def __init__(self, *, reference: str | None = None):
        plate = Rectangle([-0.5, -0.5], [0.5, 0.5]).rename(
            {"x_min": "outer", "x_max": "outer", "y_min": "outer", "y_max": "outer"})
        for cx in (-0.3, 0.3):
            for cy in (-0.3, 0.3):
                plate = plate - Disk([cx, cy], 0.1, part="holes")
        self.domain = ShapeDomain(plate, names=("x", "y"))
        self.exact = ExactDirichlet(self.domain, {"outer": 1.0, "holes": 0.0})
        self.reference = reference_path(reference)
        self._nodes = None

    def residual(self, fields, coords):
        return fields["u_xx"] + fields["u_yy"]

    def conditions(self) -> tuple[Term, ...]:
        return (
            Term("outer", "boundary:outer", ("u",), lambda f, c: f["u"] - 1.0),
            Term("holes", "boundary:holes", ("u",), lambda f, c: f["u"]),
        )

    def constrain(self, u, coords):
        """``hard_constraints=true``: both conditions exact through distance functions."""
        return self.exact(u, coords)

    def nodes(self):
        if self._nodes is None:
            self._nodes = packaged_nodes("poisson1_cg_data.dat", self.domain.coordinates, self.fields,
                                         path=self.reference)
        return self._nodes
