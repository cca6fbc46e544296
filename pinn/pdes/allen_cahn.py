"""Allen-Cahn with periodic boundaries.

    u_t - eps u_xx + a u^3 - a u = 0,   x in [-1, 1] (periodic),   t in [0, 1]
    u(x, 0) = x^2 cos(pi x),            eps = 1e-4,  a = 5

The reference is the ETDRK4 Fourier solution of :mod:`pinn.pdes._spectral` (2048 modes,
dt = 1e-4, 201 snapshots), computed on first use (about 10 s) and cached as
``allen_cahn.npz`` in the user's cache directory (see :func:`cache_dir`).  Between nodes it
is evaluated by trigonometric interpolation in x and linear interpolation in t; it is exact
on the nodes ``x = -1 + j / 1024`` and snapshots ``t = k / 200`` (the preset's grid,
257 x 201, lies on them), and ``t = 0`` is the initial condition itself.  Only for the
default coefficients.  Being numerical data, it returns torch tensors without an autograd graph.
"""

from __future__ import annotations

from typing import Any

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from pinn.physics.constraints import time_factor
from pinn.physics.domains import Domain
from pinn.physics.terms import Term
from pinn.pdes import _spectral
from pinn.pdes._cache import cache_dir, cached_arrays, snapshot_interpolate
from pinn.pdes.base import PDE, positive

__all__ = ["AllenCahn", "cache_dir", "load_reference"]


def load_reference(path: Path | None = None) -> dict[str, np.ndarray]:
    """``{"x", "t", "u"}`` of the spectral reference, computed and cached (atomically) when missing."""
    path = Path(path) if path is not None else cache_dir() / "allen_cahn.npz"
    return cached_arrays(path, lambda: dict(zip(("x", "t", "u"), _spectral.solve())))


class AllenCahn(PDE):
    """Allen-Cahn with periodic boundaries (built into the network).

    Args:
        eps: diffusion coefficient, > 0.
        a: reaction coefficient, > 0.
    """

    name = "allen_cahn"
    residual_fields = ("u", "u_t", "u_xx")

    def __init__(self, *, eps: float = 1e-4, a: float = 5.0):
        self.eps = positive("eps", eps)
        self.a = positive("a", a)
        self.domain = Domain({"x": (-1.0, 1.0)}, (0.0, 1.0))
        self.periodic = ("x",)
        self._reference: dict[str, np.ndarray] | None = None

    def residual(self, fields, coords):
        u = fields["u"]
        return fields["u_t"] - self.eps * fields["u_xx"] + self.a * u**3 - self.a * u

    def conditions(self) -> tuple[Term, ...]:
        return (Term("initial", "initial", ("u",), lambda f, c: f["u"] - self._initial(c["x"])),)

    @staticmethod
    def _initial(x):
        return x**2 * torch.cos(torch.pi * x)

    # The optional hard constraint (hard_constraints=true): exact initial data.
    hard_terms = ("initial",)

    def constrain(self, u, coords):
        return self._initial(coords["x"]) + time_factor(self.domain, coords["t"]) * u

    def solution(self, coords: Mapping[str, Any]):
        if (self.eps, self.a) != (1e-4, 5.0):
            raise ValueError("the Allen-Cahn reference exists for eps=1e-4, a=5 only")
        if self._reference is None:  # the reference's Fourier coefficients, once per instance
            ref = load_reference()
            self._reference = {"t": ref["t"], "coef": np.fft.fft(ref["u"], axis=0) / len(ref["x"])}
        x, t = coords["x"], coords["t"]
        is_torch = isinstance(x, torch.Tensor)
        xn = np.asarray(x.detach().cpu() if is_torch else x, dtype=np.float64)
        tn = np.asarray(t.detach().cpu() if is_torch else t, dtype=np.float64)
        # snapshot 0 exactly: its kink at x = +-1 would ring
        out = np.real(snapshot_interpolate(self._reference["coef"], self._reference["t"], xn, tn, x0=-1.0,
                                           period=2.0, at_zero=lambda x: x**2 * np.cos(np.pi * x)))
        if is_torch:
            return torch.as_tensor(out, dtype=x.dtype, device=x.device)
        return out
