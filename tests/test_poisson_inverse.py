"""PINNacle's PInv, made consistent: the source term is -div(a grad u) of the exact pair (checked by
autograd, independently of the closed form), and PINNacle's own (2x + 1) source is not.  The preset's
short run is in tests/test_presets.py."""

import math

import numpy as np
import torch

from pinn import PINNLoss, get_engine, get_sampler
from pinn.pdes import PoissonInverse
from pinn.physics.observations import read_points


class _Exact(torch.nn.Module):
    def __init__(self, pde):
        super().__init__()
        self.pde = pde
        self.dummy = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

    def forward(self, x):
        s = self.pde.solution({"x": x[:, 0], "y": x[:, 1]})
        return torch.stack([s["u"], s["a"]], dim=1) + 0 * self.dummy


def _div_a_grad_u(pde, x):
    """div(a grad u) of the exact pair by autograd."""
    x = x.clone().requires_grad_(True)
    s = pde.solution({"x": x[:, 0], "y": x[:, 1]})
    (grad_u,) = torch.autograd.grad(s["u"].sum(), x, create_graph=True)
    flux = s["a"][:, None] * grad_u
    div = sum(torch.autograd.grad(flux[:, k].sum(), x, retain_graph=True)[0][:, k] for k in range(2))
    return div.detach()


def test_the_source_is_minus_div_a_grad_u_of_the_exact_pair_and_pinnacles_is_not():
    pde = PoissonInverse()
    x = torch.rand(500, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    c = {"x": x[:, 0], "y": x[:, 1]}
    torch.testing.assert_close(pde.forcing(c), -_div_a_grad_u(pde, x), rtol=1e-12, atol=1e-12)
    # PINNacle's f_src (src/pde/inverse.py): (2x + 1), (2y + 1) where the pair needs (2x - 1), (2y - 1)
    a, pi, (X, Y) = pde.solution(c)["a"], math.pi, (c["x"], c["y"])
    theirs = (2 * pi**2 * torch.sin(pi * X) * torch.sin(pi * Y) * a
              + 2 * pi * ((2 * X + 1) * torch.cos(pi * X) * torch.sin(pi * Y)
                          + (2 * Y + 1) * torch.sin(pi * X) * torch.cos(pi * Y)) * a**2)
    assert float((theirs + _div_a_grad_u(pde, x)).abs().max()) > 0.5  # their pair does not solve their PDE


def test_the_residual_vanishes_on_the_exact_pair_and_the_hard_constraint_holds_a():
    pde = PoissonInverse()
    g = torch.Generator().manual_seed(1)
    pts = {w: pde.domain.sample(w, 300, get_sampler("uniform"), generator=g) for w in pde.domain.point_sets}
    res = PINNLoss(pde, get_engine("autograd")).residuals(_Exact(pde), pts)
    assert max(float(r.detach().abs().max()) for r in res.values()) < 1e-12
    b = pts["boundary"]
    raw = {"u": torch.randn(300, dtype=torch.float64, generator=g), "a": torch.randn(300, dtype=torch.float64,
                                                                                    generator=g)}
    held = pde.constrain(raw, {"x": b[:, 0], "y": b[:, 1]})
    torch.testing.assert_close(held["a"], pde.solution({"x": b[:, 0], "y": b[:, 1]})["a"], rtol=0, atol=1e-14)


def test_the_observation_points_are_pinnacles_50_by_50_grid():
    pts = read_points("pinv_points.dat", ("x", "y")).numpy()
    g = np.linspace(0, 1, 50)
    X, Y = np.meshgrid(g, g)
    np.testing.assert_array_equal(pts, np.stack([X.reshape(-1), Y.reshape(-1)], axis=1))


def test_the_noise_floor_script_matches_the_closed_form_and_grows_with_freedom():
    """scripts/pinv_noise_floor.py: a fit told u up to its amplitude has rms rel. L2 error
    sigma / sqrt(sum phi(x_i)^2) (phi = sin(pi x) sin(pi y) at the 2,500 data points), about
    4.1e-3: PInv's target for u; with more modes the error grows like the square root of their
    number."""
    import importlib.util
    from pathlib import Path

    import numpy as np

    from pinn.pdes._reference import DATA

    path = Path(__file__).resolve().parent.parent / "scripts" / "pinv_noise_floor.py"
    spec = importlib.util.spec_from_file_location("pinv_noise_floor", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    pts = np.loadtxt(DATA / "pinv_points.dat")
    phi = np.sin(np.pi * pts[:, 0]) * np.sin(np.pi * pts[:, 1])
    want = 0.1 / np.sqrt(np.sum(phi**2))
    one = np.sqrt(np.mean(script.floor(1, draws=4000) ** 2))
    assert abs(one / want - 1) < 0.05, (one, want)
    nine = np.sqrt(np.mean(script.floor(3, draws=1000) ** 2))
    assert 2.7 < nine / one < 3.3, (nine, one)
