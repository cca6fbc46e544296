"""DeepXDE's Burgers example, trained while its rel. L2 is measured; run by bench_time_to_accuracy.py.

Needs deepxde (the benchmark's optional environment) and DDE_BACKEND=pytorch.  Prints one JSON line.
"""

import argparse
import json
import time

import deepxde as dde
import numpy as np

from _deepxde_burgers import build


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--grid", required=True, help="npz with x, t and the reference u[x, t]")
    p.add_argument("--seconds", type=float, default=600.0)
    p.add_argument("--chunk", type=int, default=500)
    args = p.parse_args()
    with np.load(args.grid) as f:
        x, t, ref = f["x"], f["t"], f["u"]
    xx, tt = np.meshgrid(x, t, indexing="ij")
    points = np.stack([xx.reshape(-1), tt.reshape(-1)], axis=1)
    ref = ref.reshape(-1)
    model = build()
    clock, times, errors = 0.0, [], []

    def measure():
        pred = model.predict(points).reshape(-1)
        errors.append(float(np.linalg.norm(pred - ref) / np.linalg.norm(ref)))
        times.append(clock)

    adam_left = 15000
    while adam_left > 0 and clock < args.seconds:
        t0 = time.perf_counter()
        model.train(iterations=min(args.chunk, adam_left), display_every=10**9, verbose=0)
        clock += time.perf_counter() - t0
        adam_left -= args.chunk
        measure()
    dde.optimizers.set_LBFGS_options(maxiter=args.chunk)
    model.compile("L-BFGS")
    for _ in range(30):  # up to 15,000 L-BFGS iterations, like the example's default
        if clock >= args.seconds:
            break
        t0 = time.perf_counter()
        model.train(display_every=10**9, verbose=0)
        clock += time.perf_counter() - t0
        measure()
    print(json.dumps({"version": dde.__version__, "times": times, "errors": errors, "total": clock}))


if __name__ == "__main__":
    main()
