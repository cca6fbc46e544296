"""Networks: a multilayer perceptron with inputs scaled to ``[-1, 1]``, optionally periodic,
with Fourier features, or in the modified form of Wang, Teng & Perdikaris."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from pinn.nets.activations import get_activation
from pinn.nets.adaptive_activations import ADAPTIVE

__all__ = ["MLP", "jet_support"]


class MLP(nn.Module):
    """Fully connected network ``R^d -> R``.

    Inputs are first mapped affinely from the box ``[lower, upper]`` to ``[-1, 1]^d``.
    A coordinate named in ``periodic`` then enters as ``(cos(pi h), sin(pi h))``: the
    network is exactly periodic in it, with the box's length as period, in value and
    in every derivative (periodic boundary conditions hold by construction).
    With ``fourier_features = m > 0`` the (embedded) inputs ``h`` are joined by ``m``
    random Fourier features ``cos(pi h B), sin(pi h B)``, with ``B`` drawn once from
    ``N(0, fourier_scale^2)`` (Tancik et al. 2020; Wang, Wang & Perdikaris 2021), which
    lets a small network represent high frequencies.
    With ``modified=True`` the hidden layers are those of the *modified MLP* of Wang, Teng &
    Perdikaris (2021): two encoders ``U = s(h W_u + b_u)``, ``V = s(h W_v + b_v)`` of the
    (embedded) input ``h``, and every hidden layer's output ``z_k = s(H_k W_k + b_k)`` is mixed into
    ``H_{k+1} = (1 - z_k) * U + z_k * V`` (``H_0 = h``), which carries the input through the depth.
    Weights get Xavier-normal initialisation from ``generator``; biases start at zero.

    Args:
        lower: ``(d,)`` lower corner of the input box.
        upper: ``(d,)`` upper corner of the input box.
        width: neurons per hidden layer (> 0).
        depth: number of hidden layers (> 0).
        activation: activation name (see :data:`pinn.nets.activations.ACTIVATIONS`).
        generator: the random source for the initial weights.
        dtype: parameter dtype.
        periodic: indices of the periodic coordinates.
        fourier_features: number of random Fourier feature pairs (0: none).
        fourier_scale: standard deviation of their frequencies, in half-periods per
            half-width of the box: one number, or one per network input (the coordinates
            in order, then the ``sin`` parts of the periodic ones), so that an input with
            a fine scale gets high frequencies and the others low or none (0).
        outputs: values per point, one per field of the PDE (the last layer's width).
        modified: use the modified MLP's gated hidden layers (plus the two encoder layers),
            as jaxpi's ``ModifiedMlp``.
        adaptive: ``"none"``; ``"global"``, one trained slope ``a`` in ``f(n a x)`` shared by every
            layer (GAAF); or ``"layer"``, one slope per hidden layer and encoder (LAAF), Jagtap et
            al. 2020 (see :mod:`pinn.nets.adaptive_activations`).
        adaptive_scale: the fixed factor ``n`` of the adaptive activations (slopes start at ``1 / n``).
    """

    def __init__(
        self,
        lower: torch.Tensor,
        upper: torch.Tensor,
        *,
        width: int = 20,
        depth: int = 8,
        activation: str = "tanh",
        generator: torch.Generator,
        dtype: torch.dtype = torch.float32,
        periodic: tuple[int, ...] = (),
        fourier_features: int = 0,
        fourier_scale: float | Sequence[float] = 1.0,
        modified: bool = False,
        outputs: int = 1,
        adaptive: str = "none",
        adaptive_scale: float = 10.0,
    ):
        super().__init__()
        for name, value in (("width", width), ("depth", depth), ("outputs", outputs)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        lower = torch.as_tensor(lower, dtype=torch.float64).reshape(-1)
        upper = torch.as_tensor(upper, dtype=torch.float64).reshape(-1)
        if lower.shape != upper.shape or not bool((upper > lower).all()):
            raise ValueError(f"input box needs lower < upper in every coordinate, got {lower.tolist()} and "
                             f"{upper.tolist()}")
        self.register_buffer("center", ((upper + lower) / 2).to(dtype))
        self.register_buffer("half_width", ((upper - lower) / 2).to(dtype))
        periodic = tuple(sorted(set(int(i) for i in periodic)))
        if any(i < 0 or i >= lower.numel() for i in periodic):
            raise ValueError(f"periodic coordinate indices must lie in 0..{lower.numel() - 1}, got {list(periodic)}")
        self.periodic = periodic
        if isinstance(fourier_features, bool) or not isinstance(fourier_features, int) or fourier_features < 0:
            raise ValueError(f"fourier_features must be an integer >= 0, got {fourier_features!r}")
        n_in = lower.numel() + len(periodic)
        scale = _fourier_scale(fourier_scale, n_in)
        if fourier_features:
            b = torch.randn(n_in, fourier_features, generator=generator, dtype=torch.float64) * scale[:, None]
            self.register_buffer("fourier_b", b.to(dtype))
        else:
            self.fourier_b = None
        if not isinstance(modified, bool):
            raise ValueError(f"modified must be true or false, got {modified!r}")
        sizes = [n_in + 2 * fourier_features] + [width] * depth + [outputs]
        self.layers = nn.ModuleList(nn.Linear(a, b, dtype=dtype) for a, b in zip(sizes[:-1], sizes[1:]))
        self.encoders = nn.ModuleList(nn.Linear(sizes[0], width, dtype=dtype) for _ in range(2)) if modified else None
        self.activations = _activations(activation, adaptive, adaptive_scale, depth + 2 * modified, dtype)
        with torch.no_grad():
            for layer in [*self.layers, *(self.encoders or ())]:
                nn.init.xavier_normal_(layer.weight, generator=generator)
                layer.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, d) -> (N, outputs)``."""
        h = (x - self.center) / self.half_width  # type: ignore[operator]
        if self.periodic:
            h = self.embed(h)
        if self.fourier_b is not None:
            z = torch.pi * (h @ self.fourier_b)
            h = torch.cat([h, torch.cos(z), torch.sin(z)], dim=-1)
        if self.encoders is not None:
            return self._modified(h)
        for layer, act in zip(self.layers[:-1], self.activations):
            h = act(layer(h))
        return self.layers[-1](h)

    @property
    def modified(self) -> bool:
        return self.encoders is not None

    def _modified(self, h: torch.Tensor) -> torch.Tensor:
        u, v = (act(e(h)) for e, act in zip(self.encoders, self.activations[-2:]))  # type: ignore[arg-type]
        for layer, act in zip(self.layers[:-1], self.activations):
            z = act(layer(h))
            h = u + z * (v - u)  # (1 - z) u + z v
        return self.layers[-1](h)

    def embed(self, h: torch.Tensor) -> torch.Tensor:
        """``(N, d)`` scaled inputs to ``(N, d + p)`` features: each periodic ``h_j`` becomes
        ``cos(pi h_j)`` (in its place) and ``sin(pi h_j)`` (appended)."""
        cols = list(h.unbind(-1))
        extra = []
        for j in self.periodic:
            angle = torch.pi * cols[j]
            cols[j] = torch.cos(angle)
            extra.append(torch.sin(angle))
        return torch.stack(cols + extra, dim=-1)


def _activations(name: str, adaptive: str, scale: float, count: int, dtype: torch.dtype) -> nn.ModuleList:
    """The ``count`` activations, in order of the hidden layers then the encoders: one shared
    parameter-free module, one shared adaptive module (global), or ``count`` adaptive ones (layer)."""
    if adaptive == "none":
        shared = get_activation(name)
        return nn.ModuleList([shared] * count)
    if adaptive not in ("global", "layer"):
        raise ValueError(f"adaptive must be one of: none, global, layer (e.g. model.adaptive=layer), got {adaptive!r}")
    if name not in ADAPTIVE:
        raise ValueError(f"activation {name!r} has no adaptive form; adaptive activations exist for "
                         f"{', '.join(sorted(ADAPTIVE))} (e.g. model.activation=tanh)")
    if adaptive == "global":
        return nn.ModuleList([ADAPTIVE[name](scale=scale, dtype=dtype)] * count)
    return nn.ModuleList(ADAPTIVE[name](scale=scale, dtype=dtype) for _ in range(count))


def _fourier_scale(scale, n_in: int) -> torch.Tensor:
    """``model.fourier_scale`` as an ``(n_in,)`` float64 tensor, checked."""
    values = [scale] if isinstance(scale, (int, float)) else list(scale)
    ok = all(not isinstance(v, bool) and isinstance(v, (int, float)) and 0 <= v < math.inf for v in values)
    if not ok or not any(v > 0 for v in values) or len(values) not in (1, n_in):
        raise ValueError(f"fourier_scale must be a finite number > 0, or {n_in} numbers >= 0 (one per network "
                         f"input) not all 0, got {scale!r}")
    return torch.tensor(values * (n_in if len(values) == 1 else 1), dtype=torch.float64)


def jet_support(model) -> str | None:
    """Why the jet engines (``derivatives=taylor`` and ``fused``: input derivatives pushed forward
    through the layers, :mod:`pinn.diff.jets`) cannot differentiate ``model``, or ``None`` if they
    can: the one answer to "what can the fast engines do with this network".  They need a plain
    :class:`MLP` itself (not wrapped by a hard constraint or learned coefficients) with affine inputs
    (no periodic embedding, Fourier features or modified layers)."""
    if type(model) is not MLP:
        return (f"a plain MLP (pinn.MLP itself), got {type(model).__name__} (a network wrapped by a hard "
                f"constraint or learned coefficients is not one)")
    has = (("Fourier features", model.fourier_b is not None), ("modified layers", model.modified),
           ("periodic inputs", bool(model.periodic)))
    parts = [name for name, on in has if on]
    if parts:
        return f"a plain MLP with affine inputs; this one has {' and '.join(parts)}"
    return None
