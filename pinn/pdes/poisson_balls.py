"""PINNacle's Poisson3d-CG (``Poisson3D_ComplexGeometry``): a reaction-diffusion equation in a cube
with four balls cut out, two materials split at ``z = 1/2``.

    -mu Lap(u) + k^2 u = f    on [0, 1]^3 minus the balls,    du/dn = 0 on every wall,

``mu = 1`` and ``k = 8`` below ``z = 1/2``, ``k = 10`` above (``mu`` may differ too), the balls
``(0.4, 0.3, 0.6; 0.2)``, ``(0.6, 0.7, 0.6; 0.2)``, ``(0.2, 0.8, 0.7; 0.1)``, ``(0.6, 0.2, 0.3; 0.1)``,
and

    f = 20 exp(sin(pi x) + sin(10 pi y) + sin(5 pi z)) (|x|^2 - 1) / (|x|^2 + 1)
        + 100 sin(pi x) sin(10 pi y) sin(5 pi z).

The solution is the equation's only one (``k^2 > 0``): ``u`` is continuous with its flux across the
interface, where ``u``'s second derivatives jump with ``k``.  PINNacle scores it on a COMSOL
solution that its repository keeps outside git; the reference here is our own
(:func:`reference`): P2 tetrahedra conforming to the interface (:mod:`pinn.pdes._fem3d`, the
optional extra ``references``), converged by ``scripts/poisson_balls_reference.py``, computed
on first use (a few minutes) and cached in the user's cache directory.  Runs are scored at a grid
of points inside the domain (spacing ``grid``).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence

import numpy as np
import torch

from pinn.geometry.base import Geometry
from pinn.geometry.primitives import Ball, Box
from pinn.pdes._cache import cache_dir, cached_arrays
from pinn.pdes.base import PDE, positive
from pinn.physics.normals import gradient_names, normal_derivative
from pinn.physics.shape_domain import ShapeDomain
from pinn.physics.terms import Term

__all__ = ["PoissonBalls", "PINNACLE_BALLS", "reference", "source"]

#: Poisson3d-CG's balls ``(cx, cy, cz, r)``.
PINNACLE_BALLS = ((0.4, 0.3, 0.6, 0.2), (0.6, 0.7, 0.6, 0.2), (0.2, 0.8, 0.7, 0.1), (0.6, 0.2, 0.3, 0.1))
#: The interface between the two materials.
INTERFACE_Z = 0.5
#: The reference's mesh size (its convergence: scripts/poisson_balls_reference.py).
REFERENCE_H = 0.02


def source(x, y, z):
    """PINNacle's ``f`` at points ``(x, y, z)``: numpy arrays or tensors."""
    xp = torch if isinstance(x, torch.Tensor) else np
    r2 = x * x + y * y + z * z
    sx, sy, sz = xp.sin(math.pi * x), xp.sin(10 * math.pi * y), xp.sin(5 * math.pi * z)
    return 20 * xp.exp(sx + sy + sz) * (r2 - 1) / (r2 + 1) + 100 * sx * sy * sz


def _cube_minus_balls(balls: Sequence[Sequence[float]]) -> Geometry:
    cube = Box([0.0, 0.0, 0.0], [1.0, 1.0, 1.0], names=("x", "y", "z"))
    shape: Geometry = cube
    for cx, cy, cz, r in balls:
        shape = shape - Ball([cx, cy, cz], r, part="balls")
    return shape.rename({p: "outer" for p in cube.parts})


