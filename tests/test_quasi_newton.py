"""Dense BFGS / self-scaled BFGS: the update against the textbook matrices, and convergence."""

import pytest
import torch

from pinn.training.dense_bfgs import DenseQuasiNewton
from pinn.training.stages import QuasiNewton

D = torch.float64


def _spd(n, g):
    a = torch.randn(n, n, generator=g, dtype=D)
    return a @ a.T + n * torch.eye(n, dtype=D)


def _pair(n, g):
    s = torch.randn(n, generator=g, dtype=D)
    y = s + 0.3 * torch.randn(n, generator=g, dtype=D)  # y.s > 0
    assert y.dot(s) > 0
    return s, y


@pytest.mark.parametrize("method", ["bfgs", "ssbfgs"])
def test_update_matches_the_textbook_formula_and_the_secant_equation(method):
    g = torch.Generator().manual_seed(0)
    n = 7
    H = _spd(n, g) / 100  # a small H (large B = H^-1) makes the self-scaling act: tau < 1
    s, y = _pair(n, g)
    sBs = float(s @ torch.linalg.solve(H, s))
    rho = 1 / float(y.dot(s))
    tau = min(1.0, float(y.dot(s)) / sBs) if method == "ssbfgs" else 1.0
    eye = torch.eye(n, dtype=D)
    V = eye - rho * torch.outer(y, s)
    expected = V.T @ H @ V / tau + rho * torch.outer(s, s)
    got = DenseQuasiNewton.update(H.clone(), s, y, sBs, method)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(got @ y, s, rtol=1e-12, atol=1e-12)  # secant equation
    torch.testing.assert_close(got, got.T, rtol=0, atol=1e-12)
    assert torch.linalg.eigvalsh(got).min() > 0
    if method == "ssbfgs":
        assert tau < 1  # the case above exercises the scaling


def test_first_update_starts_from_the_scaled_identity_and_bad_pairs_are_skipped():
    g = torch.Generator().manual_seed(1)
    s, y = _pair(5, g)
    H0 = float(y.dot(s) / y.dot(y)) * torch.eye(5, dtype=D)
    torch.testing.assert_close(DenseQuasiNewton.update(None, s, y, None, "bfgs"),
                               DenseQuasiNewton.update(H0, s, y, None, "bfgs"), rtol=1e-13, atol=1e-13)
    H = _spd(5, g)
    assert torch.equal(DenseQuasiNewton.update(H.clone(), s, -s, 1.0, "bfgs"), H)  # y.s < 0: unchanged


def _rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


@pytest.mark.parametrize("method", ["bfgs", "ssbfgs"])
def test_minimises_rosenbrock_to_round_off(method):
    x = torch.tensor([-1.2, 1.0], dtype=D, requires_grad=True)
    opt = DenseQuasiNewton([x], method=method, max_iter=200, max_eval=400)

    def closure():
        opt.zero_grad()
        f = _rosenbrock(x)
        f.backward()
        return f

    opt.step(closure)
    torch.testing.assert_close(x.detach(), torch.ones(2, dtype=D), rtol=0, atol=1e-8)
    assert opt.state[x]["n_iter"] < 100


def test_quadratic_converges_in_few_more_than_n_iterations():
    g = torch.Generator().manual_seed(2)
    n = 12
    A = _spd(n, g)
    b = torch.randn(n, generator=g, dtype=D)
    x = torch.zeros(n, dtype=D, requires_grad=True)
    opt = DenseQuasiNewton([x], method="bfgs", max_iter=3 * n, max_eval=10 * n)

    def closure():
        opt.zero_grad()
        f = 0.5 * x @ A @ x - b @ x
        f.backward()
        return f

    opt.step(closure)
    torch.testing.assert_close(x.detach(), torch.linalg.solve(A, b), rtol=0, atol=1e-9)


def test_bad_settings_name_the_choices():
    x = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="choose one of: bfgs, ssbfgs"):
        DenseQuasiNewton([x], method="newton")
    with pytest.raises(ValueError, match="unknown method 'BFGS'; choose one of: lbfgs, bfgs, ssbfgs"):
        QuasiNewton(method="BFGS")
