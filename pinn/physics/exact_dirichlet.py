"""Exact Dirichlet conditions on any geometry, through approximate distance functions.

For Dirichlet data ``g_i`` on boundary parts ``i`` of a :class:`~pinn.physics.shape_domain.ShapeDomain`,

    u = g + phi * N,   phi = R-equivalence of the parts' ADFs phi_i,
                       g   = sum_i w_i g_i,  w_i = (1/phi_i) / sum_j (1/phi_j)

meets every ``u = g_i`` exactly for any network output ``N``: ``phi`` vanishes on each part and
the transfinite interpolation ``g`` equals ``g_i`` on part ``i`` (Sukumar and Srivastava 2022,
"Exact imposition of boundary conditions with distance functions in physics-informed deep
neural networks", CMAME 389).  The ADFs come from the geometry
(:meth:`pinn.geometry.Geometry.distance`): smooth, so residuals may differentiate ``u`` twice.

A PDE uses it as its hard constraint::

    self.exact = ExactDirichlet(self.domain, {"outer": 1.0, "holes": 0.0})
    hard_terms = ("outer", "holes")
    def constrain(self, u, coords):
        return self.exact(u, coords)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

from pinn.geometry.base import distance_weights, join_distances
from pinn.physics.domain_base import SpaceTimeDomain

__all__ = ["ExactDirichlet"]

Data = Callable[[Mapping[str, torch.Tensor]], torch.Tensor] | float


class ExactDirichlet:
    """``u = g + phi N`` for Dirichlet data on named boundary parts (see the module docs).

    Args:
        domain: a domain (:class:`~pinn.physics.domain_base.SpaceTimeDomain`: a box or a shape;
            steady or with time: the distance is in space only).
        values: ``{part: g}``, ``g`` a number or ``g(coords) -> tensor`` (pointwise torch ops).
    """

    def __init__(self, domain, values: Mapping[str, Data]):
        if not isinstance(domain, SpaceTimeDomain):
            raise TypeError(f"ExactDirichlet needs a domain (pinn.physics.domains.Domain or ShapeDomain), got "
                            f"{type(domain).__name__}")
        geometry = domain.geometry
        if not values:
            raise ValueError("give the Dirichlet data of at least one boundary part, e.g. {'outer': 1.0}")
        unknown = sorted(set(values) - set(geometry.parts))
        if unknown:
            raise ValueError(f"no boundary parts {unknown}; the parts are {list(geometry.parts)}")
        for part in values:
            geometry._facets_of([part])  # every part needs distance functions: fail now, not at the first step
        self.geometry, self.names = geometry, tuple(domain.space_names)
        self.values = dict(values)

    def distances(self, coords: Mapping[str, torch.Tensor]) -> list[torch.Tensor]:
        """Each part's ADF at ``coords``, flattened to ``(n,)``."""
        first = coords[self.names[0]]
        x = torch.stack([coords[n] for n in self.names], dim=-1).reshape(-1, len(self.names)).to(torch.float64)
        return [self.geometry.distance(x, [part]).to(first.dtype) for part in self.values]

    def __call__(self, u: torch.Tensor, coords: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The constrained output at ``coords`` (tensors of ``u``'s shape)."""
        phis = self.distances(coords)
        shape = coords[self.names[0]].shape
        g = 0.0
        if len(phis) > 1:
            weights = distance_weights(phis)
            for w, value in zip(weights, self.values.values()):
                g = g + w.reshape(shape) * self._value(value, coords)
        else:
            g = self._value(next(iter(self.values.values())), coords)
        return g + join_distances(phis).reshape(shape) * u

    @staticmethod
    def _value(value: Data, coords):
        return value(coords) if callable(value) else float(value)
