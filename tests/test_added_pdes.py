"""Allen-Cahn (periodic, spectral reference) and 2-D Poisson (steady), and loading a user's PDE file."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pinn import get_sampler
from pinn.diff.autograd import AutogradEngine
from pinn.cli.build import build_pde, load_source
from pinn.cli.train import check_config

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def modules():
    from pinn.pdes import allen_cahn, poisson

    return allen_cahn, poisson


def _interior(pde, n=300, seed=0):
    g = torch.Generator().manual_seed(seed)
    return pde.domain.sample("interior", n, get_sampler("uniform"), generator=g).double()


def _residual(pde, fn, pts, which="residual"):
    terms = [t for t in pde.terms() if t.name == which]
    return AutogradEngine().residuals(fn, pts, pde.domain.coordinates, terms)[which]


@pytest.mark.parametrize("k", [(1, 2), (3, 1)])
def test_poisson_residual_vanishes_on_its_exact_solution_only(modules, k):
    Poisson = modules[1].Poisson
    pde, wrong = Poisson(kx=k[0], ky=k[1]), Poisson(kx=k[0], ky=k[1] + 1)
    pts = _interior(pde)

    def exact(p):
        return pde.solution({"x": p[:, 0], "y": p[:, 1]})

    r = _residual(pde, exact, pts)
    assert r.abs().max() < 1e-10 * (k[0] ** 2 + k[1] ** 2) * math.pi**2
    assert _residual(wrong, exact, pts).abs().max() > 1.0
    g = torch.Generator().manual_seed(1)
    edge = pde.domain.sample("boundary", 200, get_sampler("uniform"), generator=g).double()
    assert _residual(pde, exact, edge, "boundary").abs().max() < 1e-12
    assert "t" not in pde.domain.coordinates and "initial" not in pde.domain.point_sets  # steady


def test_poisson_rejects_bad_modes(modules):
    with pytest.raises(ValueError, match="kx must be a positive integer"):
        modules[1].Poisson(kx=0)


def test_allen_cahn_residual_on_a_manufactured_function(modules):
    pde = modules[0].AllenCahn()
    pts = _interior(pde)

    def u(p):  # u = sin(pi x) exp(-t):  u_t = -u, u_xx = -pi^2 u
        return torch.sin(math.pi * p[:, 0]) * torch.exp(-p[:, 1])

    r = _residual(pde, u, pts)
    v = u(pts)
    expected = -v + pde.eps * math.pi**2 * v + pde.a * v**3 - pde.a * v
    torch.testing.assert_close(r, expected, rtol=0, atol=1e-13)
    g = torch.Generator().manual_seed(2)
    x0 = pde.domain.sample("initial", 100, get_sampler("uniform"), generator=g).double()

    def initial(p):
        return p[:, 0] ** 2 * torch.cos(math.pi * p[:, 0])

    assert _residual(pde, initial, x0, "initial").abs().max() < 1e-15
    assert pde.periodic == ("x",) and [t.name for t in pde.terms()] == ["residual", "initial"]


def test_allen_cahn_reference_is_the_initial_condition_at_t0_and_satisfies_the_pde(modules):
    pde = modules[0].AllenCahn()
    ref = modules[0].load_reference()
    x, t, u = ref["x"], ref["t"], ref["u"]
    assert u.shape == (2048, 201) and t[0] == 0 and t[-1] == 1
    np.testing.assert_allclose(u[:, 0], x**2 * np.cos(np.pi * x), atol=1e-14)
    # spectral u_xx and a central difference in time at the snapshots t = 0.5 +- 0.005
    k = np.pi * np.fft.fftfreq(2048, d=1 / 2048)
    mid = 100
    u_xx = np.real(np.fft.ifft(-(k**2) * np.fft.fft(u[:, mid])))
    u_t = (u[:, mid + 1] - u[:, mid - 1]) / (t[mid + 1] - t[mid - 1])
    v = u[:, mid]
    r = u_t - pde.eps * u_xx + pde.a * v**3 - pde.a * v
    assert np.abs(r).max() < 1e-3 * np.abs(pde.a * (v - v**3)).max() + 1e-6
    # solution() reproduces the stored nodes and snapshots, in numpy and torch
    xs, ts = x[::16], np.full(128, t[37])
    np.testing.assert_allclose(pde.solution({"x": xs, "t": ts}), u[::16, 37], atol=1e-12)
    got = pde.solution({"x": torch.as_tensor(xs), "t": torch.as_tensor(ts)})
    assert isinstance(got, torch.Tensor) and np.allclose(got.numpy(), u[::16, 37], atol=1e-12)
    # periodic: x = -1 and x = 1 agree
    ends = pde.solution({"x": np.array([-1.0, 1.0]), "t": np.array([0.6, 0.6])})
    assert abs(ends[0] - ends[1]) < 1e-12


@pytest.mark.slow
def test_allen_cahn_solver_converges(modules):
    from pinn.pdes import _spectral as solver

    x, _, fine = solver.solve(512, 1e-4)
    _, _, coarse_dt = solver.solve(512, 2e-4)
    assert np.abs(fine - coarse_dt).max() < 1e-9  # ETDRK4: converged in dt
    _, _, u2048 = solver.solve(2048, 1e-4)
    _, _, u1024 = solver.solve(1024, 1e-4)
    assert np.abs(u2048[::2, -1] - u1024[:, -1]).max() < 1e-8  # converged in N by t = 1
    assert np.abs(u2048[::2, 10:] - u1024[:, 10:]).max() < 5e-4


def test_the_added_pdes_compose_from_config():
    assert type(build_pde(check_config(["pde=allen_cahn"]))).__name__ == "AllenCahn"
    assert type(build_pde(check_config(["pde=poisson", "pde.kx=2"]))).__name__ == "Poisson"
    check_config(["pde=allen_cahn", "derivatives=taylor"])  # periodic inputs: the jets take the embedding


def test_a_missing_or_broken_source_is_one_line(tmp_path):
    with pytest.raises(ValueError, match="pde.source: no Python file 'nowhere.py'"):
        load_source("nowhere.py")
    bad = tmp_path / "broken_pde_mod.py"
    bad.write_text("raise RuntimeError('oops')\n")
    with pytest.raises(ValueError, match="importing .*broken_pde_mod.py failed: RuntimeError: oops"):
        load_source(str(bad))
    assert "broken_pde_mod" not in sys.modules
    clash = tmp_path / "math.py"
    clash.write_text("")
    with pytest.raises(ValueError, match="already imported"):
        load_source(str(clash))




def test_allen_cahn_opts_into_a_hard_constraint(modules):
    from pinn import MLP, HardConstraint, PINNLoss, get_engine, get_sampler

    pde = modules[0].AllenCahn()
    net = MLP(pde.domain.lower, pde.domain.upper, width=8, depth=2, generator=torch.Generator().manual_seed(0),
              dtype=torch.float64, periodic=pde.periodic_indices())
    pts = {w: pde.domain.sample(w, 100, get_sampler("uniform"), generator=torch.Generator().manual_seed(1))
           for w in pde.domain.point_sets}
    res = PINNLoss(pde, get_engine("autograd")).residuals(HardConstraint(net, pde), pts)
    assert res["initial"].abs().max() < 1e-14 and res["residual"].abs().max() > 1e-3
