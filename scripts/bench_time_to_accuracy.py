"""Time to accuracy on Burgers: our default preset against DeepXDE's Burgers example.

Both are trained as usual while their rel. L2 error on the same 201 x 201 grid
(against the Cole-Hopf reference) is measured at every history row; evaluation time
is excluded from the clock.  Prints the wall time at which each reached rel. L2
1e-2, 1e-3 and 5e-4 ("never" if not within its run), and the ratio.

DeepXDE runs in its own environment (never a dependency of pinn): its example
setup (3x20 tanh; 2,540 domain, 80 boundary, 160 initial points; Adam lr 1e-3 for
15,000 steps, then L-BFGS), checked every 500 iterations, up to --deepxde-seconds.

    python scripts/bench_time_to_accuracy.py --deepxde .venv-bench/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
THRESHOLDS = (1e-2, 1e-3, 5e-4)


def ours(overrides: list[str]) -> dict:
    """``{"times": [...], "errors": [...], "total": seconds}`` of our preset's run."""
    from pinn.cli.build import build
    from pinn.cli.train import check_config
    from pinn.evaluation.grid import predict, relative_l2

    b = build(check_config(["experiment=burgers", *overrides]))
    grid = b.pde.domain.grid(b.resolution)
    mesh = np.meshgrid(*grid.values(), indexing="ij")
    points = np.stack([m.reshape(-1) for m in mesh], axis=1)
    ref = b.pde.reference_grid(grid).reshape(-1)
    pts = b.sample_points()
    state = {"eval": 0.0}
    times, errors = [], []

    def callback(row):
        t = time.perf_counter()
        errors.append(relative_l2(predict(b.model, points), ref))
        times.append(row["seconds"] - state["eval"])
        state["eval"] += time.perf_counter() - t

    res = b.trainer.fit(b.model, b.loss, pts, callback=callback)
    return {"times": times, "errors": errors, "total": res.seconds - state["eval"]}


def deepxde(python: str, seconds: float, grid_file: str) -> dict | None:
    out = subprocess.run([python, str(HERE / "_deepxde_burgers_tta.py"), "--grid", grid_file, "--seconds", str(seconds)],
                         capture_output=True, text=True, timeout=seconds + 900, env={**os.environ, "DDE_BACKEND": "pytorch"})
    if out.returncode != 0:
        print(f"DeepXDE skipped: {(out.stderr.strip().splitlines() or ['no output'])[-1]}", file=sys.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def first_below(run: dict, threshold: float) -> float | None:
    return next((t for t, e in zip(run["times"], run["errors"]) if e <= threshold), None)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--deepxde", metavar="PYTHON", help="a Python with deepxde installed")
    p.add_argument("--deepxde-seconds", type=float, default=600.0, help="DeepXDE's training time cap")
    p.add_argument("overrides", nargs="*", help="config overrides for our run (default: the burgers preset)")
    args = p.parse_args()
    mine = ours(args.overrides)
    theirs = None
    if args.deepxde:
        from pinn.pdes import Burgers

        pde = Burgers()
        grid = pde.domain.grid([201, 201])
        with tempfile.TemporaryDirectory() as tmp:
            f = str(Path(tmp) / "grid.npz")
            np.savez(f, x=grid["x"], t=grid["t"], u=pde.reference_grid(grid))
            theirs = deepxde(args.deepxde, args.deepxde_seconds, f)
    print(f"Burgers (nu = 0.01/pi), rel. L2 on a 201 x 201 grid; ours: experiment=burgers {' '.join(args.overrides)} "
          f"({mine['total']:.0f} s, final {mine['errors'][-1]:.2e})"
          + (f"; DeepXDE {theirs['version']}: {theirs['total']:.0f} s, final {theirs['errors'][-1]:.2e}" if theirs else ""))
    print()
    print("| rel. L2 reached | pinn (s) | DeepXDE example (s) | DeepXDE / pinn |")
    print("|---|---|---|---|")
    for th in THRESHOLDS:
        a = first_below(mine, th)
        b = first_below(theirs, th) if theirs else None
        ratio = f"{b / a:.1f}" if a and b else ("DeepXDE never" if a and theirs else "")
        print(f"| {th:g} | {a:.1f} |" if a else f"| {th:g} | never |", end="")
        print(f" {b:.1f} |" if b else (" never |" if theirs else " |"), end="")
        print(f" {ratio} |")


if __name__ == "__main__":
    main()
