"""The Allen-Cahn reference (``pinn.pdes._spectral``: Fourier collocation with ETDRK4).

    python scripts/allen_cahn_reference.py            # computes it and fills the cache AllenCahn reads
    python scripts/allen_cahn_reference.py --check    # convergence in N and dt, printed as a table
"""

from __future__ import annotations

import argparse

import numpy as np

from pinn.pdes._spectral import fourier_interpolate, solve
from pinn.pdes.allen_cahn import load_reference


def check(n: int = 2048, dt: float = 1e-4) -> None:
    base = solve(n, dt)
    print(f"| N | dt | max abs difference to N={n}, dt={dt:g}: all 201 snapshots | t >= 0.05 | t = 1 |")
    print("|---|---|---|---|---|")
    for m, h in [(n // 2, dt), (2 * n, dt), (n, 2 * dt)]:
        x, _, u = solve(m, h)
        other = fourier_interpolate(x, u, base[0]) if m != n else u
        d = np.abs(other - base[2])
        print(f"| {m} | {h:g} | {d.max():.2e} | {d[:, 10:].max():.2e} | {d[:, -1].max():.2e} |", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true", help="print the convergence table instead of caching the reference")
    p.add_argument("--n", type=int, default=2048)
    p.add_argument("--dt", type=float, default=1e-4)
    args = p.parse_args()
    if args.check:
        check(args.n, args.dt)
        return
    ref = load_reference()
    print(f"Allen-Cahn reference: u{ref['u'].shape}, |u| <= {np.abs(ref['u']).max():.4f}")


if __name__ == "__main__":
    main()
