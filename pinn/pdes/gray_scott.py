"""Gray-Scott (PINNacle's GS): a reaction-diffusion pair over a long time, periodic in x and y.

    u_t = eps_u Lap(u) + b (1 - u) - u v^2,   v_t = eps_v Lap(v) - d v + u v^2,
    on [-1, 1]^2 (periodic), t in [0, 200],   eps_u = 1e-5, eps_v = 5e-6, b = 0.04, d = 0.1,
    u(x, y, 0) = 1 - exp(-80 ((x + 0.05)^2 + (y + 0.02)^2)),  v(x, y, 0) = exp(-80 ((x - 0.05)^2 + (y - 0.02)^2)).

PINNacle's file is lost and its code states no boundary condition; its reference was presumably
periodic, as here.  Ours is our own 2-D ETDRK4 Fourier solve (:func:`pinn.pdes._spectral.solve_gs`;
``tests/test_gray_scott.py`` for its convergence), computed on first use and cached in the user's
cache directory; runs are scored at its nodes (every fourth grid point, every snapshot).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pinn.pdes import _spectral
from pinn.pdes._cache import cache_dir, cached_arrays
from pinn.pdes.base import PDE
from pinn.physics.constraints import time_factor
from pinn.physics.domains import Domain
from pinn.physics.terms import Term

__all__ = ["GrayScott", "load_reference"]

#: The reference's resolution: 256 x 256 modes (256 and 512 agree to 6.8e-6 in u, 1.7e-4 in v),
#: steps of 0.5, 40 snapshots.
MODES, STEPS_PER_SAVE, SAVES = 256, 10, 40


def load_reference(path: Path | None = None) -> dict[str, np.ndarray]:
    """``{"x", "t", "u", "v"}`` of the spectral reference (PINNacle's coefficients), computed and cached."""
    path = Path(path) if path is not None else cache_dir() / "gray_scott.npz"
    return cached_arrays(path, lambda: dict(zip(("x", "t", "u", "v"),
                                                _spectral.solve_gs(MODES, STEPS_PER_SAVE, saves=SAVES))))


class GrayScott(PDE):
    """PINNacle's GS, periodic in x and y through the network's embedding.

    Args:
        t: the time interval, ``[0, T]`` with ``T <= 200`` (scored on the snapshots inside it).
    """

    name = "gray_scott"
    fields = ("u", "v")
    equations = ("gs_u", "gs_v")
    residual_fields = ("u", "v", "u_t", "v_t", "u_xx", "u_yy", "v_xx", "v_yy")
    hard_terms = ("initial_u", "initial_v")
    eps = (1e-5, 5e-6)
    feed, kill = 0.04, 0.1

    def __init__(self, *, t=(0.0, 200.0)):
        t0, t1 = (float(v) for v in t)
        if t0 != 0.0 or not 0.0 < t1 <= 200.0:
            raise ValueError(f"t must be [0, T] with 0 < T <= 200 (the reference's interval), got [{t0}, {t1}]")
        self.domain = Domain({"x": (-1.0, 1.0), "y": (-1.0, 1.0)}, (t0, t1))
        self.periodic = ("x", "y")
        self._nodes = None

    @staticmethod
    def initial_values(x, y):
        xp = torch if isinstance(x, torch.Tensor) else np
        return (1 - xp.exp(-80 * ((x + 0.05) ** 2 + (y + 0.02) ** 2)),
                xp.exp(-80 * ((x - 0.05) ** 2 + (y - 0.02) ** 2)))

    def residual(self, f, c):
        uvv = f["u"] * f["v"] ** 2
        return {"gs_u": f["u_t"] - self.eps[0] * (f["u_xx"] + f["u_yy"]) - self.feed * (1 - f["u"]) + uvv,
                "gs_v": f["v_t"] - self.eps[1] * (f["v_xx"] + f["v_yy"]) + self.kill * f["v"] - uvv}

    def conditions(self) -> tuple[Term, ...]:
        return (Term("initial_u", "initial", ("u",), lambda f, c: f["u"] - self.initial_values(c["x"], c["y"])[0]),
                Term("initial_v", "initial", ("v",), lambda f, c: f["v"] - self.initial_values(c["x"], c["y"])[1]))

    def constrain(self, raw, coords):
        """``u0 + tau N_u``, ``v0 + tau N_v`` (``tau`` the time scaled to ``[0, 1]``): the initial
        values exactly."""
        tau = time_factor(self.domain, coords["t"])
        u0, v0 = self.initial_values(coords["x"], coords["y"])
        return {"u": u0 + tau * raw["u"], "v": v0 + tau * raw["v"]}

    def nodes(self):
        if self._nodes is None:
            ref = load_reference()
            keep = ref["t"] <= self.domain.upper[-1].item() + 1e-9
            x, y, t = np.meshgrid(ref["x"][::4], ref["x"][::4], ref["t"][keep], indexing="ij")
            values = np.stack([ref[f][::4, ::4][..., keep].ravel() for f in self.fields], axis=1)
            self._nodes = ({"x": x.ravel(), "y": y.ravel(), "t": t.ravel()}, values)
        return self._nodes
