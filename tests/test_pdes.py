import math

import numpy as np
import pytest
import torch

from pinn import Burgers, Heat, Heat2D, PINNLoss, Wave, get_engine, get_sampler
from pinn.pdes import Wave2D
from pinn.diff.autograd import AutogradEngine
from pinn.io._matfile import load_mat
from pinn.pdes.burgers import default_nodes, gauss_hermite


def _interior(pde, n=200, seed=0, t_margin=0.02):
    g = torch.Generator().manual_seed(seed)
    lo, hi = pde.domain.lower, pde.domain.upper
    p = lo + torch.rand(n, pde.domain.dim, generator=g, dtype=torch.float64) * (hi - lo)
    p[:, -1] = p[:, -1].clamp(min=lo[-1] + t_margin)  # Cole-Hopf's sqrt(t) is not differentiable at t = 0
    return p


def _residuals_on(pde_for_residual, solution_pde, points, which="residual"):
    def exact(p):
        return solution_pde.solution(dict(zip(solution_pde.domain.coordinates, p.unbind(-1))))

    terms = [t for t in pde_for_residual.terms() if t.name == which]
    return AutogradEngine().residuals(exact, points, pde_for_residual.domain.coordinates, terms)[which]


def _scale(pde, points):
    """Typical size of the residual's terms, to judge round-off."""
    def exact(p):
        return pde.solution(dict(zip(pde.domain.coordinates, p.unbind(-1))))
    from pinn.diff.autograd import Derivatives
    d = Derivatives(exact, points, pde.domain.coordinates)
    return max(d[f].abs().max().item() for f in pde.residual_fields)


CASES = [
    (Heat(), Heat(alpha=0.5)),
    (Heat2D(), Heat2D(ky=1.0)),
    (Burgers(a=2.0, nu=0.02), Burgers(a=1.5, nu=0.02)),
    (Heat2D(kx=0.05, ky=0.02, modes=[[1, 2], [3, 1]], amplitudes=[1.0, -0.5], x=(-1.0, 1.0), t=(0.0, 1.0)),
     Heat2D(kx=0.06, ky=0.02, modes=[[1, 2], [3, 1]], amplitudes=[1.0, -0.5], x=(-1.0, 1.0), t=(0.0, 1.0))),
    (Heat(bc="periodic", modes=[1, 2], amplitudes=[1.0, 0.4], x=(-1.0, 1.0)),
     Heat(bc="periodic", modes=[1, 2], amplitudes=[1.0, 0.4], x=(-1.0, 1.0), alpha=0.3)),
    (Heat(bc="neumann", modes=[0, 1, 3], amplitudes=[0.5, 1.0, -0.2]), Heat(bc="neumann", modes=[0, 1, 3], amplitudes=[0.5, 1.0, -0.2], alpha=0.3)),
    (Heat(alpha=0.05, modes=[1, 2, 5], amplitudes=[1.0, -0.3, 0.1], x=(-1.0, 2.0), t=(0.5, 1.0)), Heat(alpha=0.06, modes=[1, 2, 5], amplitudes=[1.0, -0.3, 0.1], x=(-1.0, 2.0), t=(0.5, 1.0))),
    (Wave(), Wave(c=2.1)),
    (Wave(c=3.0, modes=[2], amplitudes=[0.7]), Wave(c=2.0, modes=[2], amplitudes=[0.7])),
    (Wave2D(t=(0.0, 3.0)), Wave2D(cy=1.0, t=(0.0, 3.0))),
    (Wave2D(cx=0.5, cy=2.0, modes=[[2, 1], [1, 3]], amplitudes=[1.0, -0.4], x=(-1.0, 1.0), y=(0.0, 2.0), t=(1.0, 2.0)),
     Wave2D(cx=0.6, cy=2.0, modes=[[2, 1], [1, 3]], amplitudes=[1.0, -0.4], x=(-1.0, 1.0), y=(0.0, 2.0), t=(1.0, 2.0))),
    (Burgers(), Burgers(nu=0.02 / math.pi)),
    (Burgers(nu=0.1), Burgers(nu=0.11)),
]


