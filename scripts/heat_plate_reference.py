"""The convergence of Heat2d-CG's finite-element reference (pinn.pdes.heat_plate): P2 triangles
with BDF2, each resolution against the next finer one on the points the runs are scored at
(a grid of spacing 0.25 inside the plate, every 0.1 to t = 3).

    python scripts/heat_plate_reference.py                          # h = 0.2, 0.1, 0.05 (dt with it)
    python scripts/heat_plate_reference.py --h 0.4 0.2 --dt 0.01    # quicker
    python scripts/heat_plate_reference.py --comsol heat_complex.dat   # and against PINNacle's file

The preset's target is 4e-3: the reference (pinn.pdes.heat_plate.REFERENCE_H and REFERENCE_DT)
must change by less than a tenth of that on refinement.  PINNacle's COMSOL solution
(``ref/heat_complex.dat`` of its repository, kept outside git there: x, y and u at t = 0, 0.1, ...,
3 per row) is compared at its own nodes where given.  Needs the references extra (gmsh,
scikit-fem).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pinn.pdes import HeatPlate
from pinn.pdes._fem import heat_robin


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--h", type=float, nargs="+", default=[0.2, 0.1, 0.05], help="mesh sizes, coarse to fine")
    p.add_argument("--dt", type=float, default=None, help="one time step for all (default: h / 20)")
    p.add_argument("--refine", type=float, default=4.0, help="h over the sides on the circles")
    p.add_argument("--comsol", default=None, help="PINNacle's heat_complex.dat (x y u@t=0 ... u@t=3 per row)")
    args = p.parse_args()
    pde = HeatPlate()
    xy = pde.scoring_points()
    comsol = np.loadtxt(args.comsol, comments="%") if args.comsol else None
    if comsol is not None and comsol.shape[1] != 33:
        raise SystemExit(f"{args.comsol}: expected 33 columns (x, y, u at 31 times), got {comsol.shape[1]}")
    print(f"{len(xy)} points x 31 times" + (f"; {len(comsol)} COMSOL nodes" if comsol is not None else ""),
          flush=True)
    previous = None
    rows = []
    for h in args.h:
        dt = args.dt if args.dt is not None else h / 20
        start = time.perf_counter()
        points = xy if comsol is None else np.concatenate([xy, comsol[:, :2]])  # one solve, sampled at both
        _, both = heat_robin(pde.plate, pde.robin, points, h=h, dt=dt, refine=args.refine)
        u = both[:, :len(xy)]
        against = "-"
        if comsol is not None:
            theirs = comsol[:, 2:].T
            against = f"{np.linalg.norm(both[:, len(xy):] - theirs) / np.linalg.norm(theirs):.2e}"
        seconds = time.perf_counter() - start
        change = "" if previous is None else f"{np.linalg.norm(u - previous) / np.linalg.norm(u):.2e}"
        rows.append(f"| {h} | {dt} | {seconds:.0f} | {change or '-'} | {against} |")
        print(rows[-1], flush=True)
        previous = u
    print("\n| h | dt | seconds | rel. L2 change from the coarser | rel. L2 from COMSOL's nodes |\n"
          "|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
