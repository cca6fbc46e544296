"""Benchmark one PINN training step (loss, backward, Adam) per derivative engine.

Prints a markdown table of milliseconds per step (median and interquartile spread) and
each engine's cost relative to the plain reverse-over-reverse autograd engine and to a
plain regression step (forward + backward + Adam on the same points, no input
derivatives), all measured in the same run, interleaved, so machine noise hits every
column alike.

    python scripts/bench_step.py                       # the full matrix
    python scripts/bench_step.py --pdes burgers --sizes 8x20 --points 10000
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from pinn import MLP, Burgers, PINNLoss, Wave, get_engine, get_sampler

PDES = {"burgers": Burgers, "wave": Wave}


def _setup(pde, depth, width, n, seed=0):
    g = torch.Generator().manual_seed(seed)
    model = MLP(pde.domain.lower, pde.domain.upper, width=width, depth=depth, generator=g)
    s = get_sampler("lhs")
    pts = {w: pde.domain.sample(w, n if w == "interior" else 256, s, generator=g).float() for w in pde.domain.point_sets}
    return model, pts


def _pinn_step(engine):
    def make(pde, model, pts):
        loss_fn = PINNLoss(pde, get_engine(engine))
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)

        def step():
            opt.zero_grad(set_to_none=True)
            loss, _ = loss_fn(model, pts)
            loss.backward()
            opt.step()

        return step

    return make


def _regression_step(pde, model, pts):
    x = pts["interior"]
    y = torch.zeros(x.shape[0], 1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()

    return step


def bench(pde_name, depth, width, n, engines, repeats, warmup):
    pde = PDES[pde_name]()
    runners = {"regression": _regression_step, **{e: _pinn_step(e) for e in engines}}
    steps = {}
    for name, make in runners.items():
        model, pts = _setup(pde, depth, width, n)
        steps[name] = make(pde, model, pts)
        for _ in range(warmup):
            steps[name]()
    times = {name: [] for name in steps}
    for _ in range(repeats):  # interleaved: noise falls on every runner alike
        for name, step in steps.items():
            t = time.perf_counter()
            step()
            times[name].append(1e3 * (time.perf_counter() - t))
    return {name: (statistics.median(v), *statistics.quantiles(v, n=4)[::2]) for name, v in times.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pdes", nargs="+", default=["burgers", "wave"], choices=sorted(PDES))
    p.add_argument("--sizes", nargs="+", default=["8x20", "4x64", "4x256"], help="DEPTHxWIDTH")
    p.add_argument("--points", nargs="+", type=int, default=[2000, 10000, 50000])
    p.add_argument("--engines", nargs="+", default=["autograd", "func", "taylor"])
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--warmup", type=int, default=3)
    args = p.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}, float32\n")
    engines = args.engines
    head = ["pde", "net", "points", "regression ms"] + [f"{e} ms (IQR)" for e in engines]
    head += [f"{e} / autograd" for e in engines if e != "autograd"] + [f"{e} / regression" for e in engines]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for pde in args.pdes:
        for size in args.sizes:
            depth, width = (int(v) for v in size.lower().split("x"))
            for n in args.points:
                r = bench(pde, depth, width, n, engines, args.repeats, args.warmup)
                row = [pde, size, str(n), f"{r['regression'][0]:.2f}"]
                row += [f"{r[e][0]:.2f} ({r[e][1]:.2f}-{r[e][2]:.2f})" for e in engines]
                row += [f"{r[e][0] / r['autograd'][0]:.2f}" for e in engines if e != "autograd" and "autograd" in r]
                row += [f"{r[e][0] / r['regression'][0]:.2f}" for e in engines]
                print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
