"""What the gradient techniques cost: one NTK weight update, and a training step with gPINN,
point clipping or LAAF, each against one plain training step, measured interleaved in one run.

Prints a markdown table of milliseconds (median of ``--repeats``) and the ratio to the plain step.

    OMP_NUM_THREADS=1 python scripts/bench_techniques.py
    python scripts/bench_techniques.py --pdes burgers poisson2d_c --points 5000 --repeats 7
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

from pinn import MLP, Burgers, PINNLoss, get_engine, get_sampler
from pinn.pdes.poisson_holes import PoissonHoles
from pinn.training.ntk import NTKWeighting
from pinn.training.stages import adam
from pinn.training.weighting import WeightingContext

PDES = {"burgers": Burgers, "poisson2d_c": PoissonHoles}


def _setup(pde, n, adaptive="none", seed=0):
    g = torch.Generator().manual_seed(seed)
    model = MLP(pde.domain.lower, pde.domain.upper, width=20, depth=8, generator=g, adaptive=adaptive)
    sizes = {"interior": n}
    pts = {}
    for which in dict.fromkeys(t.points for t in pde.terms()):
        pts[which] = pde.domain.sample(which, sizes.get(which, 256), get_sampler("lhs"), generator=g).float()
    return model, pts


def _step(pde, model, pts, **loss_options):
    loss = PINNLoss(pde, get_engine("autograd"), **loss_options)
    opt = adam(model.parameters(), lr=1e-4)

    def step():
        opt.zero_grad(set_to_none=True)
        total, _ = loss(model, pts)
        total.backward()
        opt.step()

    return step, loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdes", nargs="+", default=list(PDES), choices=list(PDES))
    parser.add_argument("--points", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} "
          f"thread(s); 8x20 tanh MLP, {args.points} interior points, 256 per other set; NTK on 256 points "
          f"per term in chunks of 64\n")
    print("| PDE | runner | ms | / plain step |")
    print("|---|---|---|---|")
    for name in args.pdes:
        pde = PDES[name]()
        runners = {}
        model, pts = _setup(pde, args.points)
        runners["plain step"], loss = _step(pde, model, pts)
        ntk = NTKWeighting(every=1)
        ctx = WeightingContext(model, loss, pts)
        runners["NTK weight update"] = lambda ntk=ntk, loss=loss, ctx=ctx: ntk.update(
            dict(loss.weights), {}, [], context=ctx)
        m2, p2 = _setup(pde, args.points)
        runners["step + gPINN"], _ = _step(pde, m2, p2, gradient_weight=0.01)
        m3, p3 = _setup(pde, args.points)
        runners["step + point clip"], _ = _step(pde, m3, p3, point_clip=10.0)
        m4, p4 = _setup(pde, args.points, adaptive="layer")
        runners["step, LAAF network"], _ = _step(pde, m4, p4)
        times = {k: [] for k in runners}
        for f in runners.values():
            f()  # warm-up
        for _ in range(args.repeats):
            for k, f in runners.items():  # interleaved: noise hits every runner alike
                t = time.perf_counter()
                f()
                times[k].append(time.perf_counter() - t)
        base = statistics.median(times["plain step"])
        for k, ts in times.items():
            med = statistics.median(ts)
            print(f"| {name} | {k} | {1e3 * med:.1f} | {med / base:.2f} |")


if __name__ == "__main__":
    main()
