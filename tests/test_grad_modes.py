"""No silent zeros: every derivative engine gives the same residuals under torch.no_grad() and
torch.inference_mode() (points made inside it included) as with gradients on."""

import contextlib

import pytest
import torch

from pinn import MLP, Burgers, Kovasznay, PINNLoss, get_engine, get_sampler
from pinn.diff.autograd import Derivatives

MODES = {"no_grad": torch.no_grad, "inference_mode": torch.inference_mode}


def _problem(pde):
    g = torch.Generator().manual_seed(0)
    net = MLP(pde.domain.lower, pde.domain.upper, width=8, depth=2, outputs=len(pde.fields), generator=g,
              dtype=torch.float64)
    pts = {w: pde.domain.sample(w, 40, get_sampler("uniform"), generator=g) for w in pde.domain.point_sets}
    return net, pts


@pytest.mark.parametrize("pde", [Burgers(), Kovasznay()], ids=["burgers", "kovasznay"])
@pytest.mark.parametrize("engine", ["autograd", "func", "taylor"])
@pytest.mark.parametrize("mode", sorted(MODES))
def test_residuals_are_the_same_in_every_grad_mode(pde, engine, mode):
    net, pts = _problem(pde)
    loss = PINNLoss(pde, get_engine(engine))
    expected = {k: v.detach() for k, v in loss.residuals(net, pts).items()}
    assert any(v.abs().max() > 1e-3 for v in expected.values())  # an untrained network: nothing vanishes
    with MODES[mode]():
        got = loss.residuals(net, pts)
        fresh = loss.residuals(net, {k: v.clone() for k, v in pts.items()})  # inference tensors under inference_mode
    for k in expected:
        torch.testing.assert_close(got[k], expected[k], rtol=0, atol=1e-12)
        torch.testing.assert_close(fresh[k], expected[k], rtol=0, atol=1e-12)


def test_derivatives_used_directly_under_no_grad_are_not_zero():
    f = lambda x: (x[:, :1] ** 3) * x[:, 1:]  # noqa: E731  u = x^3 t: u_xx = 6 x t
    x = torch.rand(10, 2, dtype=torch.float64)
    for ctx in (contextlib.nullcontext, torch.no_grad, torch.inference_mode):
        with ctx():
            d = Derivatives(f, x, ("x", "t"))
            torch.testing.assert_close(d["u_xx"], 6 * x[:, 0] * x[:, 1], rtol=0, atol=1e-12)
            torch.testing.assert_close(d["u_xt"], 3 * x[:, 0] ** 2, rtol=0, atol=1e-12)
