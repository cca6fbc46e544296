"""A 4-job joblib sweep on this machine: wall time with ``threads=auto`` against every core per job.

Each variant is one ``pinn-train -m hydra/launcher=joblib hydra.launcher.n_jobs=4`` sweep of four
short Burgers runs (seeds 0-3); the variants alternate ``--rounds`` times, so the machine's noise
hits them alike, and the table gives the median wall time of each and its ratio to ``auto``.
``threads=N`` with N the machine's cores is what torch does by default (every core per process),
so four jobs oversubscribe the cores; ``auto`` takes the share that joblib's loky workers are
given (``OMP_NUM_THREADS`` = cores / jobs).  Run it alone on the machine.

    python scripts/bench_sweep_threads.py
    python scripts/bench_sweep_threads.py --rounds 3 --steps 300
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _sweep(threads: str, steps: int, workdir: Path) -> float:
    sweep_dir = workdir / f"sweep-{threads}"
    shutil.rmtree(sweep_dir, ignore_errors=True)
    cmd = [str(Path(sys.executable).parent / "pinn-train"), "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=4",
           "pde=burgers", "seed=0,1,2,3", f"stages.adam.steps={steps}", "stages.quasi_newton.steps=0",
           "points.interior=2000", "plots=false", "checkpoint.every=0", f"threads={threads}",
           f"hydra.sweep.dir={sweep_dir}"]
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}  # as a user's shell would have it
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"the sweep with threads={threads} failed: {out.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=300, help="Adam steps per job")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    variants = ["auto", str(cores)]
    times = {v: [] for v in variants}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for v in variants:
                times[v].append(_sweep(v, args.steps, Path(tmp)))
    print(f"{platform.machine()}, {cores} cores; 4 jobs (joblib, n_jobs=4) of Burgers, {args.steps} Adam steps, "
          f"2,000 points each; median of {args.rounds} alternating rounds\n")
    print("| threads per job | sweep wall time (s) | / auto |")
    print("|---|---|---|")
    base = statistics.median(times["auto"])
    for v in variants:
        med = statistics.median(times[v])
        label = "auto (loky's share)" if v == "auto" else f"{v} (every core: torch's default)"
        print(f"| {label} | {med:.1f} | {med / base:.2f} |")


if __name__ == "__main__":
    main()
