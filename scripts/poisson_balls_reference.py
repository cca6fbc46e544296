"""The convergence of Poisson3d-CG's finite-element reference (pinn.pdes.poisson_balls): P2
tetrahedra of size h, each resolution against the next finer one on the points the runs are
scored at (a grid of spacing 0.025 outside the balls).

    python scripts/poisson_balls_reference.py                       # h = 0.04, 0.028, 0.02, 0.014
    python scripts/poisson_balls_reference.py --h 0.08 0.04         # quicker
    python scripts/poisson_balls_reference.py --comsol poisson_3d.dat   # and against PINNacle's file

The preset's target is 1e-2: the reference (pinn.pdes.poisson_balls.REFERENCE_H) must change by
less than a tenth of that on refinement.  PINNacle's COMSOL solution (``ref/poisson_3d.dat`` of
its repository, kept outside git there) is compared at its own nodes where given.  Needs the
references extra (gmsh, scikit-fem).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pinn.pdes import PoissonBalls
from pinn.pdes.poisson_balls import reference


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--h", type=float, nargs="+", default=[0.04, 0.028, 0.02, 0.014], help="mesh sizes, coarse to fine")
    p.add_argument("--grid", type=float, default=0.025, help="the scoring grid's spacing")
    p.add_argument("--comsol", default=None, help="PINNacle's poisson_3d.dat (x y z u per row), to compare with")
    args = p.parse_args()
    pde = PoissonBalls(grid=args.grid)
    xyz = pde.scoring_points()
    comsol = np.loadtxt(args.comsol, comments="%") if args.comsol else None
    print(f"{len(xyz)} points" + (f"; {len(comsol)} COMSOL nodes" if comsol is not None else ""), flush=True)
    previous = None
    rows = []
    for h in args.h:
        start = time.perf_counter()
        against = ""
        if comsol is None:
            u = reference(xyz, h=h)
        else:  # one solve, sampled at both
            both = reference(np.concatenate([xyz, comsol[:, :3]]), h=h)
            u, v = both[:len(xyz)], both[len(xyz):]
            against = f"{np.linalg.norm(v - comsol[:, 3]) / np.linalg.norm(comsol[:, 3]):.2e}"
        seconds = time.perf_counter() - start
        change = "-" if previous is None else f"{np.linalg.norm(u - previous) / np.linalg.norm(u):.2e}"
        rows.append(f"| {h} | {seconds:.0f} | {change} | {against or '-'} |")
        print(rows[-1], flush=True)
        previous = u
    print("\n| h | seconds | rel. L2 change from the coarser | rel. L2 from COMSOL's nodes |\n|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
