"""Poisson2d-MS (PINNacle's ``Poisson2D_ManyArea``) in the divergence form its reference solves:

    div(a grad u) + f = 0   on [-10, 10]^2,   du/dn = -u on the boundary,

with ``a`` constant on each of 5 x 5 blocks (side 4; values 0.13 to 87.9 from
``poisson_a_coef.dat``) and ``f = c00 + c11 sin(pi r_x / 4) sin(pi r_y / 4)`` on each block
(``r`` the position inside the block; ``poisson_f_coef.dat``), both shipped.  PINNacle's code
trains the strong form ``a Lap(u) + f``, which drops the flux's continuity across the blocks'
edges (an outside check found it about 1.45 from the reference, the divergence form 1.0e-2).

PINNacle's reference table is not shared; ours is our own finite-volume solve
(:func:`finite_volumes`: cell-centred, harmonic-mean faces, the Robin condition through a
half-cell, conjugate gradients in numpy: no extra dependency), computed on first use and cached
in the user's cache directory; runs are scored at its cell centres (every other one).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from pinn.core.checks import positive_int
from pinn.pdes._cache import cache_dir, cached_arrays
from pinn.pdes._reference import DATA
from pinn.pdes.base import PDE
from pinn.physics.domains import Domain
from pinn.physics.grid_field import GridField
from pinn.physics.normals import gradient_names, normal_derivative
from pinn.physics.terms import Term

__all__ = ["PoissonManyArea", "block_coefficients", "finite_volumes"]

BOX, SPLIT = 10.0, 5
#: The reference's resolution: cells per side (a multiple of 5, so that no cell straddles two blocks).
REFERENCE_CELLS = 400


def block_coefficients() -> tuple[np.ndarray, np.ndarray]:
    """PINNacle's ``a`` (5 x 5, indexed ``[x block, y block]``) and ``f`` coefficients
    (5 x 5 x 2 x 2; ``f = c[0, 0] + c[1, 1] sin(pi r_x / h) sin(pi r_y / h)``)."""
    a = np.loadtxt(DATA / "poisson_a_coef.dat")
    f = np.loadtxt(DATA / "poisson_f_coef.dat").reshape(SPLIT, SPLIT, 2, 2)
    return a, f


def _blocks(x, y):
    """Block indices and the position inside the block, PINNacle's way (a point on an edge goes to
    the block after it)."""
    size = (2 * BOX + 2e-5) / SPLIT
    xp = torch if isinstance(x, torch.Tensor) else np
    rx, ry = x + BOX + 1e-5, y + BOX + 1e-5
    i, j = xp.floor(rx / size), xp.floor(ry / size)
    return i, j, rx - i * size, ry - j * size, size


def source(x, y, f_coef: np.ndarray | torch.Tensor):
    """``f`` at the points ``(x, y)``: numpy arrays or tensors."""
    i, j, rx, ry, size = _blocks(x, y)
    if isinstance(x, torch.Tensor):
        # a tensor held by the PDE, not a numpy array: a compiled step cannot guard on from_numpy
        c = (f_coef if isinstance(f_coef, torch.Tensor) else torch.from_numpy(f_coef)).to(x)
        ii, jj = i.long().clamp(0, SPLIT - 1), j.long().clamp(0, SPLIT - 1)
        c00, c11 = c[ii, jj, 0, 0], c[ii, jj, 1, 1]
        return c00 + c11 * torch.sin(math.pi * rx / size) * torch.sin(math.pi * ry / size)
    ii, jj = np.clip(i.astype(int), 0, SPLIT - 1), np.clip(j.astype(int), 0, SPLIT - 1)
    return f_coef[ii, jj, 0, 0] + f_coef[ii, jj, 1, 1] * np.sin(np.pi * rx / size) * np.sin(np.pi * ry / size)


class PoissonManyArea(PDE):
    """Poisson2d-MS in divergence form.

    Args:
        resolution: nodes per side of the grid that carries ``a`` to the network (cell centres
            of a uniform grid; a multiple of 5, so that the blocks' edges fall midway between nodes).
        smoothing: the Gaussian smoothing of ``a`` on that grid, in grid spacings (0: its bilinear
            interpolant only, which ramps across one spacing at each edge).
        divided: train on the residual divided by ``a``, ``Lap(u) + grad(a) . grad(u) / a + f / a``:
            the same solution, but each block's residual in units of ``u``'s curvature, where the
            undivided one weighs the blocks by ``a^2`` (0.13 to 87.9: the blocks of small ``a``,
            where ``u`` is largest, drop out of the loss).
    """

    name = "poisson2d_ms"
    residual_fields = ("u_x", "u_y", "u_xx", "u_yy")

    def __init__(self, *, resolution: int = 200, smoothing: float = 0.0, divided: bool = True):
        positive_int("resolution", resolution)
        if resolution % SPLIT:
            raise ValueError(f"resolution must be a multiple of {SPLIT} (the blocks' edges fall between nodes), "
                             f"got {resolution}")
        self.a_coef, self.f_coef = block_coefficients()
        self._f_table = torch.from_numpy(self.f_coef)
        if not isinstance(divided, bool):
            raise ValueError(f"divided must be true or false, got {divided!r}")
        self.divided = divided
        h = 2 * BOX / resolution
        centres = -BOX + h * (np.arange(resolution) + 0.5)
        gx, gy = np.meshgrid(centres, centres, indexing="ij")
        i, j, *_ = _blocks(gx, gy)
        values = self.a_coef[i.astype(int), j.astype(int)]
        self.coefficient = GridField(values, (centres[0], centres[0]), (centres[-1], centres[-1]), smoothing=smoothing)
        self.domain = Domain({"x": (-BOX, BOX), "y": (-BOX, BOX)})
        self._nodes = None

    def residual(self, f, c):
        a, a_x, a_y = self.coefficient(c["x"], c["y"])
        f_ = source(c["x"], c["y"], self._f_table)
        if self.divided:
            return f["u_xx"] + f["u_yy"] + (a_x * f["u_x"] + a_y * f["u_y"] + f_) / a
        return a * (f["u_xx"] + f["u_yy"]) + a_x * f["u_x"] + a_y * f["u_y"] + f_

    def conditions(self) -> tuple[Term, ...]:
        return (Term("robin", "boundary", ("u", *gradient_names("u", ("x", "y"))),
                     lambda f, c: normal_derivative(f, c, self.domain) + f["u"]),)

    def nodes(self):
        if self._nodes is None:
            ref = load_reference()
            x, y = np.meshgrid(ref["x"][::2], ref["x"][::2], indexing="ij")
            self._nodes = ({"x": x.ravel(), "y": y.ravel()}, ref["u"][::2, ::2].ravel())
        return self._nodes


def load_reference(path: Path | None = None) -> dict[str, np.ndarray]:
    """``{"x", "u"}``: the finite-volume reference at the cell centres, computed and cached."""
    path = Path(path) if path is not None else cache_dir() / f"poisson2d_ms_{REFERENCE_CELLS}.npz"

    def compute():
        x, u = finite_volumes(cells=REFERENCE_CELLS)
        return {"x": x, "u": u}

    return cached_arrays(path, compute)


def finite_volumes(*, cells: int = REFERENCE_CELLS, rtol: float = 1e-11,
                   max_iterations: int = 200_000) -> tuple[np.ndarray, np.ndarray]:
    """``div(a grad u) + f = 0`` with ``du/dn = -u`` on ``cells x cells`` cells: ``a`` and ``f``
    at the cell centres, the harmonic mean of two cells' ``a`` on the face between them, the
    boundary value from the Robin condition across half a cell; the symmetric positive definite
    system solved by conjugate gradients with a diagonal preconditioner.

    Returns:
        ``(centres, u)``: the cell centres ``(cells,)`` (the same along x and y) and ``u``
        ``(cells, cells)``, indexed ``[x, y]``.
    """
    positive_int("cells", cells)
    if cells % SPLIT:
        raise ValueError(f"cells must be a multiple of {SPLIT}, got {cells}")
    a_coef, f_coef = block_coefficients()
    h = 2 * BOX / cells
    centres = -BOX + h * (np.arange(cells) + 0.5)
    gx, gy = np.meshgrid(centres, centres, indexing="ij")
    i, j, *_ = _blocks(gx, gy)
    a = a_coef[i.astype(int), j.astype(int)]
    rhs = source(gx, gy, f_coef) * h * h
    ax = 2 * a[1:] * a[:-1] / (a[1:] + a[:-1])  # faces between x-neighbours, (cells - 1, cells)
    ay = 2 * a[:, 1:] * a[:, :-1] / (a[:, 1:] + a[:, :-1])
    # a boundary face: a du/dn h = -a u_b h, u_b = u_c / (1 + h/2) from (u_b - u_c) / (h/2) = -u_b
    wall = a * h / (1 + h / 2)
    diagonal = np.zeros_like(a)
    diagonal[1:] += ax
    diagonal[:-1] += ax
    diagonal[:, 1:] += ay
    diagonal[:, :-1] += ay
    for side in (np.s_[0, :], np.s_[-1, :], np.s_[:, 0], np.s_[:, -1]):
        diagonal[side] += wall[side]

    def apply(u):
        out = diagonal * u
        out[1:] -= ax * u[:-1]
        out[:-1] -= ax * u[1:]
        out[:, 1:] -= ay * u[:, :-1]
        out[:, :-1] -= ay * u[:, 1:]
        return out

    u = np.zeros_like(a)
    r = rhs - apply(u)
    z = r / diagonal
    p = z.copy()
    rz = float((r * z).sum())
    stop = rtol * float(np.linalg.norm(rhs))
    for _ in range(max_iterations):
        q = apply(p)
        alpha = rz / float((p * q).sum())
        u += alpha * p
        r -= alpha * q
        if float(np.linalg.norm(r)) < stop:
            break
        z = r / diagonal
        rz, rz_old = float((r * z).sum()), rz
        p = z + (rz / rz_old) * p
    else:
        raise RuntimeError(f"conjugate gradients did not converge in {max_iterations} iterations")
    return centres, u
