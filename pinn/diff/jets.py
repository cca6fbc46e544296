"""Jets: the Taylor engine's forward pass through a plain MLP, and its adjoint written by hand.

Every row of the stacked input carries the network's value; the rows of point sets whose
terms read derivatives also carry *streams*, the first derivatives ``z_i`` along the
coordinates in :attr:`Plan.firsts` and the second derivatives ``z_ij`` of :attr:`Plan.seconds`.
A linear layer maps the value rows and every stream with one matrix product (the value rows
alone get the bias); an activation combines them with its closed forms ``f, f', f''``:

    a = f(z),   a_i = f'(z) z_i,   a_ij = f''(z) z_i z_j + f'(z) z_ij.

:func:`forward` is plain torch ops (autograd and ``torch.compile`` go through it: the
``taylor`` engine).  :func:`adjoint` is its reverse pass written out, the transpose of each
of those maps, with ``f'''`` for the value's adjoint:

    z̄   = ā f' + sum_i ā_i f'' z_i + sum_ij ā_ij (f''' z_i z_j + f'' z_ij)
    z̄_i = ā_i f' + sum_(ij) ā_ij f'' z_j (both slots of the pair)
    z̄_ij = ā_ij f'

so the ``fused`` engine's training step is one forward graph (no autograd tape between the
network and its parameters' gradients) that ``torch.compile`` fuses with the optimizer's
update.  The first layer folds the input scaling ``h = (x - c) / w`` into its weights; its
streams are then constant rows (``z_j = W'[:, j]``, ``z_ij = 0``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from pinn.diff.transform_jets import transformed

__all__ = ["Plan", "closed", "make_plan", "forward", "adjoint", "stack", "split", "JetValues"]


@dataclass(frozen=True)
class Plan:
    """Which rows carry which streams.

    Attributes:
        order: the requests' positions in row order: those that read derivatives first.
        sizes: their row counts, in that order.
        indices: each request's derivative multi-indices (by request position), ``()`` always in.
        rows: all rows, ``n``.
        stream_rows: the rows that carry streams, ``m`` (the first ones).
        firsts: coordinates of the first-derivative streams.
        seconds: coordinate pairs ``(i, j)``, ``i <= j``, of the second-derivative streams.
    """

    order: tuple[int, ...]
    sizes: tuple[int, ...]
    indices: tuple[frozenset, ...]
    rows: int
    stream_rows: int
    firsts: tuple[int, ...]
    seconds: tuple[tuple[int, int], ...]

    @property
    def streams(self) -> int:
        return len(self.firsts) + len(self.seconds)


def closed(indices: Iterable[tuple[int, ...]]) -> frozenset:
    """``indices`` with ``()`` and the first derivatives of each second one: what a set's rows carry
    (an output transform's second derivatives read them, :mod:`pinn.diff.transform_jets`)."""
    indices = frozenset(indices) | {()}
    return indices | {(j,) for i in indices if len(i) == 2 for j in i}


def make_plan(requests: Sequence[tuple[int, Iterable[tuple[int, ...]]]]) -> Plan:
    """The plan of point sets of ``(rows, derivative multi-indices)``; orders above two are refused."""
    indices = tuple(closed(i) for _, i in requests)
    wanted = set().union(*indices)
    if any(len(i) > 2 for i in wanted):
        raise ValueError("the taylor and fused engines compute derivatives up to second order; use "
                         "derivatives=autograd")
    seconds = tuple(sorted(i for i in wanted if len(i) == 2))
    firsts = tuple(sorted({j for i in wanted for j in i}))
    reads = [k for k, i in enumerate(indices) if len(i) > 1]
    order = tuple(reads + [k for k in range(len(requests)) if k not in reads])
    sizes = tuple(int(requests[k][0]) for k in order)
    m = sum(int(requests[k][0]) for k in reads) if firsts else 0
    return Plan(order, sizes, indices, sum(sizes), m, firsts, seconds)


def _first_layer(weight, bias, center, half_width):
    """``(C, b')`` with ``z = x C + b'`` the first layer on unscaled inputs: ``C = diag(1/w) W^T``
    (a matrix product, so its rows are contiguous: a compiled kernel broadcasting them vectorizes)."""
    columns = torch.mm(torch.diag(1 / half_width), weight.T)
    return columns, bias - center @ columns


def forward(weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor], activations: Sequence,
            center: torch.Tensor, half_width: torch.Tensor, plan: Plan, points: torch.Tensor, *,
            tape: bool = False):
    """The jets of an MLP at ``points``.

    Args:
        weights, biases: the layers' parameters, ``weights[k]`` of shape ``(out, in)``.
        activations: the hidden layers' activations (with ``tower``).
        center, half_width: ``(d,)``: the network sees ``(x - center) / half_width``.
        plan: from :func:`make_plan`; ``points`` holds its rows in its order, ``(n, d)``.
        tape: also return what :func:`adjoint` needs.

    Returns:
        ``out``, ``(n + m * S, F)``: the value rows, then ``m`` rows per stream (firsts, then
        seconds); with ``tape``, ``(out, tape)``.
    """
    n, m = plan.rows, plan.stream_rows
    pos = {j: k for k, j in enumerate(plan.firsts)}
    columns, shift = _first_layer(weights[0], biases[0], center, half_width)
    z = torch.addmm(shift, points, columns)
    z1 = [columns[j] for j in plan.firsts]  # constant rows, broadcast
    z2: list = [None] * len(plan.seconds)
    saved = []
    h: torch.Tensor = columns  # replaced by the first layer's pre-activations below
    for layer, act in enumerate(activations):
        if layer:
            z = h[:n] + biases[layer]
            streams = h[n:].split(m) if m else ()
            z1, z2 = list(streams[: len(plan.firsts)]), list(streams[len(plan.firsts):])
        if m == 0:
            f = act.tower(z, 1 if tape else 0)
            stacked = f[0]
            saved.append((z1, z2, f[1] if tape else None, None, None, stacked))
        else:
            if m == n or tape:  # with a tape, the whole tower on every row: one kernel, no joins (faster compiled)
                f0, f1, f2, *f3 = act.tower(z, 3 if tape else 2)
                f1m, f2, f3 = f1[:m], f2[:m], [t[:m] for t in f3] or [None]
            else:  # eager, no tape: derivatives only on the rows that carry streams
                f0, f1m, f2 = act.tower(z[:m], 2)
                f0, f1, f3 = torch.cat([f0, act.tower(z[m:], 0)[0]]), None, [None]
            d1 = [f1m * a for a in z1]
            d2 = []
            for q, (i, j) in enumerate(plan.seconds):
                v = f2 * z1[pos[i]] * z1[pos[j]]
                d2.append(v if z2[q] is None else v + f1m * z2[q])
            stacked = torch.cat([f0, *d1, *d2])
            saved.append((z1, z2, f1, f2, f3[0], stacked))
        h = stacked @ weights[layer + 1].T
    out = torch.cat([h[:n] + biases[-1], h[n:]]) if m else h + biases[-1]
    return (out, saved) if tape else out


