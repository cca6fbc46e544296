"""Check PINNacle's Heat2d-LT table (COMSOL, 192 nodes x 501 snapshots) against our own
finite-difference solve, at the table's nodes (grid points of a grid of 96k cells per side).

    python scripts/heat_longtime_reference.py            # 96 and 192 cells per side (about 2.5 min)

Prints the rel. L2 difference over all snapshots and at the worst ones, and the two finite-
difference solutions' difference from each other (their own error, about a third of it for
second-order differences).
"""

from __future__ import annotations

import argparse

import numpy as np

from pinn.pdes import HeatLongTime
from pinn.pdes.heat_longtime import finite_differences


def at_nodes(cells: int, dt: float, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    grid, _, u = finite_differences(cells=cells, dt=dt)
    i, j = np.rint(x * cells).astype(int), np.rint(y * cells).astype(int)
    assert np.allclose(grid[i], x) and np.allclose(grid[j], y), "the nodes must be grid points"
    return u[:, i, j].T  # (nodes, snapshots)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cells", type=int, nargs=2, default=[96, 192])
    args = p.parse_args()
    cols, values = HeatLongTime().nodes()
    times = np.unique(cols["t"])
    x, y = cols["x"][:: len(times)], cols["y"][:: len(times)]
    table = values.reshape(len(x), len(times))
    coarse, fine = (at_nodes(c, 0.01 if c <= 96 else 0.005, x, y) for c in args.cells)

    def rel(a, b):
        return float(np.linalg.norm(a - b) / np.linalg.norm(b))

    print(f"finite differences, {args.cells[0]} against {args.cells[1]} cells: {rel(coarse, fine):.2e}")
    print(f"table against {args.cells[1]} cells: {rel(table, fine):.2e} over all {len(times)} snapshots")
    per = np.linalg.norm(table - fine, axis=0) / np.linalg.norm(fine, axis=0)
    worst = np.argsort(per)[::-1][:5]
    print("worst snapshots: " + ", ".join(f"t = {times[k]:.1f}: {per[k]:.2e}" for k in worst))
    print(f"median snapshot: {np.median(per):.2e}")


if __name__ == "__main__":
    main()
