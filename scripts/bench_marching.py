"""Time marching against one window: error reached and training time, on heat and Burgers.

For each PDE it trains, as separate ``pinn-train`` processes with the same seed and the default
network, points and schedule (500 Adam steps, then 2000 L-BFGS iterations):

* ``one window``: the whole interval at once;
* ``W windows``: ``marching=windows`` with W windows, each with 1/W of the schedule's steps, so
  that the marched run takes about the same number of steps in all.

and prints a markdown table of rel. L2 error and training seconds.  Run it alone (or name
``--threads`` and say what ran beside it): the times are part of the point.

    python scripts/bench_marching.py heat burgers --windows 2 4 --threads 1
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from pathlib import Path

from _train_process import train_process  # scripts/, on the path of a script run from it

ADAM, QUASI_NEWTON = 500, 2000


def _train(pde: str, extra: list[str], threads: int, run: Path) -> dict:
    return train_process([f"pde={pde}", "evaluation.residual_maps=false", *extra], run, threads)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdes", nargs="+", help="PDEs with a time coordinate on [0, 1] (heat, burgers, ...)")
    parser.add_argument("--windows", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"machine: {platform.processor() or platform.machine()}, {args.threads} thread(s), "
          f"python {sys.version.split()[0]}")
    print("\n| pde | training | rel. L2 | training s | steps |\n|---|---|---|---|---|", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for pde in args.pdes:
            runs = [("one window", [])]
            for w in args.windows:
                runs.append((f"{w} windows", ["marching=windows", f"marching.width={1 / w}",
                                              f"stages.adam.steps={ADAM // w}",
                                              f"stages.quasi_newton.steps={QUASI_NEWTON // w}"]))
            for i, (label, extra) in enumerate(runs):
                m = _train(pde, [*extra, f"seed={args.seed}"], args.threads, Path(tmp) / f"{pde}-{i}")
                steps = f"{m['adam_steps']} + {m['lbfgs_steps']}"
                print(f"| {pde} | {label} | {m['rel_l2']:.2e} | {m['train_seconds']:.0f} | {steps} |", flush=True)


if __name__ == "__main__":
    main()
