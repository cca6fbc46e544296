"""Benchmark the Adam step of presets on the eager autograd engine against the fused step.

Each preset is built from its configuration (``experiment=NAME``, ``derivatives`` set to each
engine in turn), so the step is the preset's own: its network, hard constraint, data term and
point counts.  The steps run interleaved, one of each in turn, so machine noise hits both
columns alike; the fused step is compiled first (its compile time is reported apart).

    python scripts/bench_fast_path.py default heat poisson2d_c pinv hinv --threads 1
    python scripts/bench_fast_path.py kovasznay hinv --set model=per_field --threads 1

``default`` is the default run (no preset).  Prints a markdown table: milliseconds per step
(median and interquartile range), their ratio, and the time the fused step saves per unit of
``derivatives=auto``'s work (points x parameters per evaluation: ms per 1e9), with the CPU and
the thread count.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pinn.cli.build import build  # noqa: E402
from pinn.cli.train import check_config  # noqa: E402
from pinn.nets.marched import Marched  # noqa: E402
from pinn.training import marching  # noqa: E402
from pinn.training.fused_step import FusedStep  # noqa: E402


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def make_step(preset: str, engine: str, precision: str, overrides=(), window: int = 1):
    """A no-argument function doing one Adam step of ``preset`` (with the config ``overrides``) on
    ``engine``, and what it runs (a marched preset: window ``window``'s)."""
    named = [] if preset == "default" else [f"experiment={preset}"]
    job = build(check_config([*named, *overrides, f"derivatives={engine}", "threads=auto", f"precision={precision}"]))
    model, loss = job.model, job.loss
    if isinstance(model, Marched):  # a marched preset: the step of a window after the first (an increment)
        k = min(window, model.used - 1)
        model.train_window(k, start=True)
        loss = marching.window_loss(loss, model, k)
        points = marching.window_points(job.sample_points(sets=loss.point_sets), job.pde, model, k)
    else:
        points = job.sample_points()
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    parameters = sum(p.numel() for p in model.parameters())
    rows = sum(len(v) for k, v in points.items() if k != "data_values")
    if isinstance(model, Marched):
        parameters //= model.count  # one window's
    what = f"{type(model).__name__}, {parameters} parameters, " + \
        ", ".join(f"{len(v)} {k}" for k, v in points.items() if k != "data_values")
    what = (what, rows * parameters)
    if engine == "fused":
        fused = FusedStep(loss, model)
        lr = torch.tensor(1e-4, dtype=torch.float64)
        one = torch.ones((), dtype=next(model.parameters()).dtype)

        def step():
            fused.adam_step(opt, points, lr=lr, poison=one)

        return step, what, fused

    def step():
        opt.zero_grad(set_to_none=True)
        value, _ = loss(model, points)
        value.backward()
        opt.step()

    return step, what, None


def bench(preset: str, repeats: int, precision: str, overrides=()) -> dict:
    steps, first, what = {}, {}, ("", 0)
    for engine in ("autograd", "fused"):
        steps[engine], what, fused = make_step(preset, engine, precision, overrides)
        t = time.perf_counter()
        steps[engine]()
        first[engine] = time.perf_counter() - t
        if fused is not None and fused.failed:
            raise SystemExit(f"{preset}: the fused step did not compile ({fused.failed})")
        for _ in range(3):
            steps[engine]()
    times: dict[str, list] = {e: [] for e in steps}
    for _ in range(repeats):
        for engine, step in steps.items():
            t = time.perf_counter()
            step()
            times[engine].append(1e3 * (time.perf_counter() - t))
    stats = {e: (statistics.median(v), *statistics.quantiles(v, n=4)[::2]) for e, v in times.items()}
    return {"what": what[0], "work": what[1], "stats": stats, "compile": first["fused"]}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("presets", nargs="+")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--precision", default="float32", choices=["float32", "float64"],
                    help="the Adam stage's precision (a preset's own, unless it sets float64 for the whole run)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a config override for every preset (repeat it for more), e.g. --set model=per_field")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"CPU: {cpu_name()}; torch {torch.__version__}; {args.threads} thread(s); {args.repeats} interleaved "
          f"rounds; {args.precision}" + (f"; with {' '.join(args.set)}" if args.set else "") + "\n")
    print("| preset | what the step trains | autograd ms (IQR) | fused ms (IQR) | autograd / fused | saved ms per 1e9 "
          "work | fused first step s |")
    print("|---|---|---|---|---|---|---|")
    for preset in args.presets:
        r = bench(preset, args.repeats, args.precision, args.set)
        a, f = r["stats"]["autograd"], r["stats"]["fused"]
        print(f"| {preset} | {r['what']} | {a[0]:.1f} ({a[1]:.1f}-{a[2]:.1f}) | {f[0]:.1f} ({f[1]:.1f}-{f[2]:.1f}) | "
              f"{a[0] / f[0]:.2f} | {(a[0] - f[0]) / r['work'] * 1e9:.0f} | {r['compile']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
