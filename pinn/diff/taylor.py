"""Taylor-mode engine: input derivatives pushed *forward* through an :class:`~pinn.nets.mlp.MLP`.

Each hidden state carries its value and its first and second partial derivatives
along the coordinates the terms need.  A linear layer maps all of them with one
matrix product (they are stacked along the batch; only the value gets the bias), and
an activation combines them with its closed-form ``f, f', f''``:

    a_i  = f'(z) z_i
    a_ij = f''(z) z_i z_j + f'(z) z_ij

Parameter gradients then need one ordinary reverse pass over this forward
computation, instead of the reverse-over-reverse passes of
:class:`~pinn.diff.autograd.AutogradEngine`.  Derivatives up to second order only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

from pinn.diff import jets, network_jets
from pinn.physics.fields import parse
from pinn.nets.mlp import MLP, jet_parts, jet_support, plain_jets
from pinn.physics.terms import DerivativeEngine, Term

__all__ = ["TaylorEngine", "taylor_fields", "taylor_fields_of_sets"]


def taylor_fields(model: MLP, points: torch.Tensor, indices: Iterable[tuple[int, ...]]) -> dict:
    """Values of the derivatives ``indices`` (sorted multi-indices of order <= 2) of ``model``.

    Returns:
        ``{index: (N,) tensor}`` for a one-output network, ``{index: (N, F) tensor}`` for F outputs.
    """
    return taylor_fields_of_sets(model, [(points, indices)])[0]


def _check(model) -> None:
    why = jet_support(model)
    if why is not None:
        raise ValueError(f"the taylor engine differentiates {why}; use derivatives=autograd or derivatives=func")


def taylor_fields_of_sets(model: MLP, requests: Sequence[tuple[torch.Tensor, Iterable[tuple[int, ...]]]]) -> list:
    """:func:`taylor_fields` of several point sets in one pass: one matrix product per layer for
    all of them.  Every row carries the network's value; only the rows of sets that ask for
    derivatives carry the derivative streams (the union of what those sets ask for); see
    :mod:`pinn.diff.jets`.

    Args:
        requests: ``(points, indices)`` per set.

    Returns:
        one ``{index: values}`` dict per set, in order, with the indices it asked for and ``()``.
    """
    if isinstance(model, jets.JetValues):  # the fused engine computed them already
        return model.fields(requests)
    plan = jets.make_plan([(p.shape[0], i) for p, i in requests])
    _check(model)
    net, transform = jet_parts(model)
    points = jets.stack(requests, plan)
    if plain_jets(net):
        layers = net.trunk.layers
        out = jets.forward([la.weight for la in layers], [la.bias for la in layers], net.trunk.activations,
                           net.scaling.center, net.scaling.half_width, plan, points)
        outputs = layers[-1].out_features
    else:  # embeddings, the modified trunk, one network per field
        out = network_jets.jets_of(net, plan, network_jets.inputs_of(net, points, plan))
        outputs = network_jets.outputs_of(net)
    return jets.transformed(jets.split(out, plan, outputs), requests, outputs, transform)


class TaylorEngine(DerivativeEngine):
    """Residuals from forward-propagated (Taylor-mode) input derivatives of an MLP."""

    name = "taylor"

    def check(self, model) -> None:
        """An :class:`MLP` or one per field (:func:`~pinn.nets.mlp.jet_support`), bare or inside a hard
        constraint, with or without learned coefficients."""
        _check(model)

    def residuals(  # type: ignore[override]  # this engine differentiates an MLP only (check() says so)
        self,
        model: MLP,
        points: torch.Tensor,
        coordinates: Sequence[str],
        terms: Iterable[Term],
        *,
        fields: Sequence[str] = ("u",),
    ) -> dict[str, torch.Tensor]:
        return self.residuals_of_sets(model, [(points, list(terms))], coordinates, fields=fields)

    def residuals_of_sets(  # type: ignore[override]  # an MLP only, as residuals()
        self,
        model: MLP,
        sets: Sequence[tuple[torch.Tensor, Sequence[Term]]],
        coordinates: Sequence[str],
        *,
        fields: Sequence[str] = ("u",),
    ) -> dict[str, torch.Tensor]:
        """All point sets in one Taylor pass (:func:`taylor_fields_of_sets`)."""
        keyed = self._keyed(sets, coordinates, fields)
        fields_of = taylor_fields_of_sets(model, self._requests(sets, keyed))
        out: dict[str, torch.Tensor] = {}
        for (points, terms), keys, values in zip(sets, keyed, fields_of):
            def value(name, keys=keys, values=values):
                field, index = keys[name]
                v = values[index]
                return v if v.ndim == 1 else v[:, field]

            coords = {c: points[:, i] for i, c in enumerate(coordinates)}
            out.update({t.name: t.fn({f: value(f) for f in t.fields}, coords).reshape(-1) for t in terms})
        return out

    @staticmethod
    def _keyed(sets, coordinates, fields) -> list[dict]:
        """Per set, ``{field name: (output column, derivative multi-index)}`` of what its terms read."""
        return [{name: parse(name, coordinates, fields) for t in terms for name in t.fields} for _, terms in sets]

    @staticmethod
    def _requests(sets, keyed) -> list:
        return [(points, {i for _, i in keys.values()}) for (points, _), keys in zip(sets, keyed)]

    def requests(self, sets: Sequence[tuple[torch.Tensor, Sequence[Term]]], coordinates: Sequence[str], *,
                 fields: Sequence[str] = ("u",)) -> list:
        """``(points, derivative multi-indices)`` per set: what :meth:`residuals_of_sets` asks the network for."""
        return self._requests(sets, self._keyed(sets, coordinates, fields))
