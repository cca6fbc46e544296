"""An independent check of PINNacle's NS2d-C table (``lid_driven_a4.dat``): a finite-volume solve.

The steady lid-driven cavity of :class:`pinn.pdes.LidDrivenCavity` (nu = 0.01, lid u = 4x(1-x))
is marched to its steady state on a staggered (MAC) grid of N x N cells: central differences for
advection and diffusion (cell Reynolds number below 2), explicit Euler in time, and a projection
whose pressure Poisson problem (Neumann walls) is solved exactly in the eigenbasis of the 1-D
Neumann Laplacian.  At the steady state the projection's pressure is the pressure.  The solution
on two grids gives its own error (second order); both are then compared with the table at its
10,201 nodes (u, v, p; p with the table's gauge p(0, 0) = 0, and without any gauge), over all
nodes and without those near the lid's corners.

    python scripts/lid_driven_reference.py --cells 64 128
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pinn.pdes import LidDrivenCavity


def _neumann_eigen(n: int, h: float):
    """Eigenvectors and eigenvalues of the 1-D Laplacian on n cells with zero-flux ends."""
    a = np.zeros((n, n))
    idx = np.arange(n)
    a[idx, idx] = -2.0
    a[idx[:-1], idx[:-1] + 1] = 1.0
    a[idx[1:], idx[1:] - 1] = 1.0
    a[0, 0] = a[-1, -1] = -1.0
    lam, vec = np.linalg.eigh(a / h**2)
    return lam, vec


def solve(n: int, *, nu: float = 0.01, tol: float = 1e-9, max_time: float = 200.0):
    """Steady u (on x faces), v (on y faces), p (centres) on n x n cells of [0, 1]^2."""
    h = 1.0 / n
    dt = min(0.2 * h * h / nu, 0.5 * h)
    u = np.zeros((n + 1, n))  # x = i h, y = (j + 1/2) h
    v = np.zeros((n, n + 1))  # x = (i + 1/2) h, y = j h
    p = np.zeros((n, n))
    x_faces = np.arange(n + 1) * h
    lid = 4 * x_faces * (1 - x_faces)
    lam, vec = _neumann_eigen(n, h)
    denom = lam[:, None] + lam[None, :]
    k = int(np.argmin(np.abs(lam)))  # the constant mode (eigenvalue 0): fixed by the gauge
    denom[k, k] = 1.0
    t, steps = 0.0, 0
    while t < max_time:
        # tangential velocities beyond the walls (ghosts): no-slip, and the lid's u on top
        ug = np.zeros((n + 1, n + 2))
        ug[:, 1:-1] = u
        ug[:, 0] = -u[:, 0]
        ug[:, -1] = 2 * lid - u[:, -1]
        vg = np.zeros((n + 2, n + 1))
        vg[1:-1, :] = v
        vg[0, :] = -v[0, :]
        vg[-1, :] = -v[-1, :]
        # u-momentum at interior x faces
        uc = ug[1:-1, 1:-1]
        ux = (ug[2:, 1:-1] - ug[:-2, 1:-1]) / (2 * h)
        uy = (ug[1:-1, 2:] - ug[1:-1, :-2]) / (2 * h)
        v_at_u = 0.25 * (v[:-1, :-1] + v[1:, :-1] + v[:-1, 1:] + v[1:, 1:])
        lap_u = (ug[2:, 1:-1] + ug[:-2, 1:-1] + ug[1:-1, 2:] + ug[1:-1, :-2] - 4 * uc) / h**2
        us = u.copy()
        us[1:-1, :] = uc + dt * (-(uc * ux + v_at_u * uy) + nu * lap_u)
        # v-momentum at interior y faces
        vc = vg[1:-1, 1:-1]
        vx = (vg[2:, 1:-1] - vg[:-2, 1:-1]) / (2 * h)
        vy = (vg[1:-1, 2:] - vg[1:-1, :-2]) / (2 * h)
        u_at_v = 0.25 * (u[:-1, :-1] + u[1:, :-1] + u[:-1, 1:] + u[1:, 1:])
        lap_v = (vg[2:, 1:-1] + vg[:-2, 1:-1] + vg[1:-1, 2:] + vg[1:-1, :-2] - 4 * vc) / h**2
        vs = v.copy()
        vs[:, 1:-1] = vc + dt * (-(u_at_v * vx + vc * vy) + nu * lap_v)
        # projection: lap phi = div / dt, zero normal flux; u = u* - dt grad phi
        div = (us[1:, :] - us[:-1, :] + vs[:, 1:] - vs[:, :-1]) / h
        rhs = vec.T @ (div / dt) @ vec
        phi_hat = rhs / denom
        phi_hat[k, k] = 0.0
        phi = vec @ phi_hat @ vec.T
        un = us.copy()
        vn = vs.copy()
        un[1:-1, :] -= dt * (phi[1:, :] - phi[:-1, :]) / h
        vn[:, 1:-1] -= dt * (phi[:, 1:] - phi[:, :-1]) / h
        change = max(np.abs(un - u).max(), np.abs(vn - v).max()) / dt
        u, v, p = un, vn, phi
        t += dt
        steps += 1
        if change < tol:
            break
    return u, v, p, {"cells": n, "t": t, "steps": steps, "change": change}


def _bilinear(values: np.ndarray, xs: np.ndarray, ys: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``values[i, j]`` at (xs[i], ys[j]) interpolated (or linearly extrapolated) to (x, y)."""
    i = np.clip(np.searchsorted(xs, x) - 1, 0, len(xs) - 2)
    j = np.clip(np.searchsorted(ys, y) - 1, 0, len(ys) - 2)
    a = (x - xs[i]) / (xs[i + 1] - xs[i])
    b = (y - ys[j]) / (ys[j + 1] - ys[j])
    return ((1 - a) * (1 - b) * values[i, j] + a * (1 - b) * values[i + 1, j]
            + (1 - a) * b * values[i, j + 1] + a * b * values[i + 1, j + 1])


