"""A coefficient field given on a regular 2-D grid (a table of ``x, y, value`` rows, or an array):
piecewise coefficients read from data, for any PDE.

A PDE in divergence form, ``div(a grad u) = a (u_xx + u_yy) + a_x u_x + a_y u_y``, needs the
coefficient's gradient as well as its value.  A field that jumps between materials has no
gradient at its interfaces, so a network trained on the strong form with ``a`` alone solves a
different problem (no flux continuity across the interfaces: PINNacle's Heat2d-VC and
Poisson2d-MS).  :meth:`GridField.__call__` gives the bilinear interpolant of the grid values,
optionally smoothed by a Gaussian of ``smoothing`` grid spacings first, with its exact gradient:
a continuous field whose gradient carries the interfaces' flux condition into the residual.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from pinn.core.checks import number

__all__ = ["GridField"]


class GridField:
    """A scalar field on the regular grid ``lower + (i, j) * spacing``, ``i < nx``, ``j < ny``.

    Args:
        values: ``(nx, ny)`` values at the grid points, indexed ``[i, j]`` (``i`` along ``x``).
        lower: ``(x0, y0)``, the first grid point.
        upper: ``(x1, y1)``, the last grid point.
        smoothing: the standard deviation, in grid spacings, of a Gaussian applied to the values
            before interpolation (0: none; the bilinear interpolant alone ramps across one spacing).
    """

    def __init__(self, values, lower: Sequence[float], upper: Sequence[float], *, smoothing: float = 0.0):
        grid = np.asarray(values, dtype=np.float64)
        if grid.ndim != 2 or min(grid.shape) < 2 or not np.isfinite(grid).all():
            raise ValueError(f"a grid field needs a finite (nx, ny) array with nx, ny >= 2, got shape {grid.shape}")
        self.lower = tuple(float(v) for v in lower)
        self.upper = tuple(float(v) for v in upper)
        if len(self.lower) != 2 or len(self.upper) != 2 or not all(a < b for a, b in zip(self.lower, self.upper)):
            raise ValueError(f"a grid field needs lower < upper in x and y, got {lower} and {upper}")
        self.smoothing = number("smoothing", smoothing, low=0)
        self.raw = grid
        self.values = _gaussian(grid, self.smoothing) if self.smoothing else grid
        self.shape: tuple[int, int] = (int(grid.shape[0]), int(grid.shape[1]))
        self.spacing = tuple((b - a) / (n - 1) for a, b, n in zip(self.lower, self.upper, grid.shape))
        # float64 tensors made here, and the shape as ints: a compiled step must not touch the numpy
        # arrays (the compiler turns them into tensors it cannot guard on)
        self._tensors = {"raw": torch.from_numpy(self.raw),
                         "values": torch.from_numpy(np.ascontiguousarray(self.values))}
        self._cache: dict[tuple, torch.Tensor] = {}

    @classmethod
    def from_table(cls, path: str | Path, *, smoothing: float = 0.0) -> GridField:
        """A field from a text table of ``x y value`` rows covering a regular grid (any row order),
        as ``numpy.savetxt`` writes it (PINNacle's ``heat_2d_coef_256.dat``), or an ``.npz`` with
        arrays ``values``, ``lower`` and ``upper``."""
        path = Path(path).expanduser()
        if not path.is_file():
            raise ValueError(f"no coefficient table at {path}; give a path to an 'x y value' text table or an .npz")
        if path.suffix == ".npz":
            with np.load(path) as data:
                return cls(data["values"], data["lower"], data["upper"], smoothing=smoothing)
        rows = np.loadtxt(path, comments=("%", "#"), ndmin=2)
        if rows.shape[1] != 3:
            raise ValueError(f"{path.name}: a coefficient table has 3 columns (x, y, value), got {rows.shape[1]}")
        xs, ys = np.unique(rows[:, 0]), np.unique(rows[:, 1])
        if len(xs) * len(ys) != len(rows):
            raise ValueError(f"{path.name}: the rows do not cover a regular grid ({len(xs)} x values, "
                             f"{len(ys)} y values, {len(rows)} rows)")
        i, j = np.searchsorted(xs, rows[:, 0]), np.searchsorted(ys, rows[:, 1])
        grid = np.empty((len(xs), len(ys)))
        grid[i, j] = rows[:, 2]
        for axis in (xs, ys):
            step = np.diff(axis)
            if not np.allclose(step, step[0], rtol=1e-6, atol=0):
                raise ValueError(f"{path.name}: the grid's spacing is not uniform")
        return cls(grid, (xs[0], ys[0]), (xs[-1], ys[-1]), smoothing=smoothing)

    def nearest(self, x, y):
        """The raw value at the nearest grid point (PINNacle's lookup), for numpy arrays or tensors."""
        i = _index(x, self.lower[0], self.spacing[0], self.shape[0])
        j = _index(y, self.lower[1], self.spacing[1], self.shape[1])
        if isinstance(x, torch.Tensor):
            return self._table("raw", x)[i, j]
        return self.raw[i, j]

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(a, a_x, a_y)`` at the points ``(x, y)`` (any equal shapes): the bilinear interpolant of
        the (smoothed) grid values and its gradient, constant beyond the grid's edges.  Not
        differentiated through: the gradient is returned, not taped."""
        nx, ny = self.shape
        hx, hy = self.spacing
        with torch.no_grad():
            sx = ((x - self.lower[0]) / hx).clamp(0, nx - 1)
            sy = ((y - self.lower[1]) / hy).clamp(0, ny - 1)
            i = sx.floor().clamp(max=nx - 2).long()
            j = sy.floor().clamp(max=ny - 2).long()
            fx, fy = sx - i, sy - j
            v = self._table("values", x)
            v00, v10, v01, v11 = v[i, j], v[i + 1, j], v[i, j + 1], v[i + 1, j + 1]
            a = v00 * (1 - fx) * (1 - fy) + v10 * fx * (1 - fy) + v01 * (1 - fx) * fy + v11 * fx * fy
            ax = ((v10 - v00) * (1 - fy) + (v11 - v01) * fy) / hx
            ay = ((v01 - v00) * (1 - fx) + (v11 - v10) * fx) / hy
            inside_x = (x >= self.lower[0]) & (x <= self.upper[0])
            inside_y = (y >= self.lower[1]) & (y <= self.upper[1])
            return a, ax * inside_x, ay * inside_y

    def _table(self, which: str, like: torch.Tensor) -> torch.Tensor:
        key = (which, like.dtype, like.device)
        if key not in self._cache:
            self._cache[key] = self._tensors[which].to(dtype=like.dtype, device=like.device)
        return self._cache[key]


def _index(x, lower: float, spacing: float, n: int):
    s = (x - lower) / spacing
    if isinstance(s, torch.Tensor):
        return torch.round(s).clamp(0, n - 1).long()
    return np.clip(np.rint(s), 0, n - 1).astype(int)


def _gaussian(values: np.ndarray, sigma: float) -> np.ndarray:
    """``values`` convolved with a Gaussian of standard deviation ``sigma`` (grid spacings) along
    both axes, the edges reflected."""
    radius = max(1, math.ceil(4 * sigma))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    out = values
    for axis in (0, 1):
        padded = np.pad(out, [(radius, radius) if a == axis else (0, 0) for a in (0, 1)], mode="reflect")
        out = np.apply_along_axis(lambda line: np.convolve(line, kernel, mode="valid"), axis, padded)
    return out