def adjoint(weights: Sequence[torch.Tensor], center: torch.Tensor, half_width: torch.Tensor, plan: Plan,
            points: torch.Tensor, saved, out_bar: torch.Tensor) -> list[torch.Tensor]:
    """The parameter gradients ``[W̄_0, b̄_0, W̄_1, ...]`` of a loss whose gradient with respect to
    :func:`forward`'s ``out`` is ``out_bar`` (same shape): the reverse pass written out."""
    n, m = plan.rows, plan.stream_rows
    pos = {j: k for k, j in enumerate(plan.firsts)}
    nf = len(plan.firsts)
    grads: list = [None] * (2 * len(weights))
    z_bar = out_bar
    for layer in range(len(saved) - 1, -1, -1):
        z1, z2, f1, f2, f3, stacked = saved[layer]
        grads[2 * layer + 2] = z_bar.T @ stacked
        grads[2 * layer + 3] = z_bar[:n].sum(0)
        h_bar = z_bar @ weights[layer + 1]
        if m == 0:
            zb0, zb1 = h_bar * f1, []
        else:
            parts = h_bar.split([n] + [m] * plan.streams)
            g0, g1, g2 = parts[0], parts[1: 1 + nf], parts[1 + nf:]
            f1m = f1[:m]
            zb1 = [g * f1m for g in g1]
            extra = sum(g1[k] * (f2 * z1[k]) for k in range(nf))
            for q, (i, j) in enumerate(plan.seconds):
                a, b = pos[i], pos[j]
                cross = f3 * z1[a] * z1[b]
                extra = extra + g2[q] * (cross if z2[q] is None else cross + f2 * z2[q])
                gf = g2[q] * f2
                zb1[a] = zb1[a] + gf * z1[b]
                zb1[b] = zb1[b] + gf * z1[a]
            zb0 = g0 * f1
            zb0 = zb0[:m] + extra if m == n else torch.cat([zb0[:m] + extra, zb0[m:]])
            if layer:
                zb2 = [g * f1m for g in g2]
        if layer:
            z_bar = torch.cat([zb0, *zb1, *zb2]) if m else zb0
            continue
        # the first layer, z = x C + b - c C, z_j = C[j]: C̄ from every stream's column sum
        b_bar = zb0.sum(0)
        c_bar = points.T @ zb0 - torch.outer(center, b_bar)
        if nf:
            rows = [zb1[pos[j]].sum(0) if j in pos else torch.zeros_like(b_bar) for j in range(points.shape[1])]
            c_bar = c_bar + torch.stack(rows)
        grads[0] = (c_bar / half_width[:, None]).T.contiguous()
        grads[1] = b_bar
    return grads


