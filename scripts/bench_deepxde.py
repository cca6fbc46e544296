"""One Adam step on DeepXDE's own Burgers example, DeepXDE and pinn in the same process, interleaved.

DeepXDE (examples/pinn_forward/Burgers.py: 3x20 tanh, 2,540 domain + 80 boundary + 160 initial
points, Adam) and pinn's runners on the same sizes take turns, ``--chunk`` steps each, for
``--rounds`` rounds, so machine noise hits all of them alike.  Runners:

- ``deepxde``: ``model.train`` of DeepXDE 1.15 (PyTorch backend), its own loop;
- ``pinn autograd``: pinn's default eager step (autograd engine, foreach Adam);
- ``pinn compiled``: ``trainer.compile_gradient`` (Taylor engine, the loss and its gradient in
  one compiled graph) with fused Adam;
- ``pinn fused``: ``derivatives=fused``, the whole step (jets, loss, hand-written adjoint, Adam's
  update) in one compiled graph;
- ``regression, compiled``: the floor, a plain regression step on the interior points, compiled
  the same way (forward, gradient, fused Adam; no input derivatives).

DeepXDE is never a dependency of pinn: run this with an environment that has both,

    python3 -m venv .venv-bench && .venv-bench/bin/pip install -c constraints.txt -e . deepxde
    OMP_NUM_THREADS=2 .venv-bench/bin/python scripts/bench_deepxde.py --threads 2
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("DDE_BACKEND", "pytorch")  # DeepXDE reads its backend at import

import torch  # noqa: E402

from pinn import MLP, Burgers, PINNLoss, get_engine, get_sampler  # noqa: E402
from pinn.diff.taylor import taylor_fields  # noqa: E402
from pinn.training.compiling import CompiledGradient  # noqa: E402
from pinn.training.fused_step import FusedStep  # noqa: E402

DOMAIN, BOUNDARY, INITIAL, DEPTH, WIDTH = 2540, 80, 160, 3, 20


def _deepxde():
    import deepxde as dde
    from _deepxde_burgers import build  # DeepXDE's own example, as bench_step.py runs it (this folder)

    model = build()

    def steps(k):
        model.train(iterations=k, display_every=10**9, verbose=0)

    return steps, dde.__version__


def _ours():
    pde = Burgers()
    g = torch.Generator().manual_seed(0)
    model = MLP(pde.domain.lower, pde.domain.upper, width=WIDTH, depth=DEPTH, generator=g)
    sizes = {"interior": DOMAIN, "initial": INITIAL, "boundary": BOUNDARY}
    points = {w: pde.domain.sample(w, sizes[w], get_sampler("lhs"), generator=g).float() for w in pde.domain.point_sets}
    return pde, model, points


def _pinn_autograd():
    pde, model, points = _ours()
    loss = PINNLoss(pde, get_engine("autograd"))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, foreach=True)  # built before the clock

    def steps(k):
        for _ in range(k):
            opt.zero_grad(set_to_none=True)
            value, _ = loss(model, points)
            value.backward()
            opt.step()

    return steps


def _compiled(loss_fn, model, points):
    compiled = CompiledGradient(loss_fn, model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)

    def steps(k):
        for _ in range(k):
            opt.zero_grad(set_to_none=True)
            compiled.loss_and_grad(model, points)
            opt.step()

    return steps, compiled


def _pinn_compiled():
    pde, model, points = _ours()
    return _compiled(PINNLoss(pde, get_engine("taylor")), model, points)


def _pinn_fused():
    pde, model, points = _ours()
    fused = FusedStep(PINNLoss(pde, get_engine("fused")), model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lr = torch.tensor(1e-3, dtype=torch.float64)
    poison = torch.ones(())

    def steps(k):
        for _ in range(k):
            fused.adam_step(opt, points, lr=lr, poison=poison)

    return steps, fused


def _regression():
    _, model, points = _ours()
    x = points["interior"]
    target = torch.zeros(x.shape[0])

    def loss(net, _):
        value = ((taylor_fields(net, x, {()})[()] - target) ** 2).mean()
        return value, {}

    return _compiled(loss, model, points)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--chunk", type=int, default=20, help="steps per runner per round")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    runners = {}
    try:
        runners["deepxde"], version = _deepxde()
    except ImportError:
        version = None
        print("deepxde is not installed here: its column is left out (see the docstring)")
    runners["pinn autograd"] = _pinn_autograd()
    for name, make in [("pinn compiled", _pinn_compiled), ("pinn fused", _pinn_fused),
                       ("regression, compiled", _regression)]:
        start = time.perf_counter()
        runners[name], compiled = make()
        runners[name](1)  # compiles
        print(f"{name}: first step (compiling) {time.perf_counter() - start:.1f} s"
              + (f"; FAILED, ran eagerly: {compiled.failed}" if compiled.failed else ""))
    for steps in runners.values():
        steps(args.chunk)  # warm-up
    times = {name: [] for name in runners}
    for _ in range(args.rounds):
        for name, steps in runners.items():
            start = time.perf_counter()
            steps(args.chunk)
            times[name].append(1e3 * (time.perf_counter() - start) / args.chunk)
    med = {name: statistics.median(v) for name, v in times.items()}
    print(f"\nBurgers, DeepXDE's example setup ({DEPTH}x{WIDTH} tanh, {DOMAIN} + {BOUNDARY} + {INITIAL} points, Adam), "
          f"{args.rounds} interleaved rounds of {args.chunk} steps, {args.threads} threads, torch {torch.__version__}, "
          f"DeepXDE {version}, {platform.machine()} ({os.cpu_count()} cores)\n")
    print("| runner | ms per Adam step (median) | IQR | DeepXDE / runner | runner / compiled regression |")
    print("|---|---|---|---|---|")
    for name, v in times.items():
        q = statistics.quantiles(v, n=4)
        vs = f"{med['deepxde'] / med[name]:.2f}" if "deepxde" in med else "-"
        print(f"| {name} | {med[name]:.3f} | {q[0]:.3f}-{q[2]:.3f} | {vs} | {med[name] / med['regression, compiled']:.2f} |")


if __name__ == "__main__":
    main()
