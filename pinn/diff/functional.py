"""``torch.func`` engine: derivatives per point, lifted over the batch with ``vmap``.

The model is seen as a scalar function of one point ``p`` of shape ``(d,)``.  The
first derivatives come from ``jacrev``; each further order is the ``jacrev`` of the
one below, and every order is passed up as auxiliary output so the whole tower
``u, Du, D^2u, ...`` costs one nested call.  ``vmap`` then maps it over the points.
Only reverse mode is nested (see :mod:`pinn.nets.activations` for why forward-over-forward
is avoided).  Parameter gradients flow through the transforms by ordinary autograd.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
from torch.func import jacrev, vmap

from pinn.physics.fields import parse
from pinn.physics.terms import DerivativeEngine, Term

__all__ = ["FuncEngine", "derivative_tower"]


def derivative_tower(
    model: Callable[[torch.Tensor], torch.Tensor], order: int, *, outputs: int | None = None
) -> Callable[[torch.Tensor], tuple[torch.Tensor, ...]]:
    """Return ``p -> (u, Du, D^2u, ..., D^order u)`` for one point ``p`` of shape ``(d,)``.

    With ``outputs=None``, ``u`` is a scalar and ``D^k u`` has shape ``(d,) * k``; with
    ``outputs=F``, ``u`` has shape ``(F,)`` and ``D^k u`` shape ``(F,) + (d,) * k``.
    """

    def level0(p: torch.Tensor):
        u = model(p.unsqueeze(0)).reshape(() if outputs is None else (outputs,))
        return u, (u,)

    f = level0
    for _ in range(order):
        f = _lift(f)

    def tower(p: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return f(p)[1]

    return tower


def _lift(f):
    def g(p: torch.Tensor):
        jac, lower = jacrev(f, has_aux=True)(p)
        return jac, lower + (jac,)

    return g


class FuncEngine(DerivativeEngine):
    """Residuals written per point, lifted over the batch with ``vmap``."""

    name = "func"

    def residuals(
        self,
        model: Callable[[torch.Tensor], torch.Tensor],
        points: torch.Tensor,
        coordinates: Sequence[str],
        terms: Iterable[Term],
        *,
        fields: Sequence[str] = ("u",),
    ) -> dict[str, torch.Tensor]:
        terms = list(terms)
        keys = {name: parse(name, coordinates, fields) for t in terms for name in t.fields}
        order = max((len(i) for _, i in keys.values()), default=0)
        tower = derivative_tower(model, order, outputs=len(fields))

        def pointwise(p: torch.Tensor) -> dict[str, torch.Tensor]:
            levels = tower(p)
            coords = {c: p[i] for i, c in enumerate(coordinates)}
            out = {}
            for t in terms:
                values = {name: levels[len(keys[name][1])][(keys[name][0],) + keys[name][1]] for name in t.fields}
                out[t.name] = t.fn(values, coords)
            return out

        return vmap(pointwise)(points)
