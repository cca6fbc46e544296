"""Numerically stable activations as custom ``torch.autograd.Function``s.

Every Function writes its ``backward`` and ``jvp`` with differentiable torch ops
(calling the Functions of this module again), so derivatives of any order work in
reverse mode, forward mode and under ``torch.func`` transforms (``vmap``,
``jacrev``, ``jacfwd``).  None of them produces NaN or Inf for finite inputs:
``tanh`` saturates, ``sin``/``cos`` are bounded, and ``softplus``/``sigmoid`` are
written in their overflow-free forms.

Known limit (PyTorch, not ours): forward mode nested *directly* on forward mode
(``jacfwd(jacfwd(f))``) through any custom Function silently drops the outer
tangent, because tensors saved for ``jvp`` reach it unwrapped.  Reverse mode at
any depth and forward-over-reverse (``jacfwd(jacrev(f))``) are exact; the
``torch.func`` engine in :mod:`pinn.diff.functional` only nests those.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Tanh", "Sin", "Softplus", "ACTIVATIONS", "get_activation"]


class _TanhFn(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x):
        return torch.tanh(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        # The derivative 1 - tanh^2 is written in the saved *output*: no recomputation,
        # and differentiating it again flows back through this Function's own node.
        ctx.save_for_backward(output)
        ctx.save_for_forward(output)

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        # grad * (1 - y^2) in one fused kernel; ATen differentiates it again in closed form
        # (with respect to grad and to y, whose own derivative flows back through this node).
        return torch.ops.aten.tanh_backward(grad, y)

    @staticmethod
    def jvp(ctx, tangent):
        (y,) = ctx.saved_tensors
        return torch.ops.aten.tanh_backward(tangent, y)


class _SinFn(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x):
        return torch.sin(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        (x,) = inputs
        ctx.save_for_backward(x)
        ctx.save_for_forward(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * _CosFn.apply(x)

    @staticmethod
    def jvp(ctx, tangent):
        (x,) = ctx.saved_tensors
        return tangent * _CosFn.apply(x)


class _CosFn(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x):
        return torch.cos(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        (x,) = inputs
        ctx.save_for_backward(x)
        ctx.save_for_forward(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return -grad * _SinFn.apply(x)

    @staticmethod
    def jvp(ctx, tangent):
        (x,) = ctx.saved_tensors
        return -tangent * _SinFn.apply(x)


class _SigmoidFn(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x):
        # torch.sigmoid evaluates exp(-|x|) internally: no overflow.
        return torch.sigmoid(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(output)
        ctx.save_for_forward(output)

    @staticmethod
    def backward(ctx, grad):
        (s,) = ctx.saved_tensors
        return grad * (s * (1 - s))

    @staticmethod
    def jvp(ctx, tangent):
        (s,) = ctx.saved_tensors
        return tangent * (s * (1 - s))


class _SoftplusFn(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x):
        # log(1 + e^x) = logaddexp(x, 0), evaluated as max(x, 0) + log1p(e^{-|x|}): never overflows.
        return torch.logaddexp(x, torch.zeros_like(x))

    @staticmethod
    def setup_context(ctx, inputs, output):
        (x,) = inputs
        ctx.save_for_backward(x)
        ctx.save_for_forward(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * _SigmoidFn.apply(x)

    @staticmethod
    def jvp(ctx, tangent):
        (x,) = ctx.saved_tensors
        return tangent * _SigmoidFn.apply(x)


class Tanh(nn.Module):
    """Hyperbolic tangent, ``tanh(x)``; derivatives of every order via ``1 - tanh^2``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _TanhFn.apply(x)

    def tower(self, x: torch.Tensor, order: int = 2) -> tuple[torch.Tensor, ...]:
        """``(f, f', ..., f^(order))`` at ``x`` (``order`` <= 3) in closed form, from plain torch ops
        with the Function's values: differentiable to any order, and ``torch.compile`` traces them
        without a graph break.  (The fused engine's adjoint needs the third derivative.)"""
        y = torch.tanh(x)
        if order == 0:
            return (y,)
        d1 = 1 - y * y
        if order < 3:
            return (y, d1, -2 * y * d1)[: order + 1]
        return y, d1, -2 * y * d1, -2 * d1 * (1 - 3 * y * y)

    def taylor(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(f, f', f'')`` at ``x``: :meth:`tower` to second order."""
        return self.tower(x, 2)


class Sin(nn.Module):
    """Sine, ``sin(x)``; derivatives cycle through ``cos, -sin, -cos``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _SinFn.apply(x)

    def tower(self, x: torch.Tensor, order: int = 2) -> tuple[torch.Tensor, ...]:
        """``(f, f', ..., f^(order))`` at ``x`` (``order`` <= 3) in closed form, plain torch ops."""
        y = torch.sin(x)
        if order == 0:
            return (y,)
        c = torch.cos(x)
        return (y, c, -y, -c)[: order + 1]

    def taylor(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(f, f', f'')`` at ``x``: :meth:`tower` to second order."""
        return self.tower(x, 2)


class Softplus(nn.Module):
    """Overflow-free softplus, ``log(1 + exp(x))``; its derivative is the logistic sigmoid."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _SoftplusFn.apply(x)

    def tower(self, x: torch.Tensor, order: int = 2) -> tuple[torch.Tensor, ...]:
        """``(f, f', ..., f^(order))`` at ``x`` (``order`` <= 3) in closed form, plain torch ops:
        ``logaddexp(x, 0)``, the Function's forward, whose autograd derivative is ``sigmoid(x)``
        everywhere (a ``max(x, 0) + log1p(e^{-|x|})`` form would give 1 at 0)."""
        y = torch.logaddexp(x, torch.zeros_like(x))
        if order == 0:
            return (y,)
        s = torch.sigmoid(x)
        d2 = s * (1 - s)
        return (y, s, d2, d2 * (1 - 2 * s))[: order + 1]

    def taylor(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(f, f', f'')`` at ``x``: :meth:`tower` to second order."""
        return self.tower(x, 2)


ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": Tanh, "sin": Sin, "softplus": Softplus}


def get_activation(name: str) -> nn.Module:
    """Return a new activation module by name (one of ``ACTIVATIONS``)."""
    try:
        return ACTIVATIONS[name]()
    except (KeyError, TypeError):
        choices = ", ".join(sorted(ACTIVATIONS))
        raise ValueError(f"unknown activation {name!r}; choose one of: {choices} (e.g. activation='tanh')") from None
