"""Heat2d-VC (PINNacle): heat with a coefficient that jumps between two materials, in the
divergence form COMSOL solved.

    u_t = div(a grad u) + 200 sin(pi x) sin(5 pi y) sin(pi t)   on [0, 1]^2 x [0, 5],
    u = 0 at t = 0 and on the walls,

with ``a`` in {1, 2} from PINNacle's 256 x 256 grid (``heat_2d_coef_256``, shipped as a compact
``.npz``).  PINNacle's code trains the strong form ``a (u_xx + u_yy)``, which has no flux
continuity across the material interfaces: its exact solution is 0.21 from the COMSOL table, the
best published figure (0.212).  Here the residual is the divergence form,
``a (u_xx + u_yy) + a_x u_x + a_y u_y``, with ``a`` the bilinear interpolant of the grid
(optionally smoothed, ``smoothing``; :class:`~pinn.physics.grid_field.GridField`), whose gradient
carries the interfaces' flux condition.

The reference is PINNacle's COMSOL table (``heat_darcy.dat``: 983 nodes x 51 snapshots, shipped);
:func:`finite_volumes` is our own independent solve (scipy, ``pip install -e '.[references]'``),
checked against it in ``tests/test_heat_vc.py``.
"""

from __future__ import annotations

import math

import numpy as np

from pinn.core.checks import choice
from pinn.pdes._reference import DATA, packaged_nodes, reference_path
from pinn.pdes.base import PDE, _xp
from pinn.physics.constraints import box_factor, time_factor
from pinn.physics.domains import Domain
from pinn.physics.grid_field import GridField
from pinn.physics.terms import Term

__all__ = ["HeatVaryingCoef", "at_points", "finite_volumes"]

COEFFICIENT = DATA / "heat_2d_coef_256.npz"


class HeatVaryingCoef(PDE):
    """Heat2d-VC in divergence form.

    Args:
        coefficient: a path to the coefficient grid (an ``x y a`` table or an ``.npz``), or
            ``None`` for PINNacle's (shipped).
        smoothing: the Gaussian smoothing of ``a``, in grid spacings (0: the bilinear interpolant only).
        t: the time interval (the shipped reference covers ``[0, 5]``; a shorter one is scored on
            the snapshots inside it).
        reference: a path to a reference table, or ``None`` for the shipped one.
    """

    name = "heat2d_vc"
    residual_fields = ("u_t", "u_x", "u_y", "u_xx", "u_yy")
    hard_terms = ("initial", "boundary")

    def __init__(self, *, coefficient: str | None = None, smoothing: float = 0.0, t=(0.0, 5.0),
                 reference: str | None = None):
        t0, t1 = (float(v) for v in t)
        if reference is None and (t0 != 0.0 or not 0.0 < t1 <= 5.0):
            raise ValueError(f"the shipped reference covers t in [0, 5]; got t = [{t0}, {t1}]: give "
                             f"pde.reference=PATH to a table for this interval")
        path = COEFFICIENT if coefficient is None else reference_path(coefficient)
        self.coefficient = GridField.from_table(path, smoothing=smoothing)  # type: ignore[arg-type]
        self.domain = Domain({"x": (0.0, 1.0), "y": (0.0, 1.0)}, (t0, t1))
        self.reference = reference_path(reference)
        self._nodes = None

    @staticmethod
    def source(x, y, t):
        """``200 sin(pi x) sin(5 pi y) sin(pi t)``."""
        xp = _xp(x)
        return 200 * xp.sin(math.pi * x) * xp.sin(5 * math.pi * y) * xp.sin(math.pi * t)

    def residual(self, f, c):
        a, a_x, a_y = self.coefficient(c["x"], c["y"])
        flux = a * (f["u_xx"] + f["u_yy"]) + a_x * f["u_x"] + a_y * f["u_y"]
        return f["u_t"] - flux - self.source(c["x"], c["y"], c["t"])

    def conditions(self) -> tuple[Term, ...]:
        return (
            Term("initial", "initial", ("u",), lambda f, c: f["u"]),
            Term("boundary", "boundary", ("u",), lambda f, c: f["u"]),
        )

    def constrain(self, u, coords):
        """``tau B u`` (``tau`` the time scaled to ``[0, 1]``, ``B = 16 x (1 - x) y (1 - y)``): the
        initial and wall values hold exactly."""
        tau = time_factor(self.domain, coords["t"])
        return tau * box_factor(self.domain, coords, ("x", "y")) * u

    def nodes(self):
        if self._nodes is None:
            cols, values = packaged_nodes("heat_darcy.dat", self.domain.coordinates, self.fields,
                                          path=self.reference, time_name="t")
            keep = cols["t"] <= self.domain.upper[-1].item() + 1e-9
            self._nodes = ({c: v[keep] for c, v in cols.items()}, values[keep])
        return self._nodes


