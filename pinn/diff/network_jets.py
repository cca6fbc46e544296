"""Jets through every network of :class:`pinn.nets.mlp.MLP`: embeddings, the modified trunk and
adaptive activations, in plain torch ops that autograd (the ``taylor`` engine) and
``torch.func.vjp`` (the fused step's general path) differentiate.

:mod:`pinn.diff.jets` runs a plain trunk on affine inputs, with the input scaling folded into the
first layer and a hand-written adjoint.  Here the inputs are any embedding ``E(x)`` of the scaled
coordinates (periodic, Fourier features): its jets ``E, E_i, E_ij`` depend on the points only, so
:func:`input_jets` computes them once per point set (forward mode, ``torch.func.jvp``), and the
layers carry them in the same row layout (:class:`~pinn.diff.jets.Plan`: the value rows, then
``m`` rows per stream).  Each layer maps the stack with one matrix product, each activation
combines the streams with its closed forms, and the modified trunk's mixing
``H = U + z (V - U)`` takes the product rule

    (a b)_i = a_i b + a b_i,   (a b)_ij = a_ij b + a_i b_j + a_j b_i + a b_ij.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
from torch import nn
from torch.func import jvp

from pinn.diff.jets import Plan
from pinn.nets.mlp import jet_networks
from pinn.nets.parts import ModifiedTrunk, PlainTrunk

__all__ = ["input_jets", "embedder", "forward", "jets_of", "inputs_of", "outputs_of", "NetworkJets"]


def _plain(t: torch.Tensor) -> torch.Tensor:
    return t.clone(memory_format=torch.contiguous_format)


def input_jets(embed, x: torch.Tensor, plan: Plan) -> torch.Tensor:
    """The jets of the network's input features at the plan's rows.

    Args:
        embed: ``(N, d) -> (N, features)``, the points to the trunk's inputs (scaling and embeddings).
        x: the points in the plan's row order, ``(n, d)``.

    Returns:
        ``(n + m * S, features)``: ``E`` on every row, then per stream its derivative on the ``m``
        rows that carry streams.
    """
    values = embed(x)
    m = plan.stream_rows
    if not m:
        return values
    rows = _plain(x[:m])
    eye = torch.eye(x.shape[1], dtype=x.dtype, device=x.device)

    def along(j: int) -> torch.Tensor:
        return _plain(eye[j].expand(m, x.shape[1]))

    firsts = [jvp(embed, (rows,), (along(j),))[1] for j in plan.firsts]
    seconds = []
    for i, j in plan.seconds:
        def slope_j(y, j=j):
            return jvp(embed, (y,), (along(j),))[1]

        seconds.append(jvp(slope_j, (rows,), (along(i),))[1])
    return torch.cat([values, *firsts, *seconds])


def _linear(h: torch.Tensor, layer, n: int) -> torch.Tensor:
    """One matrix product for every row; the bias on the value rows only."""
    out = h @ layer.weight.T
    return out + layer.bias if out.shape[0] == n else torch.cat([out[:n] + layer.bias, out[n:]])


def _parts(h: torch.Tensor, plan: Plan):
    n, m, nf = plan.rows, plan.stream_rows, len(plan.firsts)
    streams = h[n:].split(m)
    return h[:n], streams[:nf], streams[nf:]


def _activate(act, z: torch.Tensor, plan: Plan) -> torch.Tensor:
    """``a = f(z)``, ``a_i = f' z_i``, ``a_ij = f'' z_i z_j + f' z_ij``."""
    m = plan.stream_rows
    if not m:
        return act.tower(z, 0)[0]
    pos = {j: k for k, j in enumerate(plan.firsts)}
    z0, z1, z2 = _parts(z, plan)
    f0, f1, f2 = act.tower(z0, 2)
    f1, f2 = f1[:m], f2[:m]
    d1 = [f1 * a for a in z1]
    d2 = [f2 * z1[pos[i]] * z1[pos[j]] + f1 * z2[q] for q, (i, j) in enumerate(plan.seconds)]
    return torch.cat([f0, *d1, *d2])


def _times(a: torch.Tensor, b: torch.Tensor, plan: Plan) -> torch.Tensor:
    """The jets of the elementwise product ``a b`` (the product rule)."""
    m = plan.stream_rows
    if not m:
        return a * b
    pos = {j: k for k, j in enumerate(plan.firsts)}
    a0, a1, a2 = _parts(a, plan)
    b0, b1, b2 = _parts(b, plan)
    am, bm = a0[:m], b0[:m]
    d1 = [x * bm + am * y for x, y in zip(a1, b1)]
    d2 = [a2[q] * bm + a1[pos[i]] * b1[pos[j]] + a1[pos[j]] * b1[pos[i]] + am * b2[q]
          for q, (i, j) in enumerate(plan.seconds)]
    return torch.cat([a0 * b0, *d1, *d2])


def forward(net, plan: Plan, inputs: torch.Tensor) -> torch.Tensor:
    """The jets of ``net``'s output, ``(n + m * S, outputs)``, from its inputs' (:func:`input_jets`).

    Args:
        net: a :class:`~pinn.nets.mlp.MLP` with a plain or modified trunk.
    """
    trunk, n = net.trunk, plan.rows
    hidden = list(zip(trunk.layers[:-1], trunk.activations))
    if type(trunk) is PlainTrunk:
        h = inputs
        for layer, act in hidden:
            h = _activate(act, _linear(h, layer, n), plan)
    elif type(trunk) is ModifiedTrunk:
        u, v = (_activate(act, _linear(inputs, enc, n), plan)
                for enc, act in zip(trunk.encoders, trunk.activations[-2:]))
        gap = v - u
        h = inputs
        for layer, act in hidden:
            h = u + _times(_activate(act, _linear(h, layer, n), plan), gap, plan)  # (1 - z) U + z V
    else:
        raise ValueError(f"the jet engines run a plain or modified trunk, got {type(trunk).__name__}; use "
                         f"derivatives=autograd")
    return _linear(h, trunk.layers[-1], n)


def embedder(net, columns=None, before=None):
    """``x (N, d) -> (N, features)``: the points to ``net``'s trunk inputs (scaled, then embedded),
    reading only the input ``columns`` where given (a per-field network's own coordinates: the jets
    along the others are then zero), after ``before(x)`` where given (a marched window's points at
    its start time, :mod:`pinn.training.fused_window`)."""
    index = None if columns is None else list(columns)

    def embed(x):
        if before is not None:
            x = before(x)
        return net.embeddings(net.scaling(x if index is None else x[..., index]))

    return embed


def jets_of(net, plan: Plan, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
    """The output's jets ``(n + m * S, outputs)`` of an :class:`~pinn.nets.mlp.MLP`, or of a
    :class:`~pinn.nets.per_field.PerFieldMLP` (its networks' side by side, field by field), from
    each network's input jets (:func:`inputs_of`)."""
    outs = [forward(mlp, plan, i) for (mlp, _), i in zip(jet_networks(net), inputs, strict=True)]
    return outs[0] if len(outs) == 1 else torch.cat(outs, 1)


def inputs_of(net, x: torch.Tensor, plan: Plan, *, before=None) -> list[torch.Tensor]:
    """The input jets (:func:`input_jets`) of each of ``net``'s networks at ``x``, the points in the
    plan's row order (``before``: as :func:`embedder`'s)."""
    return [input_jets(embedder(mlp, columns, before), x, plan) for mlp, columns in jet_networks(net)]


def outputs_of(net) -> int:
    """The number of outputs (fields) of ``net``'s networks together."""
    total = 0
    for mlp, _ in jet_networks(net):
        total += cast(nn.Linear, mlp.trunk.layers[-1]).out_features  # a trunk ends in a linear layer
    return total


class NetworkJets(nn.Module):
    """:func:`jets_of` as a module over ``net``'s parameters, for ``torch.func.functional_call``
    (the fused step differentiates it by ``vjp`` with respect to all of them: layers, encoders and
    adaptive slopes alike)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, plan: Plan, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        return jets_of(self.net, plan, inputs)
