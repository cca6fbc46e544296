"""DeepXDE's own Burgers example (examples/pinn_forward/Burgers.py), timed; run by bench_step.py.

Run it with a Python that has deepxde installed (the benchmark's optional environment,
never a dependency of pinn), with DDE_BACKEND=pytorch.  Prints one JSON line.
"""

import argparse
import json
import time

import deepxde as dde
import numpy as np


def build():
    geom = dde.geometry.Interval(-1, 1)
    timedomain = dde.geometry.TimeDomain(0, 0.99)
    geomtime = dde.geometry.GeometryXTime(geom, timedomain)

    def pde(x, y):
        dy_x = dde.grad.jacobian(y, x, i=0, j=0)
        dy_t = dde.grad.jacobian(y, x, i=0, j=1)
        dy_xx = dde.grad.hessian(y, x, i=0, j=0)
        return dy_t + y * dy_x - 0.01 / np.pi * dy_xx

    bc = dde.icbc.DirichletBC(geomtime, lambda x: 0, lambda _, on_boundary: on_boundary)
    ic = dde.icbc.IC(geomtime, lambda x: -np.sin(np.pi * x[:, 0:1]), lambda _, on_initial: on_initial)
    data = dde.data.TimePDE(geomtime, pde, [bc, ic], num_domain=2540, num_boundary=80, num_initial=160)
    net = dde.nn.FNN([2] + [20] * 3 + [1], "tanh", "Glorot normal")
    model = dde.Model(data, net)
    model.compile("adam", lr=1e-3)
    return model


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=500)
    args = p.parse_args()
    model = build()
    model.train(iterations=20, display_every=10**9, verbose=0)  # warm-up
    t = time.perf_counter()
    model.train(iterations=args.steps, display_every=10**9, verbose=0)
    ms = 1e3 * (time.perf_counter() - t) / args.steps
    print(json.dumps({"version": dde.__version__, "ms_per_step": ms}))


if __name__ == "__main__":
    main()
