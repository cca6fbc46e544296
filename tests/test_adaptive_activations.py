"""Adaptive activations (LAAF, GAAF): the Functions' derivatives in x and in the slope, the networks
built with them, the engines on them, and the slope-recovery term."""

import pytest
import torch
from torch.func import jacfwd, jacrev, vmap

from pinn import MLP, Burgers, PINNLoss, get_engine
from pinn.nets.adaptive_activations import AdaptiveSin, AdaptiveTanh, _AdaptiveSinFn, _AdaptiveTanhFn, adaptive_slopes, slope_recovery
from pinn.training.loss_extras import SlopeRecovery

N = 10.0


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = (3 * (2 * torch.rand(9, generator=g, dtype=torch.float64) - 1)).requires_grad_(True)
    a = torch.tensor(0.137, dtype=torch.float64, requires_grad=True)
    return x, a


# Closed forms of d^k/dx^k f(k x) for k = n a, and of d/da f(n a x) = n x f'(n a x).
def _tanh_closed(x, k):
    y = torch.tanh(k * x)
    s = 1 - y * y
    return (k * s, -2 * k ** 2 * y * s, -2 * k ** 3 * s * (1 - 3 * y * y)), N * x * s


def _sin_closed(x, k):
    z = k * x
    return (k * torch.cos(z), -k ** 2 * torch.sin(z), -k ** 3 * torch.cos(z)), N * x * torch.cos(z)


CASES = [(_AdaptiveTanhFn, _tanh_closed), (_AdaptiveSinFn, _sin_closed)]


@pytest.mark.parametrize("fn", [c[0] for c in CASES], ids=lambda f: f.__name__)
def test_gradcheck_and_gradgradcheck_in_x_and_slope(fn):
    x, a = _inputs()

    def f(x, a):
        return fn.apply(x, a, N)

    assert torch.autograd.gradcheck(f, (x, a))
    assert torch.autograd.gradgradcheck(f, (x, a))
    assert torch.autograd.gradcheck(f, (x, a), check_forward_ad=True, check_backward_ad=False)


