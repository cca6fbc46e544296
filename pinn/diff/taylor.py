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

__all__ = ["TaylorEngine", "taylor_fields"]


def taylor_fields(model: MLP, points: torch.Tensor, indices: Iterable[tuple[int, ...]]) -> dict:
    """Values of the derivatives ``indices`` (sorted multi-indices of order <= 2) of ``model``.

    Returns:
        ``{index: (N,) tensor}`` for a one-output network, ``{index: (N, F) tensor}`` for F outputs.
    """
    indices = set(indices)
    if any(len(i) > 2 for i in indices):
        raise ValueError("the taylor engine computes derivatives up to second order; use derivatives=autograd")
    if not isinstance(model, MLP):
        raise ValueError(f"the taylor engine needs a pinn.MLP, got {type(model).__name__}; use derivatives=autograd")
    if model.periodic or model.fourier_b is not None or model.modified:
        raise ValueError("the taylor engine needs a plain MLP with affine inputs; periodic coordinates, Fourier "
                         "features and the modified MLP need derivatives=autograd or derivatives=func")
    seconds = sorted(i for i in indices if len(i) == 2)
    firsts = sorted({(j,) for i in indices if i for j in i})
    outputs = model.layers[-1].out_features
    n = points.shape[0]
    pos = {i: k for k, i in enumerate(firsts)}
    # The first layer, with the input scaling h0 = (x - c) / w folded into it (a small matrix
    # product, not one over the points): z = x W'^T + b' with W' = W / w, b' = b - W' c.  Its input
    # derivatives are constant rows: z_j = W'[:, j], z_ij = 0.
    first, act = model.layers[0], model.activations[0]
    w = first.weight / model.half_width
    z = torch.addmm(first.bias - w @ model.center, points, w.T)
    if not firsts:  # values only (initial and Dirichlet sets): the forward pass of the closed forms
        h = act.tower(z, 0)[0]
        for layer, act in zip(model.layers[1:-1], model.activations[1:]):
            h = act.tower(torch.addmm(layer.bias, h, layer.weight.T), 0)[0]
        u = torch.addmm(model.layers[-1].bias, h, model.layers[-1].weight.T)
        return {(): u.reshape(-1) if outputs == 1 else u}
    z1 = [w[:, j] for (j,) in firsts]
    f0, f1, f2 = act.taylor(z)
    h = f0
    d2 = [f2 * (z1[pos[(i,)]] * z1[pos[(j,)]]) for i, j in seconds]
    d1 = [f1 * zj for zj in z1]
    for layer, act in zip(model.layers[1:-1], model.activations[1:]):
        stacked = torch.cat([h, *d1, *d2], dim=0) @ layer.weight.T
        z = stacked[:n] + layer.bias
        zs = stacked[n:].split(n)
        z1, z2 = zs[: len(firsts)], zs[len(firsts) :]
        f0, f1, f2 = act.taylor(z)
        h = f0
        d2 = [f2 * z1[pos[(i,)]] * z1[pos[(j,)]] + f1 * z2[k] for k, (i, j) in enumerate(seconds)]
        d1 = [f1 * z for z in z1]
    last = model.layers[-1]
    out = torch.cat([h, *d1, *d2], dim=0) @ last.weight.T
    parts = out.reshape(-1, n) if outputs == 1 else out.reshape(-1, n, outputs)
    result = {(): parts[0] + last.bias}
    result.update({i: parts[1 + pos[i]] for i in firsts})
    result.update({i: parts[1 + len(firsts) + k] for k, i in enumerate(seconds)})
    return {i: result[i] for i in indices | {()}}


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
        terms = list(terms)
        keys = {name: parse(name, coordinates, fields) for t in terms for name in t.fields}
        values = taylor_fields(model, points, {i for _, i in keys.values()})

        def value(name):
            field, index = keys[name]
            v = values[index]
            return v if v.ndim == 1 else v[:, field]

        coords = {c: points[:, i] for i, c in enumerate(coordinates)}
        return {t.name: t.fn({f: value(f) for f in t.fields}, coords).reshape(-1) for t in terms}
