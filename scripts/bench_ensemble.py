"""Benchmark ensembles: K members trained at once with vmap, against one member alone.

Prints two markdown tables: the time per Adam step for 1 and K members (and K single
runs back to back, the alternative), measured in one run, interleaved; then each
member's rel. L2 error after a short training, with the mean and spread.

    python scripts/bench_ensemble.py                       # heat, 8 members, 8x20, 5000 points
    python scripts/bench_ensemble.py --pde burgers --members 8 --train-steps 2000
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import torch

from pinn import MLP, PINNLoss, evaluate_grid, get_engine, get_sampler
from pinn.training.ensemble import train_ensemble
from pinn.pdes import Burgers, Heat, Wave
from pinn.training.stages import adam

PDES = {"burgers": Burgers, "heat": Heat, "wave": Wave}


def _member(pde, seed, args):
    g = torch.Generator().manual_seed(seed)
    model = MLP(pde.domain.lower, pde.domain.upper, width=args.width, depth=args.depth, generator=g).to(args.device)
    sampler = get_sampler("lhs")
    pts = {w: pde.domain.sample(w, args.points if w == "interior" else 256, sampler, generator=g).float().to(args.device)
           for w in pde.domain.point_sets}
    return model, pts


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def _time_steps(args, pde, loss):
    """Median ms per Adam step: vmap ensemble of K, one member, K members one after another."""
    members = [_member(pde, s, args) for s in range(args.members)]
    single_model, single_pts = members[0]
    opt = adam(single_model.parameters(), lr=1e-4)

    def single():
        opt.zero_grad(set_to_none=True)
        loss(single_model, single_pts)[0].backward()
        opt.step()

    def ensemble(k):
        ms, ps = zip(*members[:k])
        return lambda: train_ensemble(list(ms), loss, list(ps), steps=args.chunk, lr=1e-4)

    runners = {"1 member": single, f"{args.members} members (vmap)": ensemble(args.members)}
    times = {name: [] for name in runners}
    for f in runners.values():  # warm-up
        f()
    for _ in range(args.repeats):
        for name, f in runners.items():
            _sync(args.device)
            t = time.perf_counter()
            f()
            _sync(args.device)
            per = args.chunk if "vmap" in name else 1
            times[name].append(1e3 * (time.perf_counter() - t) / per)
    return {name: statistics.median(v) for name, v in times.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pde", default="heat", choices=sorted(PDES))
    p.add_argument("--members", type=int, default=8)
    p.add_argument("--width", type=int, default=20)
    p.add_argument("--depth", type=int, default=8)
    p.add_argument("--points", type=int, default=5000)
    p.add_argument("--engine", default="taylor", choices=["taylor", "func"])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--chunk", type=int, default=10, help="Adam steps per timed ensemble call")
    p.add_argument("--train-steps", type=int, default=1000, help="Adam steps of the accuracy run (0: skip)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    pde = PDES[args.pde]()
    loss = PINNLoss(pde, get_engine(args.engine))
    where = torch.cuda.get_device_name() if torch.device(args.device).type == "cuda" else platform.machine()
    print(f"torch {torch.__version__}, {args.device} ({where}), {torch.get_num_threads()} threads, float32; "
          f"{args.pde}, {args.depth}x{args.width} tanh, {args.points} interior points, {args.engine} engine\n")
    t = _time_steps(args, pde, loss)
    one, many = t["1 member"], t[f"{args.members} members (vmap)"]
    print(f"| members | ms per Adam step | / one member | / {args.members} single runs back to back |")
    print("|---|---|---|---|")
    print(f"| 1 | {one:.1f} | 1.00 | |")
    print(f"| {args.members} (vmap) | {many:.1f} | {many / one:.2f} | {many / (args.members * one):.2f} |\n")
    if args.train_steps:
        members = [_member(pde, s, args) for s in range(args.members)]
        ms, ps = zip(*members)
        res = train_ensemble(list(ms), loss, list(ps), steps=args.train_steps, lr=args.lr)
        errors = [evaluate_grid(m, pde, [101] * pde.domain.dim).metrics["rel_l2"] for m in res.models]
        print(f"{args.members} members, {args.train_steps} Adam steps (lr {args.lr}) in {res.seconds:.1f} s:\n")
        print("| seed | " + " | ".join(str(s) for s in range(args.members)) + " | mean | std | min | max |")
        print("|---|" + "---|" * (args.members + 4))
        e = np.array(errors)
        print("| rel. L2 | " + " | ".join(f"{v:.2e}" for v in e) +
              f" | {e.mean():.2e} | {e.std(ddof=1) if len(e) > 1 else 0:.2e} | {e.min():.2e} | {e.max():.2e} |")


if __name__ == "__main__":
    main()