class PoissonBalls(PDE):
    """Poisson3d-CG (see the module docs).

    Args:
        k: ``k`` below and above the interface ``z = 1/2``, both > 0.
        mu: ``mu`` below and above it, both > 0.
        scaled: train on the residual divided by ``k^2``, ``-mu Lap(u) / k^2 + u - f / k^2``: the
            same solution, in units of ``u`` (``f`` reaches about 400).
        grid: the spacing of the grid of points the run is scored at.
        reference_h: the reference's mesh size (coarser ones compute in seconds, for quick checks).
    """

    name = "poisson3d_cg"
    residual_fields = ("u", "u_xx", "u_yy", "u_zz")

    def __init__(self, *, k: Sequence[float] = (8.0, 10.0), mu: Sequence[float] = (1.0, 1.0), scaled: bool = True,
                 grid: float = 0.025, reference_h: float = REFERENCE_H):
        if len(k) != 2 or len(mu) != 2:
            raise ValueError(f"k and mu take two values each (below and above z = {INTERFACE_Z}), got {list(k)} "
                             f"and {list(mu)}")
        self.k = tuple(positive("k", v) for v in k)
        self.mu = tuple(positive("mu", v) for v in mu)
        if not isinstance(scaled, bool):
            raise ValueError(f"scaled must be true or false, got {scaled!r}")
        self.scaled = scaled
        self.grid = positive("grid", grid)
        self.reference_h = positive("reference_h", reference_h)
        self.balls = PINNACLE_BALLS
        self.geometry = _cube_minus_balls(self.balls)
        self.domain = ShapeDomain(self.geometry, names=("x", "y", "z"))
        self._nodes = None

    def coefficients(self, z):
        """``(mu, k^2)`` at heights ``z``: numpy arrays or tensors."""
        xp = torch if isinstance(z, torch.Tensor) else np
        below = z < INTERFACE_Z
        return (xp.where(below, self.mu[0], self.mu[1]) + 0 * z,
                xp.where(below, self.k[0] ** 2, self.k[1] ** 2) + 0 * z)

    def residual(self, f, c):
        mu, k2 = self.coefficients(c["z"])
        r = -mu * (f["u_xx"] + f["u_yy"] + f["u_zz"]) + k2 * f["u"] - source(c["x"], c["y"], c["z"])
        return r / k2 if self.scaled else r

    def conditions(self) -> tuple[Term, ...]:
        return (Term("neumann", "boundary", ("u", *gradient_names("u", ("x", "y", "z"))),
                     lambda f, c: normal_derivative(f, c, self.domain)),)

    def scoring_points(self) -> np.ndarray:
        """``(P, 3)``: the grid of spacing ``grid`` over the cube, the points outside the balls."""
        n = int(round(1.0 / self.grid)) + 1
        axis = np.linspace(0.0, 1.0, n)
        xyz = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1).reshape(-1, 3)
        keep = np.ones(len(xyz), dtype=bool)
        for cx, cy, cz, r in self.balls:
            keep &= ((xyz - (cx, cy, cz)) ** 2).sum(axis=1) >= r * r
        return xyz[keep]

    def nodes(self):
        if self._nodes is None:
            xyz = self.scoring_points()
            u = reference(xyz, k=self.k, mu=self.mu, h=self.reference_h)
            self._nodes = ({"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]}, u)
        return self._nodes


def reference(points: np.ndarray, *, k: Sequence[float] = (8.0, 10.0), mu: Sequence[float] = (1.0, 1.0),
              h: float = REFERENCE_H) -> np.ndarray:
    """``u`` at ``points`` ``(P, 3)`` from the P2 finite-element solve on a mesh of size ``h``
    (:func:`pinn.pdes._fem3d.reaction_diffusion`), cached in the user's cache directory under a
    hash of everything it depends on."""
    points = np.ascontiguousarray(points, dtype=np.float64)
    key = json.dumps({"balls": PINNACLE_BALLS, "k": list(k), "mu": list(mu), "h": h, "interface": INTERFACE_Z,
                      "scheme": "P2 tetrahedra, v1"}, sort_keys=True).encode() + points.tobytes()
    path = cache_dir() / f"poisson3d_cg_{hashlib.sha256(key).hexdigest()[:16]}.npz"

    def compute():
        from pinn.pdes._fem3d import reaction_diffusion

        def mu_(x, y, z):
            return np.where(z < INTERFACE_Z, mu[0], mu[1])

        def kappa(x, y, z):
            return np.where(z < INTERFACE_Z, k[0] ** 2, k[1] ** 2)

        u = reaction_diffusion((0, 0, 0), (1, 1, 1), PINNACLE_BALLS, points, mu=mu_, kappa=kappa, source=source,
                               h=h, planes_z=(INTERFACE_Z,))
        return {"u": u}

    return cached_arrays(path, compute)["u"]