def at_nodes(u, v, p, x, y):
    """The grid solution at the points (x, y): u, v and p (with p(0, 0) = 0)."""
    n = p.shape[0]
    h = 1.0 / n
    faces = np.arange(n + 1) * h
    centres = (np.arange(n) + 0.5) * h
    # u on x faces: extend in y with the wall values (0 below, the lid above)
    ue = np.concatenate([np.zeros((n + 1, 1)), u, (4 * faces * (1 - faces))[:, None]], axis=1)
    ve = np.concatenate([np.zeros((1, n + 1)), v, np.zeros((1, n + 1))], axis=0)
    ys_u = np.concatenate([[0.0], centres, [1.0]])
    uu = _bilinear(ue, faces, ys_u, x, y)
    vv = _bilinear(ve, ys_u, faces, x, y)
    pp = _bilinear(p, centres, centres, x, y)
    p0 = _bilinear(p, centres, centres, np.zeros(1), np.zeros(1))[0]
    return uu, vv, pp - p0


def _rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--corner", type=float, default=0.02, help="distance from the lid's corners left out in the last columns")
    args = ap.parse_args()
    pde = LidDrivenCavity()
    nodes, ref = pde.nodes()
    x, y = nodes["x"], nodes["y"]
    ru, rv, rp = ref[:, 0], ref[:, 1], ref[:, 2]
    far = np.minimum(np.hypot(x, y - 1), np.hypot(x - 1, y - 1)) > args.corner
    solutions = {}
    print("| cells | steps | t | table vs grid: u | v | p (p(0,0) = 0) | p (means removed) | all | u, v, p without the lid's corners |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in args.cells:
        start = time.perf_counter()
        u, v, p, info = solve(n)
        gu, gv, gp = at_nodes(u, v, p, x, y)
        solutions[n] = (gu, gv, gp)
        both = _rel(np.concatenate([ru, rv, rp]), np.concatenate([gu, gv, gp]))
        centred = _rel(rp - rp.mean(), gp - gp.mean())
        far_all = [_rel(r[far], g[far]) for r, g in ((ru, gu), (rv, gv), (rp, gp))]
        print(f"| {n} | {info['steps']} | {info['t']:.1f} | {_rel(ru, gu):.2e} | {_rel(rv, gv):.2e} | {_rel(rp, gp):.2e} "
              f"| {centred:.2e} | {both:.2e} | {', '.join(f'{e:.2e}' for e in far_all)} |  ({time.perf_counter() - start:.0f} s)")
    if len(solutions) > 1:
        (a, sa), (b, sb) = list(solutions.items())[-2:]
        print(f"\ngrid {a} against grid {b} at the table's nodes (the coarser grid's own error, second order):",
              ", ".join(f"{k} {_rel(x1, x2):.2e}" for k, x1, x2 in zip("uvp", sa, sb)))
        print("table corner pressures (0,1), (1,1):", rp[(x == 0) & (y == 1)], rp[(x == 1) & (y == 1)],
              "grid:", sb[2][(x == 0) & (y == 1)], sb[2][(x == 1) & (y == 1)])


if __name__ == "__main__":
    main()
