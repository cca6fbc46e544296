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

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from pinn.io import files as io
from pinn.physics.constraints import time_factor
from pinn.physics.domains import Domain
from pinn.physics.terms import Term
from pinn.pdes import _spectral
from pinn.pdes.base import PDE, positive

__all__ = ["AllenCahn", "cache_dir", "load_reference"]


def cache_dir() -> Path:
    """Where computed references are kept: ``$XDG_CACHE_HOME/pinn``, else ``~/.cache/pinn``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pinn"


def load_reference(path: Path | None = None) -> dict[str, np.ndarray]:
    """``{"x", "t", "u"}`` of the spectral reference, computed and cached (atomically) when missing."""
    path = Path(path) if path is not None else cache_dir() / "allen_cahn.npz"
    if not path.exists():
        x, t, u = _spectral.solve()

        def write(tmp):
            with open(tmp, "wb") as f:
                np.savez_compressed(f, x=x, t=t, u=u)

        try:
            io.atomic_write(path, write)
        except OSError:  # a read-only home: use it uncached
            return {"x": x, "t": t, "u": u}
    with np.load(path) as f:
        return {k: f[k] for k in ("x", "t", "u")}


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
        self._reference = None

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

    def solution(self, coords: Mapping[str, object]):
        if (self.eps, self.a) != (1e-4, 5.0):
            raise ValueError("the Allen-Cahn reference exists for eps=1e-4, a=5 only")
        if self._reference is None:  # the reference's Fourier coefficients, once per instance
            ref = load_reference()
            n = len(ref["x"])
            k = np.fft.fftfreq(n, d=1.0 / n)
            k[n // 2] = 0.0  # drop the unpaired Nyquist mode
            self._reference = {"t": ref["t"], "coef": np.fft.fft(ref["u"], axis=0) / n, "k": k}
        ref = self._reference
        x, t = coords["x"], coords["t"]
        is_torch = isinstance(x, torch.Tensor)
        xn = np.asarray(x.detach().cpu() if is_torch else x, dtype=np.float64)
        tn = np.asarray(t.detach().cpu() if is_torch else t, dtype=np.float64)
        xb, tb = np.broadcast_arrays(xn, tn)
        out = np.empty(xb.shape)
        flat_x, flat_t, flat = xb.reshape(-1), tb.reshape(-1), out.reshape(-1)
        times, coef, k = ref["t"], ref["coef"], ref["k"]  # coef: (modes, snapshots)
        pos = np.clip(np.interp(flat_t, times, np.arange(len(times))), 0, len(times) - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, len(times) - 1)
        w = pos - lo
        initial = flat_x**2 * np.cos(np.pi * flat_x)  # snapshot 0 exactly: its kink at x = +-1 would ring
        for start in range(0, len(flat_x), 512):
            sl = slice(start, start + 512)
            phase = np.exp(1j * np.pi * np.outer(flat_x[sl] + 1.0, k))  # (points, modes)
            at_lo = np.real(np.einsum("pm,mp->p", phase, coef[:, lo[sl]]))
            at_hi = np.real(np.einsum("pm,mp->p", phase, coef[:, hi[sl]]))
            at_lo = np.where(lo[sl] == 0, initial[sl], at_lo)
            flat[sl] = (1 - w[sl]) * at_lo + w[sl] * at_hi
        if is_torch:
            return torch.as_tensor(out, dtype=x.dtype, device=x.device)
        return out