@pytest.mark.parametrize("pde,wrong", CASES, ids=lambda p: f"{p.name}")
def test_residual_vanishes_on_exact_solution_and_not_with_a_wrong_coefficient(pde, wrong):
    pts = _interior(pde)
    scale = _scale(pde, pts)
    r = _residuals_on(pde, pde, pts)
    assert r.abs().max().item() <= 1e-11 * max(scale, 1.0), (r.abs().max().item(), scale)
    r_wrong = _residuals_on(wrong, pde, pts)
    assert r_wrong.abs().max().item() > 1e-3 * scale


@pytest.mark.parametrize("pde", [Heat(), Wave(), Burgers(), Heat(modes=[2, 3], amplitudes=[0.5, 0.25]), Heat2D(), Wave2D(t=(0.0, 2.0)),
                                 Heat(bc="neumann", modes=[0, 2], amplitudes=[1.0, 0.5], x=(-1.0, 1.0))],
                         ids=lambda p: p.name)
def test_conditions_hold_on_exact_solution(pde):
    g = torch.Generator().manual_seed(1)
    from pinn import get_sampler

    def exact(p):
        return pde.solution(dict(zip(pde.domain.coordinates, p.unbind(-1))))

    for term in pde.conditions():
        pts = pde.domain.sample(term.points, 100, get_sampler("uniform"), generator=g)
        if term.points == "boundary":
            pts[:, -1] = pts[:, -1].clamp(min=0.01)
        r = AutogradEngine().residuals(exact, pts, pde.domain.coordinates, [term])[term.name]
        assert r.abs().max().item() < 1e-12, term.name


def test_wave_defaults_are_wave1d_c():
    x = np.linspace(0, 1, 7)[:, None]
    t = np.linspace(0, 1, 5)[None, :]
    want = np.sin(np.pi * x) * np.cos(2 * np.pi * t) + 0.5 * np.sin(4 * np.pi * x) * np.cos(8 * np.pi * t)
    np.testing.assert_allclose(Wave().solution({"x": x, "t": t}), want, atol=1e-15)


def test_neumann_heat_is_insulated_and_keeps_its_mean():
    pde = Heat(bc="neumann", modes=[0, 1], amplitudes=[0.7, 1.0])
    assert [t.fields for t in pde.conditions()] == [("u",), ("u_x",)]
    x = np.linspace(0, 1, 2001)[:, None]
    u = pde.solution({"x": x, "t": np.array([[0.0, 0.5, 1.0]])})
    np.testing.assert_allclose(np.trapezoid(u, x[:, 0], axis=0), 0.7, atol=1e-12)  # heat is conserved
    np.testing.assert_allclose(u[:, 0], 0.7 + np.cos(np.pi * x[:, 0]), atol=1e-15)


def test_heat_defaults_are_the_deepxde_problem():
    x = np.linspace(0, 1, 7)[:, None]
    t = np.linspace(0, 1, 5)[None, :]
    want = np.exp(-0.4 * np.pi**2 * t) * np.sin(np.pi * x)
    np.testing.assert_allclose(Heat().solution({"x": x, "t": t}), want, atol=1e-15)


def test_burgers_reference_matches_raissi_data(burgers_mat):
    data = load_mat(burgers_mat)
    x, t, usol = data["x"][:, 0], data["t"][:, 0], data["usol"]
    assert usol.shape == (256, 100)
    ref = Burgers().reference_grid({"x": x, "t": t})
    assert np.abs(ref - usol).max() <= 1e-8


def test_burgers_torch_and_numpy_references_agree():
    b = Burgers()
    x = np.linspace(-1, 1, 33)
    t = np.full_like(x, 0.6)
    torch_ref = b.solution({"x": torch.tensor(x), "t": torch.tensor(t)}).numpy()
    np.testing.assert_allclose(torch_ref, b.solution({"x": x, "t": t}), atol=1e-13)


