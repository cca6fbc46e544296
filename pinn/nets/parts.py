"""The parts a network is composed of: the input scaling, the input embeddings (periodic,
Fourier features), the trunk (plain or modified) and its activations.

:class:`~pinn.nets.mlp.MLP` puts them together: ``scaling -> embeddings -> trunk``.  Each part is
an ``nn.Module`` with one job, and a network's structure is read from which parts it holds
(:func:`pinn.nets.mlp.jet_support`), not from flags.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from pinn.core.checks import choice, positive_int
from pinn.nets.activations import get_activation
from pinn.nets.adaptive_activations import ADAPTIVE

__all__ = ["FourierFeatures", "InputScaling", "ModifiedTrunk", "PeriodicEmbedding", "PlainTrunk", "activations"]


class InputScaling(nn.Module):
    """The affine map of the box ``[lower, upper]`` onto ``[-1, 1]^d``: ``(N, d) -> (N, d)``.

    Args:
        lower: ``(d,)`` lower corner of the input box.
        upper: ``(d,)`` upper corner (``> lower`` in every coordinate).
        dtype: the buffers' dtype.
    """

    def __init__(self, lower: torch.Tensor, upper: torch.Tensor, *, dtype: torch.dtype = torch.float32):
        super().__init__()
        lower = torch.as_tensor(lower, dtype=torch.float64).reshape(-1)
        upper = torch.as_tensor(upper, dtype=torch.float64).reshape(-1)
        if lower.shape != upper.shape or not bool((upper > lower).all()):
            raise ValueError(f"input box needs lower < upper in every coordinate, got {lower.tolist()} and "
                             f"{upper.tolist()}")
        self.center: torch.Tensor
        self.half_width: torch.Tensor
        self.register_buffer("center", ((upper + lower) / 2).to(dtype))
        self.register_buffer("half_width", ((upper - lower) / 2).to(dtype))

    @property
    def features(self) -> int:
        return self.center.numel()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.center) / self.half_width


class PeriodicEmbedding(nn.Module):
    """Each periodic scaled input ``h_j`` becomes ``cos(pi h_j)`` (in its place) and
    ``sin(pi h_j)`` (appended): ``(N, d) -> (N, d + p)``.  A network of these features is exactly
    periodic in ``x_j``, with the box's length as period, in value and every derivative.

    Args:
        indices: the periodic coordinates, each in ``0 .. d - 1``.
        features: ``d``, the number of inputs.
    """

    def __init__(self, indices: Sequence[int], *, features: int):
        super().__init__()
        indices = tuple(sorted(set(int(i) for i in indices)))
        if any(i < 0 or i >= features for i in indices):
            raise ValueError(f"periodic coordinate indices must lie in 0..{features - 1}, got {list(indices)}")
        self.indices = indices
        self.inputs, self.features = features, features + len(indices)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        cols = list(h.unbind(-1))
        extra = []
        for j in self.indices:
            angle = torch.pi * cols[j]
            cols[j] = torch.cos(angle)
            extra.append(torch.sin(angle))
        return torch.stack(cols + extra, dim=-1)


class FourierFeatures(nn.Module):
    """Random Fourier features joined to the inputs: ``h -> [h, cos(pi h B), sin(pi h B)]``,
    ``(N, n) -> (N, n + 2 m)``, with ``B`` drawn once from ``N(0, scale^2)`` (Tancik et al. 2020;
    Wang, Wang & Perdikaris 2021).

    Args:
        count: ``m``, the number of feature pairs (> 0).
        features: ``n``, the number of inputs.
        scale: the standard deviation of ``B``'s entries, one number or one per input (>= 0, not all 0).
        generator: the random source for ``B``.
        dtype: ``B``'s dtype.
    """

    def __init__(self, count: int, *, features: int, scale: float | Sequence[float] = 1.0,
                 generator: torch.Generator, dtype: torch.dtype = torch.float32):
        super().__init__()
        positive_int("fourier_features", count)
        std = _fourier_scale(scale, features)
        self.b: torch.Tensor
        b = torch.randn(features, count, generator=generator, dtype=torch.float64) * std[:, None]
        self.register_buffer("b", b.to(dtype))
        self.inputs, self.features = features, features + 2 * count

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        z = torch.pi * (h @ self.b)
        return torch.cat([h, torch.cos(z), torch.sin(z)], dim=-1)


class PlainTrunk(nn.Module):
    """``depth`` hidden layers of ``width`` and a linear output layer:
    ``h_{k+1} = s_k(h_k W_k + b_k)``, ``(N, features) -> (N, outputs)``.

    Args:
        features: inputs per point.
        width, depth: the hidden layers' width and number (> 0).
        outputs: values per point (> 0).
        activations: ``depth`` activation modules, one per hidden layer (:func:`activations`).
        generator: the random source of the Xavier-normal weights (biases start at 0).
        dtype: the parameters' dtype.
    """

    def __init__(self, features: int, *, width: int, depth: int, outputs: int, activations: nn.ModuleList,
                 generator: torch.Generator, dtype: torch.dtype = torch.float32):
        super().__init__()
        sizes = [features] + [width] * depth + [outputs]
        self.layers = nn.ModuleList(nn.Linear(a, b, dtype=dtype) for a, b in zip(sizes[:-1], sizes[1:]))
        self.activations = activations
        _init(self.layers, generator)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        for layer, act in zip(self.layers[:-1], self.activations):
            h = act(layer(h))
        return self.layers[-1](h)


class ModifiedTrunk(nn.Module):
    """The modified MLP of Wang, Teng & Perdikaris (2021), as jaxpi's ``ModifiedMlp``: two encoders
    ``U = s(h W_u + b_u)``, ``V = s(h W_v + b_v)`` of the input ``h``, and every hidden layer's
    output ``z_k = s(H_k W_k + b_k)`` mixed into ``H_{k+1} = (1 - z_k) U + z_k V`` (``H_0 = h``),
    which carries the input through the depth.  Arguments as :class:`PlainTrunk`'s, with
    ``depth + 2`` activations: the hidden layers' then the two encoders'.
    """

    def __init__(self, features: int, *, width: int, depth: int, outputs: int, activations: nn.ModuleList,
                 generator: torch.Generator, dtype: torch.dtype = torch.float32):
        super().__init__()
        sizes = [features] + [width] * depth + [outputs]
        self.layers = nn.ModuleList(nn.Linear(a, b, dtype=dtype) for a, b in zip(sizes[:-1], sizes[1:]))
        self.encoders = nn.ModuleList(nn.Linear(features, width, dtype=dtype) for _ in range(2))
        self.activations = activations
        _init([*self.layers, *self.encoders], generator)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        u, v = (act(e(h)) for e, act in zip(self.encoders, self.activations[-2:]))
        for layer, act in zip(self.layers[:-1], self.activations):
            z = act(layer(h))
            h = u + z * (v - u)  # (1 - z) u + z v
        return self.layers[-1](h)


def activations(name: str, *, count: int, adaptive: str = "none", scale: float = 10.0,
                dtype: torch.dtype = torch.float32) -> nn.ModuleList:
    """``count`` activation modules, for the hidden layers then any encoders: one shared
    parameter-free module (``adaptive="none"``), one shared adaptive module (``"global"``, GAAF),
    or ``count`` adaptive ones (``"layer"``, LAAF; Jagtap et al. 2020), each ``f(scale a x)``
    with its slope ``a`` starting at ``1 / scale`` (see :mod:`pinn.nets.adaptive_activations`)."""
    if adaptive == "none":
        shared = get_activation(name)
        return nn.ModuleList([shared] * count)
    choice("adaptive", adaptive, ("none", "global", "layer"), hint="(e.g. model.adaptive=layer)")
    if name not in ADAPTIVE:
        raise ValueError(f"activation {name!r} has no adaptive form; adaptive activations exist for "
                         f"{', '.join(sorted(ADAPTIVE))} (e.g. model.activation=tanh)")
    if adaptive == "global":
        return nn.ModuleList([ADAPTIVE[name](scale=scale, dtype=dtype)] * count)
    return nn.ModuleList(ADAPTIVE[name](scale=scale, dtype=dtype) for _ in range(count))


def _init(layers, generator: torch.Generator) -> None:
    """Xavier-normal weights from ``generator``, in order; zero biases."""
    with torch.no_grad():
        for layer in layers:
            nn.init.xavier_normal_(layer.weight, generator=generator)
            layer.bias.zero_()


def _fourier_scale(scale, n_in: int) -> torch.Tensor:
    """``model.fourier_scale`` as an ``(n_in,)`` float64 tensor, checked."""
    values = [scale] if isinstance(scale, (int, float)) else list(scale)
    ok = all(not isinstance(v, bool) and isinstance(v, (int, float)) and 0 <= v < math.inf for v in values)
    if not ok or not any(v > 0 for v in values) or len(values) not in (1, n_in):
        raise ValueError(f"fourier_scale must be a finite number > 0, or {n_in} numbers >= 0 (one per network "
                         f"input) not all 0, got {scale!r}")
    return torch.tensor(values * (n_in if len(values) == 1 else 1), dtype=torch.float64)
