"""What an L-BFGS iteration costs beyond its loss evaluations: torch.optim.LBFGS against pinn's
flat-buffer L-BFGS (pinn.training.lbfgs), on the default run's problem, interleaved in one process.

Each optimizer takes ``--chunks`` calls of ``--chunk`` iterations from the same start; the time
inside the closure (loss and gradient) is subtracted from the time of each call, and the rest,
per iteration, is the optimizer's own overhead.  Prints a markdown table: overhead per iteration,
one evaluation's time, and their ratio (the issue's target: <= 20%).

    OMP_NUM_THREADS=1 python scripts/bench_lbfgs.py --threads 1
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from pinn.cli.build import build
from pinn.cli.train import check_config
from pinn.training.lbfgs import LBFGS


def _measure(cls, job, points, start, chunks: int, chunk: int, history: int) -> tuple[float, float]:
    """``(overhead per iteration, time per evaluation)`` in seconds, medians over the chunks, from
    the network's weights ``start``."""
    model, loss = job.model, job.loss
    model.load_state_dict(start)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = cls(params, lr=1.0, max_iter=chunk, history_size=history, line_search_fn="strong_wolfe",
              tolerance_grad=0.0, tolerance_change=0.0)
    inside = [0.0, 0]

    def closure():
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        value, _ = loss(model, points)
        value.backward()
        inside[0] += time.perf_counter() - t
        inside[1] += 1
        return value

    overheads, evals = [], []
    for _ in range(chunks):
        inside[:] = [0.0, 0]
        before = opt.state[params[0]].get("n_iter", 0)
        t = time.perf_counter()
        opt.step(closure)
        total = time.perf_counter() - t
        taken = opt.state[params[0]]["n_iter"] - before
        overheads.append((total - inside[0]) / max(1, taken))
        evals.append(inside[0] / max(1, inside[1]))
    return statistics.median(overheads), statistics.median(evals)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", default=[], help="pinn-train overrides (default: the default run)")
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--chunk", type=int, default=25)
    parser.add_argument("--history", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    job = build(check_config(args.overrides))
    points = job.sample_points()
    start = {k: v.detach().clone() for k, v in job.model.state_dict().items()}
    print(f"machine: {platform.processor() or platform.machine()}, {args.threads} thread(s), torch {torch.__version__}; "
          f"overrides: {' '.join(args.overrides) or '(the default run)'}; history {args.history}")
    print("\n| optimizer | overhead per iteration, ms | one evaluation, ms | overhead / evaluation |\n|---|---|---|---|")
    rows = {}
    for _ in range(2):  # interleaved twice; the second round is reported (warm caches)
        for name, cls in (("torch.optim.LBFGS", torch.optim.LBFGS), ("pinn.training.lbfgs.LBFGS", LBFGS)):
            rows[name] = _measure(cls, job, points, start, args.chunks, args.chunk, args.history)
    for name, (over, ev) in rows.items():
        print(f"| `{name}` | {over * 1e3:.2f} | {ev * 1e3:.2f} | {over / ev:.0%} |")


if __name__ == "__main__":
    main()
