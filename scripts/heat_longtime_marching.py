"""Heat2d-LT by time-marching windows: a prototype, not a preset (docs/accuracy.md, PINNacle).

Superseded by the built-in marching (``pinn-train pde=heat2d_lt hard_constraints=true
marching=windows marching.width=0.5``; docs/accuracy.md, "Long-time problems"), which also
differentiates the start state, where this script takes it under ``no_grad``.  Kept for the
figures it produced.

One network per window [a, b]; its initial values are the previous window's prediction at a
(the first window's, the exact initial data), its wall values are exact, and only the residual
is trained.  After each window the script prints the rel. L2 error at the window's end against
the finite-difference solve (:func:`pinn.pdes.heat_longtime.finite_differences`, 96 cells).

    OMP_NUM_THREADS=1 python scripts/heat_longtime_marching.py --window 0.5 --end 1 \\
        --adam 2000 --lbfgs 1000 --points 4000 --width 64        # 0.25 at t = 0.5, 0.41 at t = 1
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from pinn import MLP, PINNLoss, get_engine, get_sampler
from pinn.pdes import HeatLongTime
from pinn.pdes._reference import DATA
from pinn.pdes.heat_longtime import finite_differences
from pinn.physics.constraints import HardConstraint, box_factor
from pinn.training.loop import Trainer
from pinn.training.stages import Adam, QuasiNewton


class Window(HeatLongTime):
    """Heat2d-LT on [a, b], starting from ``previous``'s values at a (or the exact data)."""

    def __init__(self, a: float, b: float, previous: torch.nn.Module | None):
        super().__init__(t=[a, b], reference=str(DATA / "heat_longtime.dat"))
        self.a, self.b, self.previous = a, b, previous

    def start(self, x, y):
        if self.previous is None:
            return self.initial_values(x, y)
        with torch.no_grad():
            return self.previous(torch.stack([x, y, torch.full_like(x, self.a)], -1)).squeeze(-1)

    def constrain(self, u, coords):
        tau = (coords["t"] - self.a) / (self.b - self.a)
        return self.start(coords["x"], coords["y"]) + tau * box_factor(self.domain, coords, ("x", "y")) * u


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--window", type=float, default=0.5)
    p.add_argument("--end", type=float, default=1.0)
    p.add_argument("--adam", type=int, default=2000)
    p.add_argument("--lbfgs", type=int, default=1000)
    p.add_argument("--points", type=int, default=4000)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    grid, _, reference = finite_differences(cells=96, dt=0.01, t_end=args.end, every=0.1)
    x, y = np.meshgrid(grid, grid, indexing="ij")
    previous, a, start = None, 0.0, time.perf_counter()
    while a < args.end - 1e-9:
        b = min(a + args.window, args.end)
        pde = Window(a, b, previous)
        net = HardConstraint(MLP(pde.domain.lower, pde.domain.upper, width=args.width, depth=4, generator=g,
                                 dtype=torch.float64), pde)
        loss = PINNLoss(pde, get_engine("autograd"), exact=pde.hard_terms)
        points = {"interior": pde.domain.sample("interior", args.points, get_sampler("lhs"), generator=g)}
        result = Trainer([Adam(steps=args.adam, lr=2e-3, log_every=max(args.adam, 1)),
                          QuasiNewton(steps=args.lbfgs, chunk=50)]).fit(net, loss, points)
        at = torch.tensor(np.stack([x.ravel(), y.ravel(), np.full(x.size, b)], 1))
        with torch.no_grad():
            u = net(at).reshape(x.shape).numpy()
        ref = reference[round(b / 0.1)] if abs(b / 0.1 - round(b / 0.1)) < 1e-6 else None
        error = f"{np.linalg.norm(u - ref) / np.linalg.norm(ref):.2e}" if ref is not None else "-"
        print(f"window [{a:g}, {b:g}]: loss {result.final_loss:.2e}, rel. L2 at t = {b:g}: {error}, "
              f"{time.perf_counter() - start:.0f} s", flush=True)
        previous, a = net, b


if __name__ == "__main__":
    main()
