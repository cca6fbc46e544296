"""Adaptive activations: ``f(n a x)`` with a trainable slope ``a`` (Jagtap, Kawaguchi & Karniadakis 2020).

``n >= 1`` is a fixed scale and ``a`` a trained scalar, initialised to ``1 / n`` so that training
starts from the plain activation.  One slope shared by every hidden layer is the *global*
adaptive activation (GAAF); one slope per layer is the *layer-wise locally adaptive* activation
(LAAF).  The slope-recovery term ``S(a) = 1 / mean_k exp(a_k)`` (:func:`slope_recovery`) added to
the loss pushes the slopes up, which is what speeds training.

The Functions below give the gradients for ``x`` and for ``a`` in differentiable torch ops, so
they can be differentiated again to any order (gradcheck and gradgradcheck for both inputs, and the
third derivative in ``x`` against its closed form, in ``tests/test_adaptive.py``), and they carry
a ``jvp`` and a vmap rule for ``torch.func``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from pinn.core.checks import number
from pinn.nets.activations import _CosFn

__all__ = ["AdaptiveTanh", "AdaptiveSin", "ADAPTIVE", "adaptive_slopes", "slope_recovery"]


class _AdaptiveTanhFn(torch.autograd.Function):
    """``tanh(n a x)``: ``d/dx = n a (1 - y^2)``, ``d/da = n x (1 - y^2)`` (summed to ``a``'s shape)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x, a, n):
        return torch.tanh(n * a * x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, a, n = inputs
        ctx.n = n
        # The output is saved: differentiating 1 - y^2 again flows back through this node.
        ctx.save_for_backward(x, a, output)
        ctx.save_for_forward(x, a, output)

    @staticmethod
    def backward(ctx, grad):
        x, a, y = ctx.saved_tensors
        g = torch.ops.aten.tanh_backward(grad, y)  # grad * (1 - y^2)
        gx = g * (ctx.n * a) if ctx.needs_input_grad[0] else None
        ga = (g * x).sum_to_size(a.shape) * ctx.n if ctx.needs_input_grad[1] else None
        return gx, ga, None

    @staticmethod
    def jvp(ctx, tx, ta, tn):
        x, a, y = ctx.saved_tensors
        tz = tx * a if tx is not None else 0
        if ta is not None:
            tz = tz + x * ta
        return torch.ops.aten.tanh_backward(ctx.n * tz, y)


class _AdaptiveSinFn(torch.autograd.Function):
    """``sin(n a x)``: ``d/dx = n a cos(n a x)``, ``d/da = n x cos(n a x)``."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x, a, n):
        return torch.sin(n * a * x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, a, n = inputs
        ctx.n = n
        ctx.save_for_backward(x, a)
        ctx.save_for_forward(x, a)

    @staticmethod
    def backward(ctx, grad):
        x, a = ctx.saved_tensors
        g = grad * _CosFn.apply(ctx.n * a * x)
        gx = g * (ctx.n * a) if ctx.needs_input_grad[0] else None
        ga = (g * x).sum_to_size(a.shape) * ctx.n if ctx.needs_input_grad[1] else None
        return gx, ga, None

    @staticmethod
    def jvp(ctx, tx, ta, tn):
        x, a = ctx.saved_tensors
        tz = tx * a if tx is not None else 0
        if ta is not None:
            tz = tz + x * ta
        return ctx.n * tz * _CosFn.apply(ctx.n * a * x)


class _Adaptive(nn.Module):
    """An activation ``f(n a x)`` with one trained slope ``a`` (a 0-d parameter, starting at ``1 / n``).

    Args:
        scale: the fixed factor ``n`` (>= 1; Jagtap et al. use 10).
        dtype: the slope's dtype.
    """

    _fn: type[torch.autograd.Function]

    def __init__(self, *, scale: float = 10.0, dtype: torch.dtype = torch.float32):
        super().__init__()
        number("the adaptive activation's scale n", scale, low=1)
        self.scale = float(scale)
        self.slope = nn.Parameter(torch.tensor(1.0 / self.scale, dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fn.apply(x, self.slope, self.scale)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


class AdaptiveTanh(_Adaptive):
    """``tanh(n a x)`` with a trained slope ``a``."""

    _fn = _AdaptiveTanhFn

    def tower(self, x: torch.Tensor, order: int = 2) -> tuple[torch.Tensor, ...]:
        """``(f, f', f'')`` at ``x`` up to ``order``, differentiable once more (in ``x`` and the slope)."""
        return self.taylor(x)[: order + 1]

    def taylor(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(f, f', f'')`` at ``x``, differentiable once more (in ``x`` and in the slope): plain torch
        ops with the Function's value (``torch.compile`` traces them inside ``torch.func`` transforms,
        where a Function with its own ``jvp`` breaks the graph)."""
        k = self.scale * self.slope
        y = torch.tanh(k * x)
        d1 = 1 - y * y
        return y, k * d1, -2 * k * k * y * d1


class AdaptiveSin(_Adaptive):
    """``sin(n a x)`` with a trained slope ``a``."""

    _fn = _AdaptiveSinFn

    def tower(self, x: torch.Tensor, order: int = 2) -> tuple[torch.Tensor, ...]:
        """``(f, f', f'')`` at ``x`` up to ``order``, differentiable once more (in ``x`` and the slope)."""
        return self.taylor(x)[: order + 1]

    def taylor(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(f, f', f'')`` at ``x``, differentiable once more (in ``x`` and in the slope): plain torch
        ops, as :meth:`AdaptiveTanh.taylor`."""
        k = self.scale * self.slope
        y = torch.sin(k * x)
        return y, k * torch.cos(k * x), -k * k * y


#: The adaptive forms of the activations that have one, by the plain activation's name.
ADAPTIVE: dict[str, type[_Adaptive]] = {"tanh": AdaptiveTanh, "sin": AdaptiveSin}


def adaptive_slopes(model: nn.Module) -> list[torch.Tensor]:
    """The distinct slope parameters of ``model``'s adaptive activations (one for GAAF, one per layer for LAAF)."""
    seen: dict[int, torch.Tensor] = {}
    for m in model.modules():
        if isinstance(m, _Adaptive):
            seen.setdefault(id(m.slope), m.slope)
    return list(seen.values())


def slope_recovery(model: nn.Module | Sequence[torch.Tensor]) -> torch.Tensor:
    """Jagtap et al.'s slope-recovery term ``1 / mean_k exp(a_k)`` over ``model``'s slopes (or over
    the slope tensors given, as :func:`adaptive_slopes` lists them: the fused step's graph holds
    them as its inputs).

    Raises:
        ValueError: if ``model`` has no adaptive activation.
    """
    slopes = adaptive_slopes(model) if isinstance(model, nn.Module) else list(model)
    if not slopes:
        raise ValueError("slope recovery needs adaptive activations; set model.adaptive=layer (LAAF) or "
                         "model.adaptive=global (GAAF), or loss.slope_recovery=0")
    return 1 / torch.stack([torch.exp(a).mean() for a in slopes]).mean()

