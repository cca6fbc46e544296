"""Benchmark one PINN training step (loss, backward, Adam) per derivative engine.

Prints a markdown table of milliseconds per step (median and interquartile spread),
the peak memory of a step, and each runner's cost relative to the plain
reverse-over-reverse autograd engine and to a plain regression step (forward +
backward + Adam on the same points, no input derivatives), all measured in the same
run, interleaved, so machine noise hits every column alike.  ``ENGINE+compile`` rows
run the loss through ``torch.compile`` (the compile time is reported apart).

    python scripts/bench_step.py                       # the full matrix (slow on 2 cores)
    python scripts/bench_step.py --pdes burgers --sizes 8x20 --points 10000
    python scripts/bench_step.py --engines autograd taylor taylor+compile --device cuda
    python scripts/bench_step.py --deepxde .venv-bench/bin/python   # add DeepXDE's Burgers example

Peak memory: on CUDA ``torch.cuda.max_memory_allocated`` over one step; on the CPU the
peak growth of the resident set during one step, polled every 0.2 ms by a thread, in a
fresh process per cell whose malloc returns every block of 128 KiB or more to the system
when freed (``MALLOC_MMAP_THRESHOLD_``), so resident memory follows live tensors
(``--memory``; it costs a process start per cell).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import torch

from pinn import MLP, Burgers, Heat, PINNLoss, Wave, evaluate_grid, get_engine, get_sampler
from pinn.training.compiling import GuardedCompile
from pinn.training.stages import adam

PDES = {"burgers": Burgers, "wave": Wave}
HERE = Path(__file__).resolve().parent


def _setup(pde, depth, width, n, device, seed=0, n_initial=256, n_boundary=256):
    g = torch.Generator().manual_seed(seed)
    model = MLP(pde.domain.lower, pde.domain.upper, width=width, depth=depth, generator=g).to(device)
    s = get_sampler("lhs")
    sizes = {"interior": n, "initial": n_initial, "boundary": n_boundary}
    pts = {w: pde.domain.sample(w, sizes[w], s, generator=g).float().to(device) for w in pde.domain.point_sets}
    return model, pts


def make_step(runner, pde, model, pts, *, adam_impl="foreach"):
    """A no-argument function doing one training step of ``runner`` (``regression`` or ``ENGINE[+compile]``)."""
    opt = adam(model.parameters(), lr=1e-4, impl=adam_impl)
    if runner == "regression":
        x = pts["interior"]
        y = torch.zeros(x.shape[0], 1, device=x.device)

        def loss_of(m, _):
            return ((m(x) - y) ** 2).mean(), {}
    else:
        engine, _, compiled = runner.partition("+")
        loss_of = PINNLoss(pde, get_engine(engine))
        if compiled:
            loss_of = GuardedCompile(loss_of, what=f"the {engine} loss")

    def step():
        opt.zero_grad(set_to_none=True)
        loss, _ = loss_of(model, pts)
        loss.backward()
        opt.step()

    return step


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench(pde_name, depth, width, n, runners, repeats, warmup, device):
    """``{runner: (median ms, q1, q3, first-step seconds)}``, runners interleaved step by step."""
    pde = PDES[pde_name]()
    steps, first = {}, {}
    for name in runners:
        model, pts = _setup(pde, depth, width, n, device)
        steps[name] = make_step(name, pde, model, pts)
        t = time.perf_counter()
        steps[name]()
        _sync(device)
        first[name] = time.perf_counter() - t
        for _ in range(warmup):
            steps[name]()
    times = {name: [] for name in steps}
    for _ in range(repeats):  # interleaved: noise falls on every runner alike
        for name, step in steps.items():
            _sync(device)
            t = time.perf_counter()
            step()
            _sync(device)
            times[name].append(1e3 * (time.perf_counter() - t))
    return {name: (statistics.median(v), *statistics.quantiles(v, n=4)[::2], first[name]) for name, v in times.items()}


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class _RssPeak:
    """Peak resident set (MB) above the level at entry, polled by a thread."""

    def __enter__(self):
        self.base = self.peak = _rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_mb())
            time.sleep(0.0002)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())

    @property
    def extra(self) -> float:
        return max(0.0, self.peak - self.base)


def probe_memory(pde_name, depth, width, n, runner, device) -> float:
    """Peak extra memory (MB) of one step, after set-up and one warm-up step."""
    pde = PDES[pde_name]()
    model, pts = _setup(pde, depth, width, n, device)
    step = make_step(runner, pde, model, pts)
    step()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        step()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    with _RssPeak() as rss:
        step()
    return rss.extra


def probe_eval_memory(points_per_axis: int, device) -> dict:
    """Peak extra memory (MB) and time of pinn's grid evaluation (8x20 net, heat, whose reference is cheap)."""
    pde = Heat()
    model = MLP(pde.domain.lower, pde.domain.upper, generator=torch.Generator().manual_seed(0)).to(device)
    evaluate_grid(model, pde, [11, 11])  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    with _RssPeak() as rss:
        t = time.perf_counter()
        ev = evaluate_grid(model, pde, [points_per_axis, points_per_axis])
        seconds = time.perf_counter() - t
    extra = (torch.cuda.max_memory_allocated() - base) / 2**20 if device.type == "cuda" else rss.extra
    return {"points": ev.u_pred.size, "extra_mb": extra, "seconds": seconds}


def _in_fresh_process(args: list[str]) -> dict:
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072"}
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, timeout=900, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"memory probe failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def memory(pde, depth, width, n, runner, device) -> float:
    if device.type == "cuda":
        return probe_memory(pde, depth, width, n, runner, device)
    return _in_fresh_process(["--probe", json.dumps([pde, depth, width, n, runner])])["mb"]


