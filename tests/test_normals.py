"""Normals inside residual terms: the geometry's normal at a point against the sampled (closed-form)
normals, du/dn built from them on both kinds of domain, and HNd (heat on the 5-D ball, du/dn = u)."""

import math

import pytest
import torch

from pinn import MLP, PINNLoss, get_engine, get_sampler
from pinn.geometry import Box, Disk, Hypersphere, Polygon, Rectangle
from pinn.pdes import HeatBall
from pinn.physics.domains import Domain
from pinn.physics.normals import gradient_names, normal_derivative


def _holes():
    plate = Rectangle([-0.5, -0.5], [0.5, 0.5])
    for cx in (-0.3, 0.3):
        for cy in (-0.3, 0.3):
            plate = plate - Disk([cx, cy], 0.1, part="holes")
    return plate


@pytest.mark.parametrize("make", [
    _holes, lambda: Polygon([[0, 0], [2, 0], [1, 1.5]]), lambda: Hypersphere(5),
    lambda: Disk([0, 0], 1) | Disk([1, 0], 1), lambda: Disk([0, 0], 1) & Disk([1, 0], 1),
    lambda: Box([0, 0, 0], [1, 2, 3]).rename({"x_min": "inlet"}),
], ids=["square-minus-4-disks", "triangle", "5-ball", "union", "intersection", "renamed-box"])
def test_normal_at_a_boundary_point_is_the_sampled_closed_form_normal(make):
    shape = make()
    b = shape.sample_boundary(3000, generator=torch.Generator().manual_seed(1))
    n = shape.normal(b.points)
    torch.testing.assert_close(n, b.normals, rtol=0, atol=1e-12)
    torch.testing.assert_close(n.norm(dim=1), torch.ones(len(n), dtype=torch.float64), rtol=0, atol=1e-14)


def test_normals_of_the_holes_point_into_the_holes():
    shape = _holes()
    b = shape.sample_boundary(2000, generator=torch.Generator().manual_seed(2), parts=["holes"])
    centres = torch.sign(b.points) * 0.3  # each hole's centre, by quadrant
    inward = (centres - b.points) / 0.1
    torch.testing.assert_close(shape.normal(b.points), inward, rtol=0, atol=1e-12)


def test_du_dn_on_a_box_domain_is_the_outward_derivative():
    d = Domain({"x": (0.0, 1.0), "y": (0.0, 2.0)}, (0.0, 1.0))
    pts = d.sample("boundary", 500, get_sampler("uniform"), generator=torch.Generator().manual_seed(0))
    c = {n: pts[:, i] for i, n in enumerate(d.coordinates)}
    # u = x^2 + 3y: du/dn = -0 (x=0), 2 (x=1), -3 (y=0), 3 (y=2)
    f = {"u_x": 2 * c["x"], "u_y": 3 + 0 * c["y"]}
    expect = torch.where(c["x"] == 0, 0.0, torch.where(c["x"] == 1, 2.0, torch.where(c["y"] == 0, -3.0, 3.0)))
    torch.testing.assert_close(normal_derivative(f, c, d).double(), expect.double(), rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match=r"du/dn needs \['u_y'\]: add them to the term's fields"):
        normal_derivative({"u_x": f["u_x"]}, c, d)


class _Exact(torch.nn.Module):
    def __init__(self, pde):
        super().__init__()
        self.pde, self.dummy = pde, torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

    def forward(self, x):
        return self.pde.solution(dict(zip(self.pde.domain.coordinates, x.T))) + 0 * self.dummy


def _points(pde, n=128, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {w: pde.domain.sample(w, n, get_sampler("uniform"), generator=g) for w in pde.domain.point_sets}


def test_hnd_residual_and_conditions_vanish_on_the_exact_solution():
    pde = HeatBall(dim=5)
    assert pde.domain.coordinates == ("x1", "x2", "x3", "x4", "x5", "t")
    assert [t.name for t in pde.terms()] == ["residual", "initial", "neumann"]
    pts = _points(pde)
    assert float((pts["boundary"][:, :5].norm(dim=1) - 1).abs().max()) < 1e-12
    exact = _Exact(pde)
    for name, r in PINNLoss(pde, get_engine("autograd")).residuals(exact, pts).items():
        assert float(r.detach().abs().max()) < 1e-11, name
    # the Neumann term sees the normal: u = exp(|x|^2/2 + t) scaled by (1 + x1) has du/dn != u
    tilted = lambda x: exact(x) * (1 + x[:, 0])  # noqa: E731
    bad = PINNLoss(pde, get_engine("autograd")).residuals(tilted, pts)
    assert float(bad["neumann"].detach().abs().max()) > 0.1


@pytest.mark.parametrize("engine", ["func", "taylor"])
def test_engines_agree_on_the_neumann_term(engine):
    pde = HeatBall(dim=3)
    net = MLP(pde.domain.lower, pde.domain.upper, width=8, depth=2,
              generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    pts = _points(pde, 48)
    ref = PINNLoss(pde, get_engine("autograd")).residuals(net, pts)
    got = PINNLoss(pde, get_engine(engine)).residuals(net, pts)
    for k in ref:
        torch.testing.assert_close(got[k], ref[k], rtol=0, atol=1e-10)


def test_gradient_names():
    assert gradient_names("v", ("x1", "x2")) == ("v_x1", "v_x2")
    assert math.isclose(HeatBall(dim=2).solution({"x1": 0.0, "x2": 1.0, "t": 0.5}), math.exp(1.0))
