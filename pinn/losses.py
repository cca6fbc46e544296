"""The PINN loss: weighted mean squared residuals of every term."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from .pdes.base import PDE

__all__ = ["PINNLoss"]


class PINNLoss:
    """``sum_term weight[term] * mean(residual_term^2)``.

    Args:
        pde: the PDE whose :meth:`~pinn.pdes.PDE.terms` are evaluated.
        engine: a derivative engine (``AutogradEngine`` or ``FuncEngine``).
        weights: per-term weights by term name; terms not named get 1.
        data: add the data-misfit term ``"data"``, ``mean((u(p) - u_obs)^2)`` over the
            observation points ``points["data"]`` with values ``points["data_values"]``.
    """

    def __init__(self, pde: PDE, engine, *, weights: Mapping[str, float] | None = None, data: bool = False):
        self.pde = pde
        self.engine = engine
        self.terms = pde.terms()
        self.data = data
        names = [t.name for t in self.terms] + (["data"] if data else [])
        weights = dict(weights or {})
        unknown = sorted(set(weights) - set(names))
        if unknown:
            raise ValueError(f"loss weights name unknown terms {unknown}; the terms of {pde.name} are {names}")
        for name, w in weights.items():
            if not isinstance(w, (int, float)) or isinstance(w, bool) or not (w >= 0) or w == float("inf"):
                raise ValueError(f"loss weight of {name!r} must be a finite number >= 0, got {w!r}")
        self.weights = {name: float(weights.get(name, 1.0)) for name in names}

    @property
    def term_names(self) -> tuple[str, ...]:
        return tuple(self.weights)

    def residuals(self, model: nn.Module, points: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``{term name: (N,) residual}`` with each point set's derivatives computed once."""
        sets = []
        for which in dict.fromkeys(t.points for t in self.terms):
            if which not in points:
                raise ValueError(f"no {which!r} points were given; got sets {sorted(points)}")
            sets.append((points[which], [t for t in self.terms if t.points == which]))
        return self.engine.residuals_of_sets(model, sets, self.pde.domain.coordinates)

    def __call__(
        self, model: nn.Module, points: Mapping[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Return the total loss and the unweighted mean squared residual of each term.

        The parts also carry the current value of each learnable coefficient of ``model``
        (see :mod:`pinn.coefficients`), so they reach the history.
        """
        res = self.residuals(model, points)
        if self.data:
            res["data"] = model(points["data"]).reshape(-1) - points["data_values"]
        parts = {name: (r * r).mean() for name, r in res.items()}
        total = sum(self.weights[name] * parts[name] for name in self.term_names)
        for name, p in getattr(model, "coefficients", {}).items():
            parts[name] = p.detach()  # logged beside the loss terms; not part of the loss
        return total, parts
