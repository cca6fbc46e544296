"""Hard constraints: an output transform that satisfies a PDE's conditions exactly.

A PDE opts in with two members (see :class:`~pinn.pdes.PDE`):

* ``hard_terms``: the names of the condition terms the transform makes exact;
* ``constrain(u, coords)``: the transform of the raw network output ``u``.

The usual form is ``u0(x) + phi(t) D(x) u``: the initial data ``u0``, a time factor
``phi`` that vanishes at ``t0`` (``tau`` or ``tau^2`` for a zero initial velocity), and
a factor ``D`` that vanishes on Dirichlet boundaries (Lagaris et al. 1998; Lu et al.
2021).  The helpers below build those factors, scaled so that they reach 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from pinn.physics.domains import Domain

if TYPE_CHECKING:  # the PDE modules import the factors below
    from pinn.pdes.base import PDE

__all__ = ["HardConstraint", "time_factor", "box_factor"]


def time_factor(domain: Domain, t, *, power: int = 1):
    """``((t - t0) / (t1 - t0)) ** power``: zero at the initial time, one at the end."""
    t0, t1 = domain.lower[-1].item(), domain.upper[-1].item()
    return ((t - t0) / (t1 - t0)) ** power


def box_factor(domain: Domain, coords, names):
    """``prod_i 4 s_i (1 - s_i)`` over the coordinates ``names``, ``s_i`` the coordinate scaled to
    ``[0, 1]``: zero on those faces of the box, one at its centre."""
    factor = 1.0
    for name in names:
        i = domain.coordinates.index(name)
        lo, hi = domain.lower[i].item(), domain.upper[i].item()
        s = (coords[name] - lo) / (hi - lo)
        factor = factor * 4 * s * (1 - s)
    return factor


class HardConstraint(nn.Module):
    """``pde.constrain(net(p), coords(p))``: a network whose output meets ``pde.hard_terms`` exactly.

    With several fields, ``constrain(u, coords)`` takes and returns ``{field: tensor}``, so
    each field gets its own transform (a velocity held on the walls, a pressure left free).

    Args:
        net: the network, ``(N, d) -> (N, F)``, one output per field.
        pde: a PDE that defines ``hard_terms`` and ``constrain``.

    Raises:
        ValueError: when ``pde`` defines no hard constraint.
    """

    def __init__(self, net: nn.Module, pde: PDE):
        super().__init__()
        if not pde.hard_terms or not callable(getattr(pde, "constrain", None)):
            raise ValueError(f"{pde.name} defines no hard constraint (its class needs hard_terms and constrain(u, "
                             f"coords)); set hard_constraints=false")
        self.net = net
        self.coordinates = tuple(pde.domain.coordinates)
        self.fields = tuple(pde.fields)
        self.hard_terms = tuple(pde.hard_terms)
        self._constrain = getattr(pde, "constrain")  # noqa: B009 - an opt-in member (see the module docs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, d) -> (N, F)`` (a single point ``(d,)`` under ``vmap`` too)."""
        return self.transform(self.net(x), x)

    def transform(self, raw: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The transform alone: the constrained output for the network output ``raw``, ``(N, F)``, at
        the points ``x``, ``(N, d)`` (a single point under ``vmap`` too).  The jet engines push the
        network's derivatives through it (:func:`pinn.diff.jets.through`)."""
        coords = dict(zip(self.coordinates, x.unbind(-1)))
        if len(self.fields) == 1:
            return self._constrain(raw.squeeze(-1), coords).unsqueeze(-1)
        out = self._constrain(dict(zip(self.fields, raw.unbind(-1))), coords)
        return torch.stack([out[f] for f in self.fields], dim=-1)
