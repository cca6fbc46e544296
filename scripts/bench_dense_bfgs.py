"""Benchmark an iteration of the dense self-scaled BFGS optimizer, here against an earlier revision.

The problem is the extended Rosenbrock function in ``n`` parameters (far from converged in the
iterations timed), whose gradient costs nothing beside the passes over the ``n x n`` inverse
Hessian, so the table shows the optimizer's own cost.  Each
round runs both versions in fresh processes, one after the other (the earlier revision's
``pinn`` taken from ``git archive`` into a temporary directory), so noise falls on both alike;
both take the same iterates and evaluations (printed).

    python scripts/bench_dense_bfgs.py --before a284ced~1 --sizes 3000 6000 --rounds 3 --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = r"""
import sys, time, torch
torch.set_num_threads(int(sys.argv[2]))
from pinn.training.dense_bfgs import DenseQuasiNewton
n = int(sys.argv[1])
x = torch.nn.Parameter(torch.full((n,), -1.2, dtype=torch.float64))
def closure():
    x.grad = None
    loss = (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
    loss.backward()
    return loss
opt = DenseQuasiNewton([x], method="ssbfgs", max_iter=25)
opt.step(closure)
start, t = opt.state[x]["n_iter"], time.perf_counter()
for _ in range(2):
    opt.step(closure)
st = opt.state[x]
print((time.perf_counter() - t) / (st["n_iter"] - start) * 1e3, st["n_iter"], st["func_evals"])
"""


def _tree(rev: str, into: Path) -> Path:
    """The revision's ``pinn`` package under ``into``."""
    data = subprocess.run(["git", "archive", rev, "pinn"], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def _run(path: Path, n: int, threads: int) -> tuple[float, str]:
    out = subprocess.run([sys.executable, "-c", PROBE, str(n), str(threads)], check=True, capture_output=True,
                         text=True, env={"PYTHONPATH": str(path), "OMP_NUM_THREADS": str(threads), "PATH": ""})
    ms, iters, evals = out.stdout.split()
    return float(ms), f"{iters} iterations, {evals} evaluations"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="the earlier revision (git), e.g. a284ced~1")
    ap.add_argument("--sizes", type=int, nargs="+", default=[3000, 6000])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    print(f"{args.threads} thread(s), {args.rounds} rounds; ms per iteration, median (all rounds)\n")
    print(f"| parameters | {args.before} | working tree | before / now | iterates |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        old = _tree(args.before, Path(tmp))
        for n in args.sizes:
            times: dict[str, list[float]] = {"old": [], "new": []}
            path_of = {"old": old, "new": ROOT}
            same = set()
            for _ in range(args.rounds):
                for which in ("old", "new"):
                    ms, what = _run(path_of[which], n, args.threads)
                    times[which].append(ms)
                    same.add(what)
            a, b = statistics.median(times["old"]), statistics.median(times["new"])
            print(f"| {n} | {a:.1f} ({', '.join(f'{t:.0f}' for t in times['old'])}) | {b:.1f} "
                  f"({', '.join(f'{t:.0f}' for t in times['new'])}) | {a / b:.2f} | "
                  f"{'; '.join(sorted(same))} |", flush=True)


if __name__ == "__main__":
    main()
