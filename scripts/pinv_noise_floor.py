"""How well can PInv's noisy data pin u at all?  The error of estimators told more than a PINN is.

PInv (``experiments/pinv.yaml``) observes ``u = sin(pi x) sin(pi y)`` at PINNacle's 50 x 50 grid
with Gaussian noise of std 0.1; the PDE ``div(a grad u) + f = 0`` with ``a`` known only on the
boundary leaves ``u`` free up to one scalar constraint (given any smooth ``u`` with one peak, ``a``
follows from a transport equation along ``grad u``), so the data set ``u``'s error.  This script
fits the noisy data by least squares on the first ``K x K`` sine modes ``sin(k pi x) sin(l pi y)``,
a family that contains the exact ``u`` (``K = 1`` is an oracle told ``u`` up to its amplitude), over
many noise draws, and prints the rel. L2 error of ``u`` on a 101 x 101 grid: its rms, median and
the share of draws at or below a target.

    python scripts/pinv_noise_floor.py --draws 400 --target 4e-3
"""

from __future__ import annotations

import argparse

import numpy as np

from pinn.pdes._reference import DATA


def _modes(k: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.stack([np.sin(m * np.pi * x) * np.sin(n * np.pi * y) for m in range(1, k + 1) for n in range(1, k + 1)], -1)


def floor(k: int, *, draws: int, noise_std: float = 0.1, seed: int = 0) -> np.ndarray:
    """The rel. L2 error of ``u`` after a least-squares fit on ``k x k`` sine modes, one per draw."""
    pts = np.loadtxt(DATA / "pinv_points.dat")
    grid = np.linspace(0.0, 1.0, 101)
    gx, gy = (a.ravel() for a in np.meshgrid(grid, grid, indexing="ij"))
    exact = np.sin(np.pi * gx) * np.sin(np.pi * gy)
    at_data = np.sin(np.pi * pts[:, 0]) * np.sin(np.pi * pts[:, 1])
    fit, on_grid = _modes(k, pts[:, 0], pts[:, 1]), _modes(k, gx, gy)
    rng = np.random.default_rng(seed)
    noisy = at_data[:, None] + noise_std * rng.standard_normal((len(at_data), draws))
    coef, *_ = np.linalg.lstsq(fit, noisy, rcond=None)
    return np.linalg.norm(on_grid @ coef - exact[:, None], axis=0) / np.linalg.norm(exact)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=400)
    parser.add_argument("--target", type=float, default=4e-3)
    parser.add_argument("--modes", type=int, nargs="+", default=[1, 2, 3, 4, 6])
    args = parser.parse_args(argv)
    print(f"| modes | rms rel. L2 of u | median | draws <= {args.target:g} |\n|---|---|---|---|")
    for k in args.modes:
        e = floor(k, draws=args.draws)
        print(f"| {k * k} | {np.sqrt(np.mean(e**2)):.2e} | {np.median(e):.2e} | {np.mean(e <= args.target):.0%} |")


if __name__ == "__main__":
    main()