def finite_volumes(field: GridField, *, cells: int = 256, dt: float = 0.01, t_end: float = 5.0,
                   every: float = 0.1, form: str = "divergence") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An independent reference for :class:`HeatVaryingCoef`: cell-centred finite volumes of
    ``u_t = div(a grad u) + f`` on ``cells x cells`` cells, ``a`` the grid's nearest value at each
    cell centre (PINNacle's lookup) and the harmonic mean of two cells' ``a`` on the face between
    them (flux continuity), ``u = 0`` on the walls, Crank-Nicolson in time (one sparse LU).

    Args:
        field: the coefficient.
        cells: cells per side.
        dt: the time step (``every`` must be a whole multiple of it).
        t_end: the final time.
        every: the spacing of the snapshots returned.
        form: ``"divergence"``, or ``"strong"``: ``a Laplace(u)`` with each cell's own ``a`` on all
            its faces (the form PINNacle's code trains, for comparison: no flux continuity).

    Returns:
        ``(centres, times, u)``: the cell centres ``(cells,)`` (the same along x and y), the
        snapshot times ``(T,)`` and ``u`` of shape ``(T, cells, cells)``, indexed ``[t, x, y]``.

    Raises:
        ImportError: without scipy (``pip install -e '.[references]'``).
    """
    try:
        from scipy.sparse import coo_matrix, identity
        from scipy.sparse.linalg import splu
    except ImportError as err:  # pragma: no cover - scipy is in the dev and references extras
        raise ImportError("the finite-volume reference needs scipy: pip install -e '.[references]'") from err
    per = round(every / dt)
    if per < 1 or not math.isclose(per * dt, every):
        raise ValueError(f"every = {every} must be a whole multiple of dt = {dt}")
    h = 1.0 / cells
    centres = (np.arange(cells) + 0.5) * h
    x, y = np.meshgrid(centres, centres, indexing="ij")
    a = np.asarray(field.nearest(x, y), dtype=np.float64)
    choice("form", form, ("divergence", "strong"))
    strong = form == "strong"
    # face coefficients: harmonic means inside, the cell's own on a wall (whose ghost value is -u)
    ax = np.empty((cells + 1, cells))
    ax[1:-1] = 1.0 if strong else 2 * a[1:] * a[:-1] / (a[1:] + a[:-1])
    ax[0], ax[-1] = (2.0, 2.0) if strong else (2 * a[0], 2 * a[-1])  # half a cell to the wall: twice the conductance
    ay = np.empty((cells, cells + 1))
    ay[:, 1:-1] = 1.0 if strong else 2 * a[:, 1:] * a[:, :-1] / (a[:, 1:] + a[:, :-1])
    ay[:, 0], ay[:, -1] = (2.0, 2.0) if strong else (2 * a[:, 0], 2 * a[:, -1])
    own = a.ravel() if strong else 1.0  # the strong form scales each cell's row by its own a
    n = cells * cells
    index = np.arange(n).reshape(cells, cells)
    diagonal = -(ax[:-1] + ax[1:] + ay[:, :-1] + ay[:, 1:]).ravel() / h**2 * own
    rows, cols, vals = [index.ravel()], [index.ravel()], [diagonal]
    for (ri, ci, v) in ((index[1:], index[:-1], ax[1:-1]), (index[:-1], index[1:], ax[1:-1]),
                        (index[:, 1:], index[:, :-1], ay[:, 1:-1]), (index[:, :-1], index[:, 1:], ay[:, 1:-1])):
        rows.append(ri.ravel())
        cols.append(ci.ravel())
        vals.append(v.ravel() / h**2 * (a[ri.ravel() // cells, ri.ravel() % cells] if strong else 1.0))
    lap = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)).tocsc()
    eye = identity(n, format="csc")
    solve = splu((eye - dt / 2 * lap).tocsc()).solve
    explicit = (eye + dt / 2 * lap).tocsr()
    shape = (200 * np.sin(math.pi * x) * np.sin(5 * math.pi * y)).ravel()
    u = np.zeros(n)
    snapshots, t = [u.reshape(cells, cells).copy()], 0.0
    for _ in range(round(t_end / every)):
        for _ in range(per):
            forcing = shape * (dt / 2) * (math.sin(math.pi * t) + math.sin(math.pi * (t + dt)))
            u = solve(explicit @ u + forcing)
            t += dt
        snapshots.append(u.reshape(cells, cells).copy())
    return centres, np.linspace(0.0, round(t_end / every) * every, len(snapshots)), np.stack(snapshots)


def at_points(centres: np.ndarray, u: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear interpolation of cell-centred values ``u`` (``(..., cells, cells)``) at the points
    ``(x, y)`` (``(M,)`` each), with ``u = 0`` on the walls: ``(..., M)``."""
    grid = np.concatenate([[0.0], centres, [1.0]])
    padded = np.zeros(u.shape[:-2] + (len(grid), len(grid)))
    padded[..., 1:-1, 1:-1] = u
    i = np.clip(np.searchsorted(grid, x, side="right") - 1, 0, len(grid) - 2)
    j = np.clip(np.searchsorted(grid, y, side="right") - 1, 0, len(grid) - 2)
    fx = (x - grid[i]) / (grid[i + 1] - grid[i])
    fy = (y - grid[j]) / (grid[j + 1] - grid[j])
    return (padded[..., i, j] * (1 - fx) * (1 - fy) + padded[..., i + 1, j] * fx * (1 - fy)
            + padded[..., i, j + 1] * (1 - fx) * fy + padded[..., i + 1, j + 1] * fx * fy)
