"""gPINN: the input gradient of the residual, against its closed form and across the engines."""

import math

import pytest
import torch
from torch import nn

from pinn import MLP, Burgers, PINNLoss, get_engine
from pinn.training.loss_extras import GradientEnhanced


class _Product(nn.Module):
    """``u = sin(pi x) t``: its Burgers residual and that residual's gradient have closed forms."""

    def forward(self, p):
        return (torch.sin(math.pi * p[:, 0]) * p[:, 1]).unsqueeze(1)


def _points(n=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 2, generator=g, dtype=torch.float64) * torch.tensor([2.0, 1.0]) - torch.tensor([1.0, 0.0])
    return {"interior": x, "initial": x[:10], "boundary": x[10:20]}


@pytest.mark.parametrize("engine", ["autograd", "func"])
def test_gpinn_term_is_the_mean_squared_input_gradient_of_the_residual(engine):
    pde = Burgers()
    nu, pi = pde.nu, math.pi
    pts = _points()
    x, t = pts["interior"][:, 0], pts["interior"][:, 1]
    s, c = torch.sin(pi * x), torch.cos(pi * x)
    # r = u_t + u u_x - nu u_xx = s + t^2 pi s c + nu pi^2 t s
    r_x = pi * c + t ** 2 * pi ** 2 * torch.cos(2 * pi * x) + nu * pi ** 3 * t * c
    r_t = 2 * t * pi * s * c + nu * pi ** 2 * s
    want = (r_x ** 2 + r_t ** 2).mean()
    plain, _ = PINNLoss(pde, get_engine(engine))(_Product(), pts)
    total, parts = PINNLoss(pde, get_engine(engine), extras=[GradientEnhanced(0.3)])(_Product(), pts)
    torch.testing.assert_close(parts["gpinn"], want, rtol=1e-12, atol=0)
    torch.testing.assert_close(total, plain + 0.3 * want, rtol=1e-12, atol=0)


def test_engines_agree_on_the_gpinn_term_and_its_parameter_gradient():
    pde = Burgers()
    net = MLP(pde.domain.lower, pde.domain.upper, width=8, depth=2, generator=torch.Generator().manual_seed(0),
              dtype=torch.float64)
    pts = _points(30, seed=1)
    ref_total, ref_parts = PINNLoss(pde, get_engine("autograd"), extras=[GradientEnhanced(1.0)])(net, pts)
    ref_grads = torch.autograd.grad(ref_parts["gpinn"], list(net.parameters()))
    assert float(ref_parts["gpinn"].detach()) > 1e-6
    for name in ("func", "taylor"):
        total, parts = PINNLoss(pde, get_engine(name), extras=[GradientEnhanced(1.0)])(net, pts)
        torch.testing.assert_close(parts["gpinn"], ref_parts["gpinn"], rtol=1e-10, atol=0)
        for g, w in zip(torch.autograd.grad(parts["gpinn"], list(net.parameters())), ref_grads):
            torch.testing.assert_close(g, w, rtol=1e-9, atol=1e-12)
    # The caller's points are not changed into leaves that require grad.
    assert not pts["interior"].requires_grad


def test_bad_gradient_weight_is_refused():
    with pytest.raises(ValueError, match="gradient_weight must be"):
        PINNLoss(Burgers(), get_engine("autograd"), extras=[GradientEnhanced(float("nan"))])
