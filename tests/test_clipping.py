"""The gradient-clipping Function: identity forward, clipped backward, and its place in the loss."""

import pytest
import torch

from pinn import MLP, Burgers, PINNLoss, get_engine
from pinn.training.clipping import clip_point_gradients
from pinn.training.loss_extras import PointClip


def test_forward_is_the_identity_and_backward_clips_at_factor_times_the_median():
    r = torch.tensor([0.1, -0.2, 0.3, 5.0, -8.0], dtype=torch.float64, requires_grad=True)
    y = clip_point_gradients(r, 2.0)
    assert torch.equal(y.detach(), r.detach())
    (g,) = torch.autograd.grad((y * y).sum(), r)
    # incoming 2r = [0.2, -0.4, 0.6, 10, -16]; median |.| = 0.6; bound 1.2
    torch.testing.assert_close(g, torch.tensor([0.2, -0.4, 0.6, 1.2, -1.2], dtype=torch.float64), rtol=0, atol=1e-15)


def test_below_the_bound_it_is_exactly_the_identity():
    # (gradcheck's one-hot probes have median 0, so they are clipped to 0 by design: dense vectors here)
    r = torch.linspace(0.5, 1.0, 6, dtype=torch.float64, requires_grad=True)
    v = 1 + torch.rand(6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    (g,) = torch.autograd.grad(clip_point_gradients(r, 10.0), r, grad_outputs=v)
    assert torch.equal(g, v)
    # and its backward is differentiable (a second-order use, e.g. a gradient norm)
    y = clip_point_gradients(r, 10.0)
    (g,) = torch.autograd.grad((y ** 3).sum(), r, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), r)
    torch.testing.assert_close(h, 6 * r.detach())


def test_in_the_loss_the_value_is_unchanged_and_an_outlier_point_is_bounded():
    pde = Burgers()
    net = MLP(pde.domain.lower, pde.domain.upper, width=8, depth=2, generator=torch.Generator().manual_seed(0),
              dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(40, 2, generator=g, dtype=torch.float64) * torch.tensor([2.0, 1.0]) - torch.tensor([1.0, 0.0])
    pts = {"interior": x, "initial": x[:8], "boundary": x[8:16]}
    plain_total, plain_parts = PINNLoss(pde, get_engine("autograd"))(net, pts)
    clip_total, clip_parts = PINNLoss(pde, get_engine("autograd"), extras=[PointClip(1.0)])(net, pts)
    torch.testing.assert_close(clip_total, plain_total, rtol=0, atol=0)
    # factor 1: every point's pull is at most the median's, so the gradient is smaller than the plain one
    params = list(net.parameters())
    gp = torch.cat([v.reshape(-1) for v in torch.autograd.grad(plain_total, params)])
    gc = torch.cat([v.reshape(-1) for v in torch.autograd.grad(clip_total, params)])
    assert 0 < gc.norm() < gp.norm() and not torch.allclose(gc, gp)
    # a huge factor clips nothing
    big, _ = PINNLoss(pde, get_engine("autograd"), extras=[PointClip(1e12)])(net, pts)
    gb = torch.cat([v.reshape(-1) for v in torch.autograd.grad(big, params)])
    torch.testing.assert_close(gb, gp, rtol=1e-14, atol=1e-16)


def test_bad_factors_are_refused():
    with pytest.raises(ValueError, match="finite number > 0"):
        clip_point_gradients(torch.zeros(2), 0.0)
    with pytest.raises(ValueError, match="point_clip must be"):
        PINNLoss(Burgers(), get_engine("autograd"), extras=[PointClip(-1.0)])


def test_quasi_newton_stages_see_the_losss_own_gradient():
    from pinn.training.session import Session
    from pinn.training.state import TrainState
    pde = Burgers()
    net = MLP(pde.domain.lower, pde.domain.upper, width=8, depth=2, generator=torch.Generator().manual_seed(0),
              dtype=torch.float64)
    loss = PINNLoss(pde, get_engine("autograd"), extras=[PointClip(1.0)])
    session = Session(net, loss, {}, TrainState(), policy=(3, 0.5, ()))
    with session.exact_gradients():
        assert loss.point_clip == 0.0
    assert loss.point_clip == 1.0