@pytest.mark.parametrize("nu", [0.1, 0.01 / math.pi, 0.002 / math.pi])
def test_burgers_reference_is_converged_in_nodes(nu):
    x = np.linspace(-1, 1, 81)[:, None]
    t = np.linspace(0, 1, 11)[None, :]
    coarse = Burgers(nu=nu).solution({"x": x, "t": t})
    fine = Burgers(nu=nu, quadrature_nodes=2 * default_nodes(nu, 1.0)).solution({"x": x, "t": t})
    assert np.abs(coarse - fine).max() < 1e-10
    np.testing.assert_allclose(coarse[:, 0], -np.sin(np.pi * x[:, 0]), atol=1e-15)
    np.testing.assert_allclose(coarse[[0, -1], :], 0.0, atol=1e-12)


def test_gauss_hermite_integrates_polynomials_and_gaussians():
    z, log_w = gauss_hermite(600)
    w = np.exp(log_w)
    assert np.isclose(w.sum(), math.sqrt(math.pi), rtol=1e-14)
    assert np.isclose((w * z**2).sum(), math.sqrt(math.pi) / 2, rtol=1e-13)
    assert np.isclose((w * np.cos(z)).sum(), math.sqrt(math.pi) * math.exp(-0.25), rtol=1e-13)
    assert np.all(np.isfinite(log_w)) and log_w.min() < -745  # outer weights below float64's range, kept as logs
    ref_z, ref_w = np.polynomial.hermite.hermgauss(60)
    z60, lw60 = gauss_hermite(60)
    np.testing.assert_allclose(z60, ref_z, atol=1e-13)
    np.testing.assert_allclose(np.exp(lw60), ref_w, rtol=1e-11, atol=1e-300)