@pytest.mark.parametrize("fn,closed", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_derivatives_to_third_order_in_x_and_the_slope_match_closed_forms(fn, closed):
    x, a = _inputs(1)
    (d1, d2, d3), da = closed(x.detach(), N * a.detach())
    y = fn.apply(x, a, N)
    g1 = torch.autograd.grad(y.sum(), x, create_graph=True)[0]
    g2 = torch.autograd.grad(g1.sum(), x, create_graph=True)[0]
    g3 = torch.autograd.grad(g2.sum(), x)[0]
    for got, want in ((g1, d1), (g2, d2), (g3, d3)):
        torch.testing.assert_close(got.detach(), want, rtol=1e-12, atol=1e-12)
    # d/da of the sum is the sum of the pointwise derivatives in a.
    ga = torch.autograd.grad(fn.apply(x, a, N).sum(), a)[0]
    torch.testing.assert_close(ga, da.sum(), rtol=1e-12, atol=1e-12)
    # Mixed: d/da of dy/dx, against a central difference of the closed form in a.
    ga1 = torch.autograd.grad(torch.autograd.grad(fn.apply(x, a, N).sum(), x, create_graph=True)[0].sum(), a)[0]
    h = 1e-6
    fd = (closed(x.detach(), N * (a.detach() + h))[0][0] - closed(x.detach(), N * (a.detach() - h))[0][0]).sum() / (2 * h)
    torch.testing.assert_close(ga1, fd, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("fn,closed", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_torch_func_transforms_agree_with_closed_forms(fn, closed):
    x, a = _inputs(2)
    x, a = x.detach(), a.detach()
    (d1, d2, _), _ = closed(x, N * a)

    def point(p):
        return fn.apply(p, a, N)

    torch.testing.assert_close(vmap(jacrev(point))(x), d1, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(vmap(jacfwd(point))(x), d1, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(vmap(jacfwd(jacrev(point)))(x), d2, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(vmap(jacrev(jacrev(point)))(x), d2, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("module", [AdaptiveTanh, AdaptiveSin])
def test_taylor_coefficients_are_the_derivatives(module):
    act = module(scale=N, dtype=torch.float64)
    with torch.no_grad():
        act.slope.fill_(0.21)
    x = torch.linspace(-2, 2, 11, dtype=torch.float64, requires_grad=True)
    f0, f1, f2 = act.taylor(x)
    g1 = torch.autograd.grad(act(x).sum(), x, create_graph=True)[0]
    g2 = torch.autograd.grad(g1.sum(), x)[0]
    torch.testing.assert_close(f1, g1, rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(f2, g2, rtol=1e-13, atol=1e-13)
    # The Taylor coefficients carry the slope's gradient too.
    assert torch.autograd.grad(f2.sum(), act.slope)[0] != 0


def _mlp(adaptive, seed=0, **kw):
    return MLP(torch.tensor([-1.0, 0.0]), torch.tensor([1.0, 1.0]), width=8, depth=3, adaptive=adaptive,
               generator=torch.Generator().manual_seed(seed), dtype=torch.float64, **kw)


def test_adaptive_networks_start_as_the_plain_network_with_one_or_per_layer_slopes():
    plain, glob, layer = _mlp("none"), _mlp("global"), _mlp("layer")
    x = torch.rand(20, 2, dtype=torch.float64)
    torch.testing.assert_close(glob(x), plain(x), rtol=1e-14, atol=1e-14)
    torch.testing.assert_close(layer(x), plain(x), rtol=1e-14, atol=1e-14)
    assert len(adaptive_slopes(glob)) == 1 and len(adaptive_slopes(layer)) == 3 and adaptive_slopes(plain) == []
    assert len(adaptive_slopes(_mlp("layer", modified=True))) == 5  # 3 layers and 2 encoders
    # The slopes train: they get gradients, and a changed slope changes the output.
    (g,) = torch.autograd.grad(layer(x).sum(), adaptive_slopes(layer)[1])
    assert g != 0
    with torch.no_grad():
        adaptive_slopes(layer)[1].fill_(0.3)
    assert (layer(x) - plain(x)).abs().max() > 1e-3
    # The slopes are saved with the model.
    assert sum(k.endswith("slope") for k in layer.state_dict()) == 3


@pytest.mark.parametrize("adaptive", ["global", "layer"])
def test_engines_agree_on_adaptive_networks(adaptive):
    pde = Burgers()
    net = _mlp(adaptive)
    with torch.no_grad():
        for k, a in enumerate(adaptive_slopes(net)):
            a.fill_(0.08 + 0.03 * k)
    x = torch.rand(30, 2, dtype=torch.float64) * torch.tensor([2.0, 1.0]) - torch.tensor([1.0, 0.0])
    points = {"interior": x, "initial": x, "boundary": x}
    ref = PINNLoss(pde, get_engine("autograd"))(net, points)
    ref_grads = torch.autograd.grad(ref[0], adaptive_slopes(net))
    for name in ("func", "taylor"):
        total, parts = PINNLoss(pde, get_engine(name))(net, points)
        torch.testing.assert_close(total, ref[0], rtol=1e-11, atol=1e-12)
        grads = torch.autograd.grad(total, adaptive_slopes(net))
        for g, want in zip(grads, ref_grads):
            torch.testing.assert_close(g, want, rtol=1e-9, atol=1e-12)


def test_slope_recovery_term_is_jagtaps_and_enters_the_loss():
    net = _mlp("layer")
    with torch.no_grad():
        for a, v in zip(adaptive_slopes(net), (0.1, 0.5, 1.0)):
            a.fill_(v)
    want = 1 / torch.tensor([0.1, 0.5, 1.0], dtype=torch.float64).exp().mean()
    torch.testing.assert_close(slope_recovery(net), want, rtol=1e-14, atol=0)
    pde = Burgers()
    x = torch.rand(10, 2, dtype=torch.float64)
    points = {"interior": x, "initial": x, "boundary": x}
    plain, _ = PINNLoss(pde, get_engine("autograd"))(net, points)
    total, parts = PINNLoss(pde, get_engine("autograd"), extras=[SlopeRecovery(0.5)])(net, points)
    torch.testing.assert_close(total, plain + 0.5 * want)
    torch.testing.assert_close(parts["slope_recovery"], want)


def test_bad_adaptive_options_say_how_to_fix_them():
    with pytest.raises(ValueError, match="none, global, layer"):
        _mlp("neuron")
    with pytest.raises(ValueError, match="no adaptive form"):
        MLP(torch.zeros(2), torch.ones(2), activation="softplus", adaptive="layer",
            generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="scale n must be"):
        _mlp("layer", adaptive_scale=0.5)
    with pytest.raises(ValueError, match="model.adaptive=layer"):
        slope_recovery(_mlp("none"))
    with pytest.raises(ValueError, match="slope_recovery must be"):
        PINNLoss(Burgers(), get_engine("autograd"), extras=[SlopeRecovery(-1)])
