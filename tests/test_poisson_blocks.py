"""Poisson2d-MS (PINNacle's Poisson2D_ManyArea) in divergence form: the shipped coefficients read
PINNacle's way, our finite-volume reference (converging; inside each block the PDE holds, across
the blocks' edges the flux a du/dn is continuous while du/dn jumps, the Robin condition on the
walls), the residual, a run from the command line."""

import math

import numpy as np
import pytest
import torch

from pinn.pdes import PoissonManyArea
from pinn.pdes.poisson_blocks import block_coefficients, finite_volumes, source


def _pinnacle_f(point, f_cof):
    """PINNacle's own f (src/pde/poisson.py, Poisson2D_ManyArea.f), transcribed literally."""
    bbox, split = [-10, 10, -10, 10], (5, 5)
    block_size = np.array([(bbox[1] - bbox[0] + 2e-5) / split[0], (bbox[3] - bbox[2] + 2e-5) / split[1]])
    reduced_x = point - np.array(bbox[::2]) + 1e-5
    dom = np.floor(reduced_x / block_size).astype("int32")
    res = reduced_x - dom * block_size
    coef = f_cof[dom[0], dom[1]]
    ans = coef[0, 0]
    for i in range(coef.shape[0]):
        for j in range(coef.shape[1]):
            tmp = np.sin(np.pi * np.array((i, j)) * (res / block_size))
            ans += coef[i, j] * tmp[0] * tmp[1]
    return ans


def test_the_source_is_pinnacles():
    _, f_cof = block_coefficients()
    rng = np.random.default_rng(0)
    pts = rng.uniform(-10, 10, size=(200, 2))
    pts[:5] = [[-10, -10], [-6, 2], [2, -2], [10, 10], [6, 6]]  # corners and block edges
    theirs = np.array([_pinnacle_f(p, f_cof) for p in pts])
    np.testing.assert_allclose(source(pts[:, 0], pts[:, 1], f_cof), theirs, rtol=1e-12, atol=1e-12)
    t = torch.from_numpy(pts)
    np.testing.assert_allclose(source(t[:, 0], t[:, 1], f_cof).numpy(), theirs, rtol=1e-12, atol=1e-12)


@pytest.fixture(scope="module")
def solves():
    return {n: finite_volumes(cells=n) for n in (50, 100, 200)}


def test_the_finite_volumes_converge(solves):
    """Cell averages of the finer solve against the coarser: the change halves with the cell (first
    order, from the Robin condition's half-cell; 400 -> 800 cells: 1.5e-3, a tenth of the 5e-2 target)."""
    def coarsen(u, k):
        n = u.shape[0] // k
        return u.reshape(n, k, n, k).mean(axis=(1, 3))

    d1 = np.linalg.norm(solves[50][1] - coarsen(solves[100][1], 2)) / np.linalg.norm(solves[100][1]) * 2
    d2 = np.linalg.norm(solves[100][1] - coarsen(solves[200][1], 2)) / np.linalg.norm(solves[200][1]) * 2
    assert d2 < 0.7 * d1, (d1, d2)


