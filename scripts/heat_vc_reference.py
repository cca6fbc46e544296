"""Check PINNacle's Heat2d-VC table (COMSOL, 983 nodes x 51 snapshots) against our own
finite-volume solve of the divergence form (pinn.pdes.heat_vc.finite_volumes), and show the
solve's convergence and how far the strong form (PINNacle's code) is from the table.

    python scripts/heat_vc_reference.py                     # 255, 510, 1020 cells (about 7 min, 1 thread)
    python scripts/heat_vc_reference.py --cells 128 256     # quicker, not aligned with the pixels

Grids of 255 k cells per side (k even) put cell edges on the coefficient's pixel edges, so that
``a`` is constant on every cell: those converge fastest.  Needs scipy (the references extra).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pinn.pdes import HeatVaryingCoef
from pinn.pdes.heat_vc import at_points, finite_volumes


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cells", type=int, nargs="+", default=[510, 1020])
    p.add_argument("--strong", type=int, default=256, help="cells of the strong-form solve (0: skip)")
    args = p.parse_args()
    pde = HeatVaryingCoef()
    cols, values = pde.nodes()
    k = np.rint(cols["t"] / 0.1).astype(int)

    def rel(a, b):
        return float(np.linalg.norm(a - b) / np.linalg.norm(b))

    def solve(cells, form="divergence"):
        start = time.perf_counter()
        centres, _, u = finite_volumes(pde.coefficient, cells=cells, dt=0.01, form=form)
        mine = at_points(centres, u, cols["x"], cols["y"])[k, np.arange(len(k))]
        print(f"{form:>10} form, {cells:5d} cells ({time.perf_counter() - start:5.1f} s): table against it "
              f"{rel(values, mine):.2e}", flush=True)
        return mine

    solves = [solve(c) for c in args.cells]
    for (a, ua), (b, ub) in zip(zip(args.cells, solves), zip(args.cells[1:], solves[1:])):
        print(f"{a} against {b} cells: {rel(ua, ub):.2e}")
    if args.strong:
        solve(args.strong, "strong")


if __name__ == "__main__":
    main()
