"""Gray-Scott (PINNacle's GS, its file lost): our 2-D ETDRK4 reference converges in time and in
space, solves the PDE as coded and starts from the initial spots; the hard constraint holds them;
a run is scored at the reference's nodes, per field."""

import numpy as np
import pytest
import torch

from pinn.pdes import GrayScott
from pinn.pdes._spectral import solve_gs


def _rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_etdrk4_converges_in_time_and_space():
    """Over [0, 50] (the spots split and sharpen later; over all of [0, 200] 256 and 512 modes
    agree to 6.8e-6 in u and 1.7e-4 in v, docs/accuracy.md): halving the step of 1 divides the
    change by 8 or more (ETDRK4 is fourth order), and steps of 0.5 are within 1e-4 of steps of
    0.125; 64 -> 128 -> 256 modes, the change shrinks by 8x or more (v: 8.6e-2, then 8.8e-3)."""
    run = {(n, s): solve_gs(n=n, steps_per_save=s, saves=10, t_end=50.0)[2:] for n, s in
           ((64, 5), (128, 5), (128, 10), (128, 40), (256, 5))}
    for field in (0, 1):
        step1, step05 = (_rel(run[128, s][field], run[128, 40][field]) for s in (5, 10))
        assert step1 > 8 * step05 and step05 < 1e-4, (field, step1, step05)
        coarse = _rel(run[64, 5][field], run[256, 5][field][::4, ::4])
        mid = _rel(run[128, 5][field], run[256, 5][field][::2, ::2])
        assert mid < coarse / 8, (field, coarse, mid)


def test_the_residual_vanishes_on_the_reference():
    """PDE.residual on the spectral solution at t = 5 (Laplacians by FFT, time derivatives by
    central differences 1e-2 apart): the differences' error only; with the feed rate changed it is not."""
    dt = 1e-2
    x, t, u, v = solve_gs(n=64, steps_per_save=1, saves=501, t_end=501 * dt)
    k = np.pi * np.fft.fftfreq(64, d=1 / 64)
    lap = -(k[:, None] ** 2 + k[None, :] ** 2)
    mid = 500
    fields = {"u": u[..., mid], "v": v[..., mid]}
    for name, w in (("u", u), ("v", v)):
        fields[f"{name}_t"] = (w[..., mid + 1] - w[..., mid - 1]) / (2 * dt)
        second = np.real(np.fft.ifft2(lap * np.fft.fft2(w[..., mid])))
        fields[f"{name}_xx"], fields[f"{name}_yy"] = second / 2, second / 2  # only their sums enter
    fields = {n: torch.from_numpy(np.ascontiguousarray(a)) for n, a in fields.items()}
    gx, gy = np.meshgrid(x, x, indexing="ij")
    coords = {"x": torch.from_numpy(gx), "y": torch.from_numpy(gy), "t": torch.full(gx.shape, t[mid])}
    pde = GrayScott()
    scale = max(float(fields["u_t"].abs().max()), float(fields["v_t"].abs().max()))
    r = pde.residual(fields, coords)
    assert max(float(r["gs_u"].abs().max()), float(r["gs_v"].abs().max())) < 1e-4 * scale
    wrong = GrayScott()
    wrong.feed = 0.05
    assert float(wrong.residual(fields, coords)["gs_u"].abs().max()) > 1e-3


def test_the_scoring_nodes_start_from_the_initial_spots():
    cols, values = GrayScott(t=[0.0, 50.0]).nodes()
    assert values.shape[1] == 2 and set(cols) == {"x", "y", "t"} and cols["t"].max() == pytest.approx(50.0)
    at0 = cols["t"] == 0
    u0, v0 = GrayScott.initial_values(cols["x"][at0], cols["y"][at0])
    np.testing.assert_allclose(values[at0, 0], u0, atol=1e-12)
    np.testing.assert_allclose(values[at0, 1], v0, atol=1e-12)


def test_the_hard_constraint_holds_the_initial_spots():
    pde = GrayScott()
    g = torch.Generator().manual_seed(0)
    x, y = (2 * torch.rand(30, generator=g, dtype=torch.float64) - 1 for _ in range(2))
    raw = {"u": torch.randn(30, generator=g, dtype=torch.float64), "v": torch.randn(30, generator=g, dtype=torch.float64)}
    out = pde.constrain(raw, {"x": x, "y": y, "t": torch.zeros_like(x)})
    u0, v0 = GrayScott.initial_values(x, y)
    torch.testing.assert_close(out["u"], u0)
    torch.testing.assert_close(out["v"], v0)