def test_the_solve_holds_the_pde_the_flux_condition_and_the_robin_condition(solves):
    centres, u = solves[200]
    h = centres[1] - centres[0]
    a_coef, f_coef = block_coefficients()
    gx, gy = np.meshgrid(centres, centres, indexing="ij")
    # inside a block (away from its edges): a Lap(u) + f = 0 to O(h^2)
    lap = (u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4 * u[1:-1, 1:-1]) / h**2
    a = a_coef[np.floor((gx + 10) / 4).astype(int), np.floor((gy + 10) / 4).astype(int)]
    res = a[1:-1, 1:-1] * lap + source(gx, gy, f_coef)[1:-1, 1:-1]
    inner = np.ones_like(res, dtype=bool)
    for edge in (-6, -2, 2, 6):  # two cells either side of every block edge
        inner &= np.abs(gx[1:-1, 1:-1] - edge) > 2.5 * h
        inner &= np.abs(gy[1:-1, 1:-1] - edge) > 2.5 * h
    scale = np.abs(source(gx, gy, f_coef)).max()
    assert np.abs(res[inner]).max() < 1e-2 * scale
    # across the edge x = -2 (a 1.47 on the left, 9.06 on the right, for y in (-6, -2)): the flux
    # a u_x is continuous, so u_x jumps by the ratio of the a's, 6.16 (the strong form PINNacle's
    # code trains would keep u_x continuous: ratio 1).  One-sided slopes 1.5 cells apart: 5.4 on
    # 100 cells, 5.8 on 200
    k = np.argmin(np.abs(centres + 2 + h / 2))  # the last cell left of x = -2
    rows = slice(np.argmin(np.abs(centres + 5)), np.argmin(np.abs(centres + 3)))
    left = (u[k] - u[k - 1])[rows] / h
    right = (u[k + 2] - u[k + 1])[rows] / h
    expected = a_coef[2, 1] / a_coef[1, 1]
    assert abs(np.median(left / right) / expected - 1) < 0.1, (np.median(left / right), expected)
    # the Robin condition on x = 10, du/dn = -u, by one-sided differences (the boundary value
    # extrapolated): its defect shrinks with the cell (first order)
    defects = []
    for n in (100, 200):
        c, w = solves[n]
        step = c[1] - c[0]
        u_b = 1.5 * w[-1] - 0.5 * w[-2]
        defects.append(np.abs((w[-1] - w[-2]) / step + u_b).max() / np.abs(u_b).max())
    assert defects[1] < 0.6 * defects[0] and defects[1] < 0.15, defects


def test_the_residual_is_the_divergence_form():
    pde = PoissonManyArea(resolution=50, divided=False)
    g = torch.Generator().manual_seed(1)
    x, y = (20 * torch.rand(300, generator=g, dtype=torch.float64) - 10 for _ in range(2))
    fields = {n: torch.randn(300, generator=g, dtype=torch.float64) for n in ("u_x", "u_y", "u_xx", "u_yy")}
    a, a_x, a_y = pde.coefficient(x, y)
    expected = a * (fields["u_xx"] + fields["u_yy"]) + a_x * fields["u_x"] + a_y * fields["u_y"] + source(x, y, pde.f_coef)
    torch.testing.assert_close(pde.residual(fields, {"x": x, "y": y}), expected)
    # the default trains on it divided by a: the same zero set, each block weighed alike
    divided = PoissonManyArea(resolution=50).residual(fields, {"x": x, "y": y})
    torch.testing.assert_close(divided, expected / a)
    assert float(a.max() / a.min()) > 100  # a division that matters
    with pytest.raises(ValueError, match="divided must be true or false"):
        PoissonManyArea(divided="yes")  # type: ignore[arg-type]
    centres = torch.tensor([-8.0, -4.0, 0.0, 4.0, 8.0], dtype=torch.float64)  # a is the block's own there
    a_c, ax_c, ay_c = pde.coefficient(centres, centres)
    np.testing.assert_allclose(a_c.numpy(), np.diag(pde.a_coef), rtol=1e-12)
    assert float(ax_c.abs().max()) == 0 and float(ay_c.abs().max()) == 0
    with pytest.raises(ValueError, match="multiple of 5"):
        PoissonManyArea(resolution=64)
    assert math.isclose(float(pde.a_coef.min()), 0.1319132004739979, rel_tol=1e-12)


def test_it_trains_from_the_command_line_and_is_scored_on_the_reference(tmp_path, monkeypatch):
    """A few steps of pde=poisson2d_ms, scored at the cached finite-volume reference's nodes."""
    from pinn.cli.build import build, run_training
    from pinn.cli.train import check_config

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cfg = check_config(["pde=poisson2d_ms", "model.width=8", "model.depth=2", "points.interior=300",
                        "points.boundary=100", "stages.adam.steps=5", "stages.quasi_newton.steps=0", "plots=false"])
    metrics = run_training(cfg, tmp_path / "run", job=build(cfg))
    assert 0.5 < metrics["rel_l2"] < 2.0 and metrics["resolution"] == "reference nodes"
