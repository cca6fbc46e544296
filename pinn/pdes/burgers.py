"""Viscous Burgers equation ``u_t + u u_x = nu u_xx`` with Raissi's data.

The reference solution is the Cole-Hopf transform of the heat kernel, evaluated
with Gauss-Hermite quadrature (in log space, so it holds for any ``nu > 0``).
"""

from __future__ import annotations

from typing import Any

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from pinn.physics.constraints import time_factor
from pinn.physics.domains import Domain
from pinn.physics.terms import Term
from pinn.pdes.base import PDE, _xp, positive

__all__ = ["Burgers", "gauss_hermite"]


def gauss_hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and log-weights of ``n``-point Gauss-Hermite quadrature (weight ``exp(-z^2)``).

    The nodes are the eigenvalues of the symmetric Jacobi matrix (Golub-Welsch).  The
    weights are *not* taken from its eigenvectors, which are accurate only to about
    1e-16 absolutely (the outer weights are far smaller); they come from
    ``w_i = 1 / sum_k p_k(z_i)^2`` over the orthonormal Hermite polynomials, run
    with a rescaled three-term recurrence and returned as logarithms, so no weight
    underflows or loses its relative accuracy for any ``n``.

    Returns:
        ``(nodes, log_weights)``, both of shape ``(n,)``.
    """
    if n < 1:
        raise ValueError(f"quadrature needs at least one node, got {n}")
    off = np.sqrt(np.arange(1, n) / 2.0)
    z = np.linalg.eigvalsh(np.diag(off, 1) + np.diag(off, -1))
    p_prev, p = np.zeros_like(z), np.full_like(z, math.pi**-0.25)
    total, log_scale = p * p, np.zeros_like(z)
    for k in range(n - 1):
        p_prev, p = p, math.sqrt(2.0 / (k + 1)) * z * p - math.sqrt(k / (k + 1)) * p_prev
        total = total + p * p
        big = np.abs(p) > 1e100
        if big.any():
            factor = np.where(big, np.abs(p), 1.0)
            p, p_prev, total = p / factor, p_prev / factor, total / factor**2
            log_scale = log_scale + np.log(factor)
    return z, -(np.log(total) + 2.0 * log_scale)


#: The most Gauss-Hermite nodes the reference may need (``nu / a`` of about 1e-6 on ``t`` in [0, 1]).
MAX_NODES = 100_000


def default_nodes(nu: float, t_max: float) -> int:
    """Enough Gauss-Hermite nodes for ``nu`` up to time ``t_max``.

    The log-integrand ``-z^2 - cos(pi (x - 2 sqrt(nu t) z)) / (2 pi nu)`` peaks near
    ``|z| <= sqrt(t/nu) / 2``; the nodes reach ``|z| ~ sqrt(2 n)``, so ``n`` grows
    like ``t / nu`` with a margin of eight standard deviations.
    """
    reach = 0.5 * math.sqrt(max(t_max, 0.0) / nu) + 8.0
    return max(200, math.ceil(reach * reach / 2.0))


class Burgers(PDE):
    """``u_t + a u u_x = nu u_xx`` on ``x in [-1, 1]``, ``t in [0, T]``.

    ``u(x, 0) = -sin(pi x)``, ``u(+-1, t) = 0`` (Raissi, Perdikaris & Karniadakis 2019,
    whose identification problem learns ``lambda_1 = a`` and ``lambda_2 = nu``).

    Args:
        nu: viscosity, > 0 (Raissi's value is ``0.01 / pi``).
        a: convection coefficient, > 0 (1 in the forward problem).  ``a u`` solves the
            ``a = 1`` equation with data ``-a sin(pi x)``, so the reference covers any ``a``.
        t: time interval ``[0, T]``.
        quadrature_nodes: Gauss-Hermite nodes of the reference; ``None`` picks
            enough for ``nu`` (see :func:`default_nodes`).
    """

    name = "burgers"
    residual_fields = ("u", "u_t", "u_x", "u_xx")

    def __init__(self, *, nu: float = 0.01 / math.pi, t: Sequence[float] = (0.0, 1.0),
                 quadrature_nodes: int | None = None, a: float = 1.0):
        self.nu = positive("nu", nu)
        self.a = positive("a", a)
        self.domain = Domain({"x": (-1.0, 1.0)}, t)
        if self.domain.lower[-1].item() != 0.0:
            raise ValueError(f"Burgers time must start at 0 (the initial condition is at t=0), got {list(t)}")
        if quadrature_nodes is None:
            quadrature_nodes = default_nodes(self.nu / self.a, self.domain.upper[-1].item())
            if quadrature_nodes > MAX_NODES:  # refused now, not after training, at evaluation
                raise ValueError(f"nu / a = {self.nu / self.a:.3g} is too small for the exact reference: it needs "
                                 f"{quadrature_nodes:.3g} Gauss-Hermite nodes, more than {MAX_NODES:,}; raise pde.nu "
                                 f"(or lower pde.a), e.g. pde.nu=1e-4")
        if isinstance(quadrature_nodes, bool) or not isinstance(quadrature_nodes, int) or quadrature_nodes < 2:
            raise ValueError(f"quadrature_nodes must be an integer >= 2, got {quadrature_nodes!r}")
        self.quadrature_nodes = quadrature_nodes

    def residual(self, fields, coords):
        return fields["u_t"] + self.a * fields["u"] * fields["u_x"] - self.nu * fields["u_xx"]

    def conditions(self) -> tuple[Term, ...]:
        return (
            Term("initial", "initial", ("u",), lambda f, c: f["u"] + torch.sin(math.pi * c["x"])),
            Term("boundary", "boundary", ("u",), lambda f, c: f["u"]),
        )

    hard_terms = ("initial", "boundary")

    def constrain(self, u, coords):
        """``-sin(pi x) + tau (1 - x^2) u``: the initial and boundary conditions hold exactly."""
        x = coords["x"]
        return -torch.sin(math.pi * x) + time_factor(self.domain, coords["t"]) * (1 - x * x) * u

    def solution(self, coords: Mapping[str, Any], *, chunk: int = 16384):
        x, t = coords["x"], coords["t"]
        xp = _xp(x)
        if xp is np:
            x, t = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(t, dtype=np.float64))
            flat_x, flat_t = x.reshape(-1), t.reshape(-1)
            out = np.concatenate(
                [self._cole_hopf(flat_x[i : i + chunk], flat_t[i : i + chunk]) for i in range(0, flat_x.size, chunk)]
                or [np.empty(0)]
            )
            return out.reshape(x.shape)
        return self._cole_hopf(x, t)

    def _cole_hopf(self, x, t):
        # u = -sum w_i sin(pi y_i) f(y_i) / sum w_i f(y_i),  y_i = x - 2 sqrt(nu t) z_i,
        # log f(y) = -a cos(pi y) / (2 pi nu); the largest exponent is subtracted first.
        xp = _xp(x)
        nodes, log_w = gauss_hermite(self.quadrature_nodes)
        if xp is torch:
            nodes = torch.as_tensor(nodes, dtype=x.dtype, device=x.device)
            log_w = torch.as_tensor(log_w, dtype=x.dtype, device=x.device)
        y = x[..., None] - 2.0 * xp.sqrt(self.nu * t[..., None]) * nodes
        expo = log_w - self.a * xp.cos(math.pi * y) / (2.0 * math.pi * self.nu)
        if xp is torch:
            expo = expo - expo.detach().amax(-1, keepdim=True)
        else:
            expo = expo - expo.max(-1, keepdims=True)
        f = xp.exp(expo)
        return -(xp.sin(math.pi * y) * f).sum(-1) / f.sum(-1)
