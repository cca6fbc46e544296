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

from pinn.diff.fields import parse
from pinn.nets.mlp import MLP
from pinn.physics.terms import DerivativeEngine, Term

__all__ = ["TaylorEngine", "taylor_fields", "taylor_fields_of_sets"]


def taylor_fields(model: MLP, points: torch.Tensor, indices: Iterable[tuple[int, ...]]) -> dict:
    """Values of the derivatives ``indices`` (sorted multi-indices of order <= 2) of ``model``.

    Returns:
        ``{index: (N,) tensor}`` for a one-output network, ``{index: (N, F) tensor}`` for F outputs.
    """
    return taylor_fields_of_sets(model, [(points, indices)])[0]


def _check(model, indices) -> None:
    if any(len(i) > 2 for i in indices):
        raise ValueError("the taylor engine computes derivatives up to second order; use derivatives=autograd")
    if not isinstance(model, MLP):
        raise ValueError(f"the taylor engine needs a pinn.MLP, got {type(model).__name__}; use derivatives=autograd")
    if model.periodic or model.fourier_b is not None or model.modified:
        raise ValueError("the taylor engine needs a plain MLP with affine inputs; periodic coordinates, Fourier "
                         "features and the modified MLP need derivatives=autograd or derivatives=func")


def _activate(act, z: torch.Tensor, m: int):
    """``(f, f', f'')`` on the first ``m`` rows of ``z`` (those that carry derivatives) and ``f``
    alone on the rest; the values of all rows."""
    if m == 0:
        return act.tower(z, 0)[0], None, None
    if m == z.shape[0]:
        f0, f1, f2 = act.tower(z, 2)
        return f0, f1, f2
    f0, f1, f2 = act.tower(z[:m], 2)
    return torch.cat([f0, act.tower(z[m:], 0)[0]]), f1, f2


def taylor_fields_of_sets(model: MLP, requests: Sequence[tuple[torch.Tensor, Iterable[tuple[int, ...]]]]) -> list:
    """:func:`taylor_fields` of several point sets in one pass: one matrix product per layer for
    all of them.  Every row carries the network's value; only the rows of sets that ask for
    derivatives carry the derivative streams (the union of what those sets ask for).

    Args:
        requests: ``(points, indices)`` per set.

    Returns:
        one ``{index: values}`` dict per set, in order, with the indices it asked for and ``()``.
    """
    requests = [(p, set(i)) for p, i in requests]
    _check(model, set().union(*(i for _, i in requests)))
    wanted = set().union(*(i for _, i in requests if any(i)))
    seconds = sorted(i for i in wanted if len(i) == 2)
    firsts = sorted({(j,) for i in wanted if i for j in i})
    order = [k for k, (_, i) in enumerate(requests) if any(i)] + [k for k, (_, i) in enumerate(requests) if not any(i)]
    sizes = [requests[k][0].shape[0] for k in order]
    points = requests[order[0]][0] if len(order) == 1 else torch.cat([requests[k][0] for k in order])
    n = points.shape[0]
    m = sum(size for k, size in zip(order, sizes) if any(requests[k][1]))  # rows with derivative streams
    pos = {i: k for k, i in enumerate(firsts)}
    # The first layer, with the input scaling h0 = (x - c) / w folded into it (a small matrix
    # product, not one over the points): z = x W'^T + b' with W' = W / w, b' = b - W' c.  Its input
    # derivatives are constant rows: z_j = W'[:, j], z_ij = 0.
    first, act = model.layers[0], model.activations[0]
    # W'^T from a matrix product: a realized buffer whose rows z_j are contiguous, so that a
    # compiled kernel broadcasting them vectorizes over the units (a strided column did not).
    columns = torch.mm(torch.diag(1 / model.half_width), first.weight.T)
    z = torch.addmm(first.bias - model.center @ columns, points, columns)
    z1 = [columns[j] for (j,) in firsts]
    h, f1, f2 = _activate(act, z, m if firsts else 0)
    d2 = [f2 * (z1[pos[(i,)]] * z1[pos[(j,)]]) for i, j in seconds]
    d1 = [f1 * zj for zj in z1]
    for layer, act in zip(model.layers[1:-1], model.activations[1:]):
        stacked = torch.cat([h, *d1, *d2], dim=0) @ layer.weight.T if firsts else h @ layer.weight.T
        z = stacked[:n] + layer.bias
        zs = stacked[n:].split(m) if firsts else ()
        z1, z2 = zs[: len(firsts)], zs[len(firsts) :]
        h, f1, f2 = _activate(act, z, m if firsts else 0)
        d2 = [f2 * z1[pos[(i,)]] * z1[pos[(j,)]] + f1 * z2[k] for k, (i, j) in enumerate(seconds)]
        d1 = [f1 * z for z in z1]
    last = model.layers[-1]
    outputs = last.out_features
    out = torch.cat([h, *d1, *d2], dim=0) @ last.weight.T if firsts else h @ last.weight.T
    shape = (-1,) if outputs == 1 else (-1, outputs)
    values = (out[:n] + last.bias).reshape(shape)
    streams = [s.reshape(shape) for s in out[n:].split(m)] if firsts else []
    by_index = dict(zip(firsts + seconds, streams))
    results: list = [None] * len(requests)
    start = 0
    for k, size in zip(order, sizes):
        indices = requests[k][1]
        rows = slice(start, start + size)
        result = {(): values[rows]}
        result.update({i: by_index[i][rows] for i in indices if i})
        results[k] = result
        start += size
    return results


class TaylorEngine(DerivativeEngine):
    """Residuals from forward-propagated (Taylor-mode) input derivatives of an MLP."""

    name = "taylor"

    def check(self, model) -> None:
        """Only a plain :class:`MLP` with affine inputs: no Fourier features, modified layers, periodic
        inputs, hard constraint or learned coefficients."""
        if type(model) is not MLP or model.fourier_b is not None or model.modified or model.periodic:
            raise ValueError("the taylor engine differentiates a plain MLP with affine inputs only (no Fourier "
                             "features, modified layers, periodic inputs, hard constraint or learned coefficients); "
                             "use derivatives=autograd or derivatives=func")

    def residuals(
        self,
        model: MLP,
        points: torch.Tensor,
        coordinates: Sequence[str],
        terms: Iterable[Term],
        *,
        fields: Sequence[str] = ("u",),
    ) -> dict[str, torch.Tensor]:
        return self.residuals_of_sets(model, [(points, list(terms))], coordinates, fields=fields)

    def residuals_of_sets(
        self,
        model: MLP,
        sets: Sequence[tuple[torch.Tensor, Sequence[Term]]],
        coordinates: Sequence[str],
        *,
        fields: Sequence[str] = ("u",),
    ) -> dict[str, torch.Tensor]:
        """All point sets in one Taylor pass (:func:`taylor_fields_of_sets`)."""
        keyed = [{name: parse(name, coordinates, fields) for t in terms for name in t.fields} for _, terms in sets]
        fields_of = taylor_fields_of_sets(model, [(points, {i for _, i in keys.values()})
                                                  for (points, _), keys in zip(sets, keyed)])
        out: dict[str, torch.Tensor] = {}
        for (points, terms), keys, values in zip(sets, keyed, fields_of):
            def value(name, keys=keys, values=values):
                field, index = keys[name]
                v = values[index]
                return v if v.ndim == 1 else v[:, field]

            coords = {c: points[:, i] for i, c in enumerate(coordinates)}
            out.update({t.name: t.fn({f: value(f) for f in t.fields}, coords).reshape(-1) for t in terms})
        return out