@pytest.mark.parametrize(
    "factory,match",
    [
        (lambda: Burgers(nu=0), "nu must be > 0"),
        (lambda: Burgers(nu=-0.1), "nu must be > 0"),
        (lambda: Burgers(nu=float("nan")), "finite"),
        (lambda: Burgers(nu="a"), "must be a number"),
        (lambda: Burgers(t=(0.5, 1.0)), "start at 0"),
        (lambda: Heat(alpha=0), "alpha must be > 0"),
        (lambda: Heat(modes=[1, 2], amplitudes=[1.0]), "same length"),
        (lambda: Heat(modes=[0], amplitudes=[1.0]), "integers >= 1"),
        (lambda: Heat(modes=[-1], amplitudes=[1.0], bc="neumann"), "integers >= 0"),
        (lambda: Heat(bc="robin"), "choose one of: dirichlet, neumann"),
        (lambda: Heat(modes=[], amplitudes=[]), "at least one"),
        (lambda: Wave(c=-2), "c must be > 0"),
        (lambda: Wave(c=float("inf")), "finite"),
        (lambda: Wave(x=(1.0, 0.0)), "low < high"),
    ],
)
def test_bad_coefficients_are_rejected(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


def test_matfile_reader_reads_the_reference(burgers_mat):
    data = load_mat(burgers_mat)
    assert set(data) >= {"x", "t", "usol"}
    np.testing.assert_allclose(data["x"][:, 0], np.linspace(-1, 1, 256), atol=1e-15)
    np.testing.assert_allclose(data["t"][:, 0], np.arange(100) * 0.01, atol=1e-15)


def test_heat2d_defaults_are_pinnacle_heat2d_ms():
    pde = Heat2D()
    x, y, t = np.array([0.013, 0.4]), np.array([0.3, 0.77]), np.array([0.0, 2.5])
    expected = np.sin(20 * np.pi * x) * np.sin(np.pi * y) * np.exp(-1.0016 * t)
    np.testing.assert_allclose(pde.solution({"x": x, "y": y, "t": t}), expected, rtol=1e-14)
    assert pde.domain.coordinates == ("x", "y", "t") and float(pde.domain.upper[-1]) == 5.0


def test_wave2d_defaults_are_the_consistent_wave2d_ms():
    """The coded equation u_tt = u_xx + 2 u_yy at PINNacle's wavenumbers (pi, pi) and (3 pi, 2 pi):
    the frequencies sqrt(3) pi and sqrt(17) pi, over [0, 100]; PINNacle's own "exact" solution is
    not a solution (the coded residual of it is -2 pi^2 times itself)."""
    pde = Wave2D()
    x, y, t = np.array([0.013, 0.4, 0.9]), np.array([0.3, 0.77, 0.5]), np.array([0.0, 2.5, 97.3])
    expected = (np.sin(np.pi * x) * np.sin(np.pi * y) * np.cos(np.sqrt(3) * np.pi * t)
                + np.sin(3 * np.pi * x) * np.sin(2 * np.pi * y) * np.cos(np.sqrt(17) * np.pi * t))
    np.testing.assert_allclose(pde.solution({"x": x, "y": y, "t": t}), expected, rtol=1e-12)
    assert pde.domain.coordinates == ("x", "y", "t") and float(pde.domain.upper[-1]) == 100.0

    def pinnacle(p):  # sin(pi x) sinh(pi y) cos(pi t) + sinh(3 pi x) sin(2 pi y) cos(pi t)
        x, y, t = p.unbind(-1)
        return (torch.sin(math.pi * x) * torch.sinh(math.pi * y) + torch.sinh(3 * math.pi * x)
                * torch.sin(2 * math.pi * y)) * torch.cos(math.pi * t)

    pts = torch.rand(50, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    from pinn.diff.autograd import Derivatives
    d = Derivatives(pinnacle, pts, pde.domain.coordinates)
    fields = {f: d[f] for f in pde.residual_fields}
    torch.testing.assert_close(pde.residual(fields, {}), -2 * math.pi**2 * pinnacle(pts), rtol=1e-9, atol=1e-7)


@pytest.mark.parametrize("kw, match", [({"modes": [[1], [2, 2]]}, "pair of positive integers"),
                                       ({"modes": [[1, 1]], "amplitudes": []}, "same, nonzero length"),
                                       ({"cy": -1.0}, "cy must be > 0")])
def test_wave2d_rejects_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        Wave2D(**kw)


@pytest.mark.parametrize("kw, match", [({"modes": [[20]]}, "pair of positive integers"),
                                       ({"modes": [[1, 1]], "amplitudes": []}, "same, nonzero length"),
                                       ({"kx": 0.0}, "kx must be > 0")])
def test_heat2d_rejects_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        Heat2D(**kw)


def test_five_dimensional_poisson_residual_vanishes_on_its_exact_solution_only():
    from pinn.pdes import PoissonND

    pde = PoissonND(dim=5)
    assert pde.domain.coordinates == ("x1", "x2", "x3", "x4", "x5") and pde.residual_fields[0] == "u_x1x1"
    g = torch.Generator().manual_seed(0)
    pts = {w: pde.domain.sample(w, 300, get_sampler("uniform"), generator=g) for w in pde.domain.point_sets}
    exact = lambda x: pde.solution({n: x[:, i] for i, n in enumerate(pde.names)})  # noqa: E731
    res = PINNLoss(pde, get_engine("autograd")).residuals(exact, pts)
    assert res["residual"].abs().max() < 1e-12 and res["boundary"].abs().max() == 0
    b = pts["boundary"]
    assert bool((((b == 0) | (b == 1)).sum(dim=1) == 1).all())  # on exactly one face
    off = lambda x: exact(x) + 0.1 * x[:, 0] ** 2  # noqa: E731
    assert PINNLoss(pde, get_engine("autograd")).residuals(off, pts)["residual"].abs().min() > 0.19
    with pytest.raises(ValueError, match="dim must be an integer >= 2"):
        PoissonND(dim=1)
