"""PINNacle's Poisson2d-C: the :class:`~pinn.pdes.poisson.Poisson` operator on a plate with holes.

    u_xx + u_yy = 0      on [-0.5, 0.5]^2 minus the disks of radius 0.1 about (+-0.3, +-0.3),
    u = 1                on the outer edge (boundary part ``outer``),
    u = 0                on the four circles (boundary part ``holes``).

There is no closed form: the reference is PINNacle's finite-element solution at 1,246 nodes
(``poisson1_cg_data.dat``, shipped in ``pinn/pdes/data``), and the run is scored there.  It is
no class of its own: ``pde=poisson2d_c`` is ``pde=poisson`` with this geometry, these values and
that table (``conf/pde/poisson2d_c.yaml``).
"""

from __future__ import annotations

from pinn.geometry.shapes import Perforated
from pinn.pdes.poisson import Poisson

__all__ = ["PoissonHoles", "PINNACLE_PLATE"]

#: The plate of Poisson2d-C (``conf/geometry/pinnacle_plate.yaml``): the square and its holes ``[cx, cy, r]``.
PINNACLE_PLATE = ((-0.5, -0.5), (0.5, 0.5), ((-0.3, -0.3, 0.1), (-0.3, 0.3, 0.1), (0.3, -0.3, 0.1), (0.3, 0.3, 0.1)))


def PoissonHoles(*, reference: str | None = None) -> Poisson:  # noqa: N802 (a class before 0.3; the name stays)
    """Poisson2d-C: ``u = 1`` outside, ``u = 0`` on the holes, harmonic in between.

    Args:
        reference: a path to the reference table, or ``None`` for the shipped one.
    """
    return Poisson(geometry=Perforated(*PINNACLE_PLATE), values={"outer": 1.0, "holes": 0.0},
                   table="poisson1_cg_data.dat", reference=reference)
