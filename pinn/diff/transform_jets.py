"""Jets through an output transform: a hard constraint's ``T(u(x), x)`` after the network.

The jet engines (``taylor``, ``fused``: :mod:`pinn.diff.jets`) push the input derivatives of a
network's output ``u`` forward through its layers.  A hard constraint
(:class:`pinn.physics.constraints.HardConstraint`) puts a transform ``T(u, x)`` after them, and the
residuals read the derivatives of ``T(u(x), x)``.  Two ways to get them:

* :func:`through`, for any transform: the chain rule in forward mode, one ``torch.func.jvp`` per
  first derivative and two nested ones per second, on every evaluation.
* :class:`AffineJets`, for a transform affine in ``u`` (every built-in hard constraint,
  ``g(x) + phi(x) u``, distance functions included): ``T = A(x) + B(x) u``, so

      T_i  = A_i + B_i u + B u_i
      T_ij = A_ij + B_ij u + B_i u_j + B_j u_i + B u_ij

  with the jets of ``A`` and ``B`` computed once per point set (by :func:`through`) and reused
  while the points stay; the fused step passes them into its compiled graph as data, so the
  transform costs a few products per step, whatever its distance functions cost.
  :func:`affine_jets` checks the transform is affine at the points before using them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch.func import jvp

__all__ = ["through", "transformed", "AffineJets", "affine_jets"]

#: A transform is taken for affine where ``T(u)`` and ``A + B u`` agree at random ``u`` to this,
#: relative to the largest of their magnitudes.
AFFINE_TOL = 1e-6


def _plain(t: torch.Tensor) -> torch.Tensor:
    """A fresh copy in the standard layout (a column's ``is_contiguous`` ignores the stride of its
    length-1 dimension): forward-mode views (``unbind``, ``squeeze``) need primal and tangent alike."""
    return t.clone(memory_format=torch.contiguous_format)


def through(transform, x: torch.Tensor, values: dict, outputs: int, wanted: Iterable[tuple[int, ...]]) -> dict:
    """The jets of ``transform(u(x), x)`` from those of ``u`` (a hard constraint's output transform
    after the network, :func:`pinn.nets.mlp.jet_parts`): by the chain rule, in forward mode,

        out_i  = d/ds T(u + s u_i, x + s e_i)
        out_ij = d/ds d/dt T(u + s u_i + t u_j + s t u_ij, x + s e_i + t e_j)    at s = t = 0,

    each a ``torch.func.jvp`` (nested for the second), whatever ``transform`` is made of.

    Args:
        transform: ``(raw (N, F), x (N, d)) -> (N, F)``, pointwise torch ops.
        x: the set's points, ``(N, d)``.
        values: ``{index: (N,) or (N, F) tensor}`` of ``u``, with the first derivatives of every
            second one wanted (:func:`closed`).
        outputs: ``F``.
        wanted: the multi-indices to return (``()`` always).

    Returns:
        ``{index: tensor}`` of the transformed output, shaped as ``values``.
    """
    n, d = x.shape
    u = {i: _plain(v.reshape(n, outputs)) for i, v in values.items()}
    x = _plain(x)
    eye = torch.eye(d, dtype=x.dtype, device=x.device)

    def along(j: int):
        return _plain(eye[j].expand(n, d))

    out = {}
    for index in frozenset(wanted) | {()}:
        if not index:
            out[index] = transform(u[()], x)
        elif len(index) == 1:
            out[index] = jvp(transform, (u[()], x), (u[index], along(index[0])))[1]
        else:
            i, j = index

            def slope_j(a, y, b, j=j):  # d/dt T at (a, y) with u's tangent b along x_j
                return jvp(transform, (a, y), (b, along(j)))[1]

            out[index] = jvp(slope_j, (u[()], x, u[(j,)]), (u[(i,)], along(i), u[index]))[1]
    shape = (-1,) if outputs == 1 else (-1, outputs)
    return {i: v.reshape(shape) for i, v in out.items()}



def transformed(fields: list[dict], requests: Sequence[tuple[torch.Tensor, Iterable[tuple[int, ...]]]],
                outputs: int, transform) -> list[dict]:
    """The network's jets per request (:func:`pinn.diff.jets.split`'s dicts) passed through
    ``transform``, each keeping the indices its request asked for.

    Args:
        transform: ``None`` (returned unchanged), an :class:`AffineJets` of these requests, or a
            function ``T(raw, x)`` (:func:`through`).
    """
    if transform is None:
        return fields
    if isinstance(transform, AffineJets):
        return [transform.apply(k, f, outputs, indices) for k, ((_, indices), f) in enumerate(zip(requests, fields))]
    return [through(transform, points, f, outputs, indices) for (points, indices), f in zip(requests, fields)]


def _times(b: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """``B u`` per row: ``(N, F, F) x (N, F) -> (N, F)``; a product for one output."""
    return b[:, :, 0] * u if b.shape[-1] == 1 else torch.einsum("nfg,ng->nf", b, u)


class AffineJets:
    """The jets of an affine transform's ``A(x)`` and ``B(x)`` per request, to apply to a network's
    jets (see the module docs).  Made by :func:`affine_jets`; its tensors are data to a compiled graph.

    Args:
        coefficients: per request, ``{index: (A_index (N, F), B_index (N, F, F))}`` for ``()``, the
            indices asked for and the first derivatives their second ones read.
    """

    def __init__(self, coefficients: Sequence[dict]):
        self.coefficients = list(coefficients)

    def apply(self, k: int, values: dict, outputs: int, wanted: Iterable[tuple[int, ...]]) -> dict:
        """The transformed jets of request ``k`` (``values`` as :func:`through` takes them)."""
        c = self.coefficients[k]
        n = values[()].shape[0]
        u = {i: v.reshape(n, outputs) for i, v in values.items()}
        out = {}
        for index in frozenset(wanted) | {()}:
            a, b = c[index]
            if not index:
                out[index] = a + _times(b, u[()])
            elif len(index) == 1:
                out[index] = a + _times(b, u[()]) + _times(c[()][1], u[index])
            else:
                i, j = index
                b0, bi, bj = c[()][1], c[(i,)][1], c[(j,)][1]
                out[index] = a + _times(b, u[()]) + _times(bi, u[(j,)]) + _times(bj, u[(i,)]) + _times(b0, u[index])
        shape = (-1,) if outputs == 1 else (-1, outputs)
        return {i: v.reshape(shape) for i, v in out.items()}

    @property
    def layout(self) -> list[tuple[tuple[int, ...], ...]]:
        """Per request, its indices in the order of :meth:`tensors`."""
        return [tuple(sorted(c)) for c in self.coefficients]

    def tensors(self) -> list[torch.Tensor]:
        """Every ``A`` and ``B``, flat (in :attr:`layout`'s order): a compiled graph's inputs."""
        return [t for c, order in zip(self.coefficients, self.layout) for i in order for t in c[i]]

    @classmethod
    def from_tensors(cls, layout: Sequence[Sequence[tuple[int, ...]]], tensors: Sequence[torch.Tensor]) -> AffineJets:
        """The inverse of :meth:`tensors` for :attr:`layout`."""
        it = iter(tensors)
        return cls([{i: (next(it), next(it)) for i in order} for order in layout])


def _jets_of_constant(transform, points: torch.Tensor, value: torch.Tensor, indices: frozenset) -> dict:
    """The jets of ``T(value, x)`` for a network output constant in ``x``, ``(N, F)`` each."""
    zeros = torch.zeros_like(value)
    jets = through(transform, points, {i: value if not i else zeros for i in indices}, value.shape[1], indices)
    return {i: t.reshape(value.shape) for i, t in jets.items()}


def affine_jets(transform, requests: Sequence[tuple[torch.Tensor, Iterable[tuple[int, ...]]]], outputs: int, *,
                generator: torch.Generator | None = None) -> AffineJets | None:
    """The :class:`AffineJets` of ``transform`` at the requests' points, or ``None`` where it is not
    affine in the network's output there (then :func:`through` differentiates it on every call).

    Args:
        transform: ``T(raw (N, F), x (N, d)) -> (N, F)``.
        requests: ``(points (N, d), derivative multi-indices)`` per set, closed
            (:func:`pinn.diff.jets.closed`).
        outputs: ``F``.
        generator: for the random outputs of the check (default: a fixed seed of its own).
    """
    generator = generator or torch.Generator().manual_seed(0)
    out = []
    with torch.no_grad():
        for points, indices in requests:
            indices = frozenset(indices) | {()}
            n = points.shape[0]
            zeros = points.new_zeros(n, outputs)

            a = _jets_of_constant(transform, points, zeros, indices)
            columns = []
            for f in range(outputs):
                unit = zeros.clone()
                unit[:, f] = 1
                columns.append({i: t - a[i] for i, t in _jets_of_constant(transform, points, unit, indices).items()})
            b = {i: torch.stack([col[i] for col in columns], dim=-1) for i in indices}
            probe = torch.randn(n, outputs, generator=generator, dtype=torch.float64).to(zeros)
            direct = transform(probe, points).reshape(n, outputs)
            affine = a[()] + _times(b[()], probe)
            scale = max(float(direct.abs().max()), float(affine.abs().max()), 1.0)
            if not float((direct - affine).abs().max()) <= AFFINE_TOL * scale:
                return None
            out.append({i: (a[i], b[i]) for i in indices})
    return AffineJets(out)
