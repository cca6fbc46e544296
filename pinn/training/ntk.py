"""NTK loss weights from per-sample gradients (Wang, Yu & Perdikaris 2022).

The neural tangent kernel of term ``i`` has the diagonal ``K_ii(x, x) = |d r_i(x) / d theta|^2``,
the squared norm of the parameter gradient of the term's residual at one point.  Those per-point
gradients come from the per-sample-gradient pattern of ``torch.func``:
``vmap(grad(residual_at_one_point), in_dims=(None, 0))(params, points)`` on the model made
functional by ``functional_call``, in chunks of ``chunk_size`` points so memory stays bounded.
The residual at one point is taken by the ``func`` engine (pointwise ``jacrev`` towers), which
composes with ``grad`` and ``vmap``; ``torch.autograd.grad`` is never called under ``vmap``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch.func import functional_call, grad, vmap

from pinn.diff.functional import FuncEngine
from pinn.training.weighting import LossWeighting

__all__ = ["per_point_gradients", "ntk_traces", "NTKWeighting"]


def _residual_at(model, loss, name: str):
    """``(params, buffers, p) -> scalar residual of term `name` at one point p of shape (d,)``."""
    pde = loss.pde
    engine = FuncEngine()
    if name == "data":
        column = loss.data_column

        def data_at(params, buffers, p):
            out = functional_call(model, (params, buffers), (p.unsqueeze(0),))
            return out.reshape(-1)[column]

        return data_at
    (term,) = [t for t in loss.terms if t.name == name]

    def residual_at(params, buffers, p):
        def net(x):
            return functional_call(model, (params, buffers), (x,))

        r = engine.residuals(net, p.unsqueeze(0), pde.domain.coordinates, [term], fields=pde.fields)[name]
        return r.reshape(())

    return residual_at


def per_point_gradients(model: torch.nn.Module, loss, name: str, points: torch.Tensor, *,
                        chunk_size: int | None = 64) -> dict[str, torch.Tensor]:
    """The parameter gradient of term ``name``'s residual at every point, one row per point.

    Args:
        model: the network (any module; hard constraints and learned coefficients included).
        loss: the :class:`~pinn.training.losses.PINNLoss` whose term it is (``"data"`` for the
            observations: the gradient of the observed field's value).
        name: the term's name.
        points: ``(n, d)`` points of the term's set.
        chunk_size: points per vmapped chunk (``None``: all at once).

    Returns:
        ``{parameter name: (n, *parameter shape)}`` for every parameter that requires grad.
    """
    names = [t.name for t in loss.terms] + (["data"] if loss.data else [])
    if name not in names:
        raise ValueError(f"no loss term {name!r}; the terms are {names}")
    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    frozen = {k: v.detach() for k, v in model.named_parameters() if not v.requires_grad}
    buffers = {**dict(model.named_buffers()), **frozen}
    f = _residual_at(model, loss, name)
    with torch.enable_grad():
        return vmap(grad(f), in_dims=(None, None, 0), chunk_size=chunk_size)(params, buffers, points.detach())


def ntk_traces(model: torch.nn.Module, loss, points: Mapping[str, torch.Tensor], names: Sequence[str], *,
               points_per_term: int = 256, chunk_size: int | None = 64, reduce: str = "mean") -> dict[str, float]:
    """``{term: tr K_ii}``: the sum (``reduce="sum"``) or mean (``"mean"``) over the term's points
    of ``|d r(x) / d theta|^2``, on at most ``points_per_term`` of them (every k-th point)."""
    if reduce not in ("mean", "sum"):
        raise ValueError(f"reduce must be 'mean' or 'sum', got {reduce!r}")
    sets = {t.name: t.points for t in loss.terms}
    sets["data"] = "data"
    out = {}
    for name in names:
        x = points[sets[name]]
        if points_per_term and x.shape[0] > points_per_term:
            x = x[:: x.shape[0] // points_per_term][:points_per_term]
        g = per_point_gradients(model, loss, name, x, chunk_size=chunk_size)
        sq = sum((v.reshape(v.shape[0], -1) ** 2).sum(1) for v in g.values())
        out[name] = float(sq.mean() if reduce == "mean" else sq.sum())  # type: ignore[union-attr]
    return out


class NTKWeighting(LossWeighting):
    """Loss weights from the NTK's trace (Wang, Yu & Perdikaris 2022): term ``i`` gets
    ``w_i = sum_j tr K_jj / tr K_ii``, moved to by ``w <- alpha w + (1 - alpha) w_new`` every
    ``every`` steps.  Terms of weight 0 are left out; a zero or non-finite trace keeps all weights.

    ``reduce="mean"`` takes ``tr K_ii`` as the mean over the term's points, as jaxpi does, which
    matches a loss of *mean* squared residuals (ours); ``"sum"`` is the paper's sum over points.

    Args:
        every: steps between updates (> 0).
        alpha: the moving-average factor, in ``[0, 1)`` (0: jump to the new weights).
        points_per_term: points of each term's set used for its trace (every k-th; 0: all).
        chunk_size: points per vmapped chunk of per-sample gradients (bounds memory).
        reduce: ``"mean"`` or ``"sum"`` over a term's points.
    """

    needs_context = True

    def __init__(self, *, every: int = 100, alpha: float = 0.0, points_per_term: int = 256,
                 chunk_size: int = 64, reduce: str = "mean"):
        for key, value, low in (("every", every, 1), ("points_per_term", points_per_term, 0),
                                ("chunk_size", chunk_size, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{key} must be an integer >= {low}, got {value!r}")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha < 1:
            raise ValueError(f"alpha must lie in [0, 1), got {alpha!r}")
        if reduce not in ("mean", "sum"):
            raise ValueError(f"reduce must be 'mean' or 'sum', got {reduce!r}")
        self.every, self.alpha = every, float(alpha)
        self.points_per_term, self.chunk_size, self.reduce = points_per_term, chunk_size, reduce

    def update(self, weights, parts, params, *, context=None):
        if context is None:
            raise ValueError("NTK weighting needs the model, the loss and the points (the trainer passes them)")
        names = [n for n, w in weights.items() if w > 0]
        traces = ntk_traces(context.model, context.loss, context.points, names,
                            points_per_term=self.points_per_term, chunk_size=self.chunk_size, reduce=self.reduce)
        total = sum(traces.values())
        if not math.isfinite(total) or any(v == 0 for v in traces.values()):
            return None
        return {n: self.alpha * weights[n] + (1 - self.alpha) * total / traces[n] for n in names}
