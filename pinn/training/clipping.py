"""A gradient-clipping Function: identity forward, clipped backward.

:func:`clip_point_gradients` sits on a term's per-point residuals: the loss is unchanged, but in
the backward pass the gradient that each point sends into the network is bounded by ``factor``
times the median over the term's points.  A few points with large residuals (at a shock, a corner,
a singularity) can then steer the network no more than ``factor`` typical points can.  For the
mean squared residual this is the gradient of a Huber loss with its threshold set each step from
the residuals' median, while the value reported stays the mean square.
"""

from __future__ import annotations

import torch

from pinn.core.checks import positive

__all__ = ["clip_point_gradients"]


class _ClipPointGradients(torch.autograd.Function):
    """``r -> r``; backward ``g -> clamp(g, -b, b)`` with ``b = factor * median |g|`` (no gradient through ``b``)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(r, factor):
        return r.clone()

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.factor = inputs[1]

    @staticmethod
    def backward(ctx, grad):
        factor = ctx.factor
        bound = factor * grad.detach().abs().median()
        clipped = torch.clamp(grad, -bound, bound)
        if isinstance(factor, torch.Tensor):  # data to a compiled graph: 0 leaves the gradient as it is
            clipped = torch.where(factor > 0, clipped, grad)
        return clipped, None


def clip_point_gradients(r: torch.Tensor, factor: float | torch.Tensor) -> torch.Tensor:
    """``r`` unchanged, with the gradient reaching each of its entries clipped to ``factor`` times
    the median gradient magnitude over the entries.

    Args:
        factor: a number > 0; or a 0-d tensor (a compiled graph's data, so that one graph serves
            both), whose value 0 leaves the gradient unclipped.
    """
    if isinstance(factor, torch.Tensor):
        if factor.dim():
            raise ValueError(f"the clipping factor must be a number or a 0-d tensor, got shape {tuple(factor.shape)}")
        return _ClipPointGradients.apply(r, factor)
    positive("the clipping factor", factor)
    return _ClipPointGradients.apply(r, float(factor))