def deepxde_row(python: str, repeats: int) -> dict | None:
    """ms per Adam step of DeepXDE's Burgers example (its own process and environment) and of ours on its setup."""
    out = subprocess.run([python, str(HERE / "_deepxde_burgers.py"), "--steps", str(repeats)],
                         capture_output=True, text=True, timeout=1800, env={**os.environ, "DDE_BACKEND": "pytorch"})
    if out.returncode != 0:
        print(f"DeepXDE row skipped: {(out.stderr.strip().splitlines() or ['no output'])[-1]}", file=sys.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def ours_on_deepxde_setup(repeats: int, device) -> float:
    """Our default step (autograd engine) on DeepXDE's Burgers example setup: 3x20 tanh, 2540/80/160 points."""
    pde = Burgers()
    model, pts = _setup(pde, 3, 20, 2540, device, n_initial=160, n_boundary=80)
    step = make_step("autograd", pde, model, pts)
    for _ in range(20):
        step()
    _sync(device)
    t = time.perf_counter()
    for _ in range(repeats):
        step()
    _sync(device)
    return 1e3 * (time.perf_counter() - t) / repeats


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pdes", nargs="+", default=["burgers", "wave"], choices=sorted(PDES))
    p.add_argument("--sizes", nargs="+", default=["8x20", "4x64", "4x256"], help="DEPTHxWIDTH")
    p.add_argument("--points", nargs="+", type=int, default=[2000, 10000, 50000])
    p.add_argument("--engines", nargs="+", default=["autograd", "func", "taylor", "autograd+compile", "taylor+compile"])
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--memory", action="store_true", help="add the peak memory of a step (CPU: a process per cell)")
    p.add_argument("--eval-memory", type=int, default=0, metavar="N",
                   help="also measure evaluation on an N x N grid (1000: a million points)")
    p.add_argument("--deepxde", metavar="PYTHON", help="a Python with deepxde installed: add its Burgers example")
    p.add_argument("--deepxde-steps", type=int, default=500)
    p.add_argument("--probe", help=argparse.SUPPRESS)
    p.add_argument("--probe-eval", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    device = torch.device(args.device)
    if args.probe:
        pde, depth, width, n, runner = json.loads(args.probe)
        print(json.dumps({"mb": probe_memory(pde, depth, width, n, runner, device)}))
        return
    if args.probe_eval:
        print(json.dumps(probe_eval_memory(args.probe_eval, device)))
        return
    card = torch.cuda.get_device_name(device) if device.type == "cuda" else (platform.processor() or platform.machine())
    print(f"torch {torch.__version__}, {device.type} ({card}), {torch.get_num_threads()} CPU threads, float32\n")
    runners = ["regression", *args.engines]
    head = ["pde", "net", "points"] + [f"{r} ms (IQR)" for r in runners]
    head += [f"{r} / autograd" for r in args.engines if r != "autograd"] + [f"{r} / regression" for r in args.engines]
    if args.memory:
        head += [f"{r} MB" for r in runners]
    compile_seconds = {}
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head), flush=True)
    for pde in args.pdes:
        for size in args.sizes:
            depth, width = (int(v) for v in size.lower().split("x"))
            for n in args.points:
                r = bench(pde, depth, width, n, runners, args.repeats, args.warmup, device)
                row = [pde, size, str(n)] + [f"{r[e][0]:.2f} ({r[e][1]:.2f}-{r[e][2]:.2f})" for e in runners]
                row += [f"{r[e][0] / r['autograd'][0]:.2f}" for e in args.engines if e != "autograd" and "autograd" in r]
                row += [f"{r[e][0] / r['regression'][0]:.2f}" for e in args.engines]
                if args.memory:
                    row += [f"{memory(pde, depth, width, n, e, device):.1f}" for e in runners]
                compile_seconds.update({(pde, size, n, e): r[e][3] for e in runners if "+compile" in e})
                print("| " + " | ".join(row) + " |", flush=True)
    if compile_seconds:
        print("\nFirst step of each compiled runner (compile time included), seconds: " +
              ", ".join(f"{k[0]} {k[1]} {k[2]} {k[3]}: {v:.1f}" for k, v in compile_seconds.items()))
    if args.eval_memory:
        ev = probe_eval_memory(args.eval_memory, device) if device.type == "cuda" else \
            _in_fresh_process(["--probe-eval", str(args.eval_memory), "--device", args.device])
        print(f"\nEvaluation of {ev['points']:,} grid points (heat, 8x20 net, inference_mode, chunks of 65,536, "
              f"prediction and reference arrays included): "
              f"{ev['extra_mb']:.1f} MB extra peak memory, {ev['seconds']:.2f} s")
    if args.deepxde:
        theirs = deepxde_row(args.deepxde, args.deepxde_steps)
        if theirs is not None:
            ours = ours_on_deepxde_setup(args.deepxde_steps, device)
            theirs2 = deepxde_row(args.deepxde, args.deepxde_steps)  # again, so drift hits both sides
            ms = statistics.mean([theirs["ms_per_step"], theirs2["ms_per_step"]]) if theirs2 else theirs["ms_per_step"]
            print(f"\nDeepXDE {theirs['version']} (pytorch backend) Burgers example setup, 3x20 tanh, 2540 domain + "
                  f"80 boundary + 160 initial points, Adam, {args.deepxde_steps} steps:\n")
            print("| | ms per Adam step | DeepXDE / ours |")
            print("|---|---|---|")
            print(f"| DeepXDE | {ms:.2f} | |")
            print(f"| pinn (autograd engine) | {ours:.2f} | {ms / ours:.2f} |")


if __name__ == "__main__":
    main()
