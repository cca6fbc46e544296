import math

import pytest
import torch

from pinn.diff.autograd import Derivatives
from pinn.physics.fields import field_name, parse_field
from pinn.diff.functional import derivative_tower


def analytic(p):
    """u(x, t) = sin(2x) exp(-t) + x^3 t^2, with known derivatives."""
    x, t = p[:, 0], p[:, 1]
    return (torch.sin(2 * x) * torch.exp(-t) + x**3 * t**2).unsqueeze(-1)


def closed_forms(x, t):
    s, c, e = torch.sin(2 * x), torch.cos(2 * x), torch.exp(-t)
    return {
        "u": s * e + x**3 * t**2,
        "u_x": 2 * c * e + 3 * x**2 * t**2,
        "u_t": -s * e + 2 * x**3 * t,
        "u_xx": -4 * s * e + 6 * x * t**2,
        "u_xt": -2 * c * e + 6 * x**2 * t,
        "u_tx": -2 * c * e + 6 * x**2 * t,
        "u_tt": s * e + 2 * x**3,
        "u_xxx": -8 * c * e + 6 * t**2,
        "u_xxt": 4 * s * e + 12 * x * t,
        "u_xtt": 2 * c * e + 6 * x**2,
        "u_ttt": -s * e,
    }


@pytest.fixture
def points():
    g = torch.Generator().manual_seed(1)
    return torch.rand(64, 2, generator=g, dtype=torch.float64) * 2 - 1


def test_autograd_engine_matches_closed_forms_to_third_order(points):
    d = Derivatives(analytic, points, ("x", "t"))
    want = closed_forms(points[:, 0], points[:, 1])
    for name, value in want.items():
        torch.testing.assert_close(d[name], value, rtol=1e-13, atol=1e-12, msg=name)


def test_func_tower_matches_closed_forms_to_third_order(points):
    tower = torch.func.vmap(derivative_tower(analytic, 3))
    u, du, d2u, d3u = tower(points)
    want = closed_forms(points[:, 0], points[:, 1])
    for name, value in want.items():
        idx = parse_field(name, ("x", "t"))
        got = (u, du, d2u, d3u)[len(idx)][(slice(None),) + idx]
        torch.testing.assert_close(got, value, rtol=1e-13, atol=1e-12, msg=name)


def test_each_derivative_is_computed_once(points):
    d = Derivatives(analytic, points, ("x", "t"))
    d["u_x"], d["u_t"]
    assert d.grad_calls == 1  # one reverse pass gives every first derivative
    d["u_xx"], d["u_xt"], d["u_x"], d["u_t"]
    assert d.grad_calls == 2
    first = d["u_xx"]
    assert d["u_xx"] is first
    d["u_tt"]
    assert d.grad_calls == 3


def test_derivative_of_a_constant_direction_is_zero(points):
    d = Derivatives(lambda p: (p[:, :1] ** 2), points, ("x", "t"))
    torch.testing.assert_close(d["u_t"], torch.zeros(64, dtype=torch.float64))
    torch.testing.assert_close(d["u_xxx"], torch.zeros(64, dtype=torch.float64))


def test_field_names():
    assert parse_field("u", ("x", "t")) == ()
    assert parse_field("u_tx", ("x", "t")) == parse_field("u_xt", ("x", "t")) == (0, 1)
    assert field_name((0, 0, 1), ("x", "t")) == "u_xxt"
    with pytest.raises(ValueError, match="not a sequence of the coordinates"):
        parse_field("u_y", ("x", "t"))
    with pytest.raises(ValueError, match=r"'v_x' names no field of this PDE: its fields are \['u'\]"):
        parse_field("v_x", ("x", "t"))


def test_points_shape_is_checked():
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        Derivatives(analytic, torch.zeros(5, 3), ("x", "t"))


def test_third_derivative_through_network_matches_finite_difference():
    from pinn.nets.mlp import MLP

    g = torch.Generator().manual_seed(0)
    net = MLP(torch.tensor([-1.0, 0.0]), torch.tensor([1.0, 1.0]), width=8, depth=2, generator=g, dtype=torch.float64)
    p = torch.tensor([[0.3, 0.4]], dtype=torch.float64)
    d = Derivatives(net, p, ("x", "t"))
    h = 1e-3
    shift = torch.tensor([[h, 0.0]], dtype=torch.float64)
    fd = Derivatives(net, p + shift, ("x", "t"))["u_xx"] - Derivatives(net, p - shift, ("x", "t"))["u_xx"]
    assert math.isclose(d["u_xxx"].item(), (fd / (2 * h)).item(), rel_tol=1e-5, abs_tol=1e-7)
