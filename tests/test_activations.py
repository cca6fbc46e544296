import math

import pytest
import torch
from torch.func import jacfwd, jacrev, vmap

from pinn.nets.activations import ACTIVATIONS, _CosFn, _SigmoidFn, _SinFn, _SoftplusFn, _TanhFn, get_activation

FUNCTIONS = [_TanhFn, _SinFn, _CosFn, _SigmoidFn, _SoftplusFn]


def _sech2(x):
    return 1 / torch.cosh(x) ** 2


# Closed-form first, second and third derivatives.
CLOSED = {
    _TanhFn: (
        lambda x: _sech2(x),
        lambda x: -2 * torch.tanh(x) * _sech2(x),
        lambda x: -2 * _sech2(x) * (_sech2(x) - 2 * torch.tanh(x) ** 2),
    ),
    _SinFn: (torch.cos, lambda x: -torch.sin(x), lambda x: -torch.cos(x)),
    _CosFn: (lambda x: -torch.sin(x), lambda x: -torch.cos(x), torch.sin),
    _SigmoidFn: (
        lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x)),
        lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x)) * (1 - 2 * torch.sigmoid(x)),
        lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x)) * (1 - 6 * torch.sigmoid(x) + 6 * torch.sigmoid(x) ** 2),
    ),
    _SoftplusFn: (
        torch.sigmoid,
        lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x)),
        lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x)) * (1 - 2 * torch.sigmoid(x)),
    ),
}


def _x(n=7, scale=3.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (scale * (2 * torch.rand(n, generator=g, dtype=torch.float64) - 1)).requires_grad_(True)


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.__name__)
def test_gradcheck_and_gradgradcheck(fn):
    x = _x()
    assert torch.autograd.gradcheck(fn.apply, (x,))
    assert torch.autograd.gradgradcheck(fn.apply, (x,))


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.__name__)
def test_three_derivatives_match_closed_form(fn):
    x = _x(11)
    y = fn.apply(x)
    (d1,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), x, create_graph=True)
    (d3,) = torch.autograd.grad(d2.sum(), x)
    for got, closed in zip((d1, d2, d3), CLOSED[fn]):
        torch.testing.assert_close(got, closed(x.detach()), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.__name__)
def test_third_derivative_under_torch_func(fn):
    x = _x(5).detach()
    rev3 = vmap(jacrev(jacrev(jacrev(fn.apply))))(x)
    fwd_rev = vmap(jacfwd(jacrev(jacrev(fn.apply))))(x)
    torch.testing.assert_close(rev3, CLOSED[fn][2](x), rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(fwd_rev, CLOSED[fn][2](x), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_finite_for_huge_inputs_in_float32(name):
    act = get_activation(name)
    x = torch.tensor([-1e4, -1e3, -50.0, 0.0, 50.0, 1e3, 1e4], dtype=torch.float32, requires_grad=True)
    y = act(x)
    (d1,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), x, create_graph=True)
    (d3,) = torch.autograd.grad(d2.sum(), x)
    for t in (y, d1, d2, d3):
        assert torch.isfinite(t).all(), (name, t)


def test_softplus_is_exact_where_naive_form_overflows():
    x = torch.tensor([-1e4, 1e4, 100.0], dtype=torch.float32)
    y = get_activation("softplus")(x)
    assert y[0] == 0 and y[1] == 1e4 and y[2] == 100.0
    assert math.isinf(torch.log(1 + torch.exp(x[1])).item())  # what the naive form would give


def test_modules_match_torch():
    x = torch.linspace(-5, 5, 101, dtype=torch.float64)
    torch.testing.assert_close(get_activation("tanh")(x), torch.tanh(x))
    torch.testing.assert_close(get_activation("sin")(x), torch.sin(x))
    torch.testing.assert_close(get_activation("softplus")(x), torch.nn.functional.softplus(x))


def test_unknown_activation_lists_choices():
    with pytest.raises(ValueError, match="choose one of: sin, softplus, tanh"):
        get_activation("relu")


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_the_closed_form_tower_is_the_functions_own(name):
    """``tower``: the plain-op closed forms the Taylor engine and the compiled gradient use give the
    Function's values bit for bit, and its first and second derivatives (by autograd through the
    Function) to round-off, at 0 too, where a max/abs form of softplus would have the wrong slope."""
    act = get_activation(name)
    x = torch.cat([torch.linspace(-30, 30, 601, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)])
    x.requires_grad_(True)
    f = act(x)
    d1, = torch.autograd.grad(f.sum(), x, create_graph=True)
    d2, = torch.autograd.grad(d1.sum(), x, create_graph=True)
    d3, = torch.autograd.grad(d2.sum(), x)
    t0, t1, t2 = act.tower(x, 2)
    assert torch.equal(act.tower(x, 0)[0], f.detach()) and torch.equal(t0, f)
    torch.testing.assert_close(t1, d1, rtol=0, atol=1e-15)
    torch.testing.assert_close(t2, d2, rtol=0, atol=1e-15)
    # the third derivative, which the fused engine's adjoint uses
    third = act.tower(x, 3)
    assert len(third) == 4 and all(torch.equal(a, b) for a, b in zip(third, (t0, t1, t2)))
    torch.testing.assert_close(third[3], d3, rtol=0, atol=1e-15)
    # and the tower's own derivatives are the next entries: it can be differentiated further
    g1, = torch.autograd.grad(t0.sum(), x, create_graph=True)
    torch.testing.assert_close(g1, t1, rtol=0, atol=1e-15)
    assert len(act.tower(x, 1)) == 2