def stack(requests: Sequence[tuple[torch.Tensor, Iterable]], plan: Plan) -> torch.Tensor:
    """The requests' points, ``(n, d)``, in the plan's row order."""
    points = [requests[k][0] for k in plan.order]
    return points[0] if len(points) == 1 else torch.cat(points)


def split(out: torch.Tensor, plan: Plan, outputs: int) -> list[dict]:
    """:func:`forward`'s ``out`` as one ``{index: values}`` dict per request (``(N,)`` values for one
    output, ``(N, F)`` for ``F``), in request order, with the indices each asked for."""
    n, m = plan.rows, plan.stream_rows
    shape = (-1,) if outputs == 1 else (-1, outputs)
    values = out[:n].reshape(shape)
    by_index: dict[tuple[int, ...], torch.Tensor] = {}
    if m:
        streams = out[n:].split(m)
        by_index = {(j,): s.reshape(shape) for j, s in zip(plan.firsts, streams)}
        by_index.update({pair: s.reshape(shape) for pair, s in zip(plan.seconds, streams[len(plan.firsts):])})
    results: list = [None] * len(plan.order)
    start = 0
    for k, size in zip(plan.order, plan.sizes):
        rows = slice(start, start + size)
        results[k] = {i: (values if i == () else by_index[i])[rows] for i in plan.indices[k]}
        start += size
    return results


class JetValues:
    """A network's jets already computed (``out`` of :func:`forward` under ``plan``, for the point sets
    ``requests``), standing in for the network where the loss asks the Taylor engine for them, or
    calls it at one of those sets (the data term's observation points): the fused engine evaluates
    the loss as a function of ``out`` alone, and differentiates only that part by autograd.
    ``transform``: an output transform after the network (a hard constraint's), which the jets
    pass through in that part (:func:`pinn.diff.transform_jets.transformed`).  ``slopes``: the adaptive
    activations' slopes the jets were computed with, for the slope-recovery term.  ``fields``: the
    jets per request already put together (a marched window's increment,
    :mod:`pinn.training.fused_window`), in place of ``out`` and ``transform``."""

    def __init__(self, out: torch.Tensor | None, plan: Plan, outputs: int, transform=None, requests: Sequence = (),
                 slopes: Sequence[torch.Tensor] = (), fields: list[dict] | None = None):
        self.out, self.plan, self.outputs, self.transform = out, plan, outputs, transform
        self.requests, self.slopes = list(requests), list(slopes)
        self._fields: list | None = fields

    def _all(self, requests) -> list[dict]:
        if self._fields is None:
            if self.out is None:
                raise ValueError("JetValues needs the network's jets (out) or the fields put together")
            self._fields = transformed(split(self.out, self.plan, self.outputs), requests, self.outputs,
                                       self.transform)
        return self._fields

    def fields(self, requests: Sequence[tuple[torch.Tensor, Iterable[tuple[int, ...]]]]) -> list[dict]:
        """The jets the loss asks for: the first ``len(requests)`` sets of the plan (those after them
        are read by calling this, :meth:`__call__`)."""
        asked = tuple(closed(i) for _, i in requests)
        k = len(requests)
        if asked != self.plan.indices[:k] or [p.shape[0] for p, _ in requests] != \
                [self.plan.sizes[self.plan.order.index(j)] for j in range(k)] or \
                any(p is not q for (p, _), (q, _) in zip(requests, self.requests)):
            raise ValueError("the loss asked for other derivatives or points than the fused step computed; "
                             "this is a bug in pinn, please report it (derivatives=taylor avoids it)")
        return self._all(self.requests or requests)[:k]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The (transformed) network's values at ``x``, one of the sets computed, ``(N, F)``."""
        for k, (points, _) in enumerate(self.requests):
            if points is x:
                return self._all(self.requests)[k][()].reshape(x.shape[0], self.outputs)
        raise ValueError("the loss evaluated the network at points the fused step did not compute; this is a bug in "
                         "pinn, please report it (derivatives=taylor avoids it)")
