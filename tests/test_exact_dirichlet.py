"""Approximate distance functions of shapes and exact Dirichlet conditions built on them
(Sukumar and Srivastava 2022): zero on the boundary part, positive inside, unit gradient there,
smooth enough for second derivatives, and the same under every derivative engine."""

import pytest
import torch

from pinn import MLP, PINNLoss, get_engine, get_sampler
from pinn.geometry import Box, Disk, Hypersphere, Polygon, Rectangle
from pinn.geometry.base import join_distances
from pinn.pdes import PoissonHoles
from pinn.physics.constraints import HardConstraint
from pinn.physics.exact_dirichlet import ExactDirichlet
from pinn.physics.shape_domain import ShapeDomain

SHAPES = {
    "plate-with-holes": lambda: PoissonHoles().domain.geometry,
    "triangle": lambda: Polygon([[0, 0], [2, 0], [1, 1.5]]),
    "L-shape": lambda: Polygon([[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2]]),
    "box3": lambda: Box([0, 0, 0], [1, 2, 3]),
    "ball4": lambda: Hypersphere(4),
    "square-minus-square": lambda: Rectangle([0, 0], [1, 1]) - Rectangle([0.4, 0.4], [0.6, 0.6]),
}


@pytest.mark.parametrize("name", list(SHAPES))
def test_distance_is_zero_on_each_part_positive_inside_with_unit_gradient_at_the_boundary(name):
    shape = SHAPES[name]()
    g = torch.Generator().manual_seed(0)
    inside = shape.sample_interior(3000, generator=g)
    assert float(shape.distance(inside).min()) > 0
    for part in shape.parts:
        b = shape.sample_boundary(500, generator=g, parts=[part])
        assert float(shape.distance(b.points, [part]).abs().max()) < 1e-12
        assert float(shape.distance(inside, [part]).min()) > 0
        # normalized to first order: |grad phi| = 1 just inside, away from corners, pointing inward
        near = (b.points - 1e-7 * b.normals).requires_grad_(True)
        (grad,) = torch.autograd.grad(shape.distance(near, [part]).sum(), near)
        corner_free = shape.sdf(b.points + 0.02 * torch.randn(500, shape.dim, generator=g, dtype=torch.float64)).abs() > 0
        cos = -(grad * b.normals).sum(1) / grad.norm(dim=1)
        assert float((grad.norm(dim=1) - 1).abs().median()) < 1e-3
        assert float(cos[corner_free].min()) > 0.9


def test_join_distances_is_finite_where_one_vanishes_and_is_symmetric():
    a, b = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 0.0, 2.0])
    torch.testing.assert_close(join_distances([a, b]), torch.tensor([0.0, 0.0, 1.0]))
    torch.testing.assert_close(join_distances([a, b]), join_distances([b, a]))


def test_exact_dirichlet_meets_each_parts_data_for_any_network_output():
    pde = PoissonHoles()
    g = torch.Generator().manual_seed(1)
    for part, value in (("outer", 1.0), ("holes", 0.0)):
        x = pde.domain.geometry.sample_boundary(400, generator=g, parts=[part]).points
        c = {"x": x[:, 0], "y": x[:, 1]}
        out = pde.constrain(torch.randn(400, generator=g, dtype=torch.float64) * 5, c)
        torch.testing.assert_close(out, torch.full_like(out, value), rtol=0, atol=1e-12)
    # data that varies along a part: u = x + 2y on a disk's circle
    disk = ShapeDomain(Disk([0.0, 0.0], 1.0), names=("x", "y"))
    exact = ExactDirichlet(disk, {"circle": lambda c: c["x"] + 2 * c["y"]})
    x = disk.geometry.sample_boundary(300, generator=g).points
    c = {"x": x[:, 0], "y": x[:, 1]}
    torch.testing.assert_close(exact(torch.randn(300, generator=g, dtype=torch.float64), c), c["x"] + 2 * c["y"],
                               rtol=0, atol=1e-12)


def test_exact_dirichlet_refuses_unknown_parts_and_shapes_without_distances():
    dom = PoissonHoles().domain
    with pytest.raises(ValueError, match=r"no boundary parts \['lid'\]; the parts are \['outer', 'holes'\]"):
        ExactDirichlet(dom, {"lid": 1.0})
    from pinn.physics.domains import Domain

    with pytest.raises(TypeError, match="needs a domain"):
        ExactDirichlet({"x": (0.0, 1.0)}, {"x_min": 0.0})
    # a box domain is the domain of a Box: its faces are parts with distance functions (one interface)
    box = ExactDirichlet(Domain({"x": (0.0, 1.0), "y": (0.0, 2.0)}), {"x_min": 0.0, "y_max": 1.0})
    phi = box.distances({"x": torch.tensor([0.0, 0.5, 0.5]), "y": torch.tensor([1.0, 2.0, 1.0])})
    assert float(phi[0][0]) == 0.0 and float(phi[1][1]) == 0.0 and float(phi[0][2]) > 0 and float(phi[1][2]) > 0


@pytest.mark.parametrize("engine", ["func", "taylor"])
def test_engines_agree_on_the_constrained_plate_with_holes(engine):
    pde = PoissonHoles()
    net = MLP(pde.domain.lower, pde.domain.upper, width=10, depth=2, generator=torch.Generator().manual_seed(0),
              dtype=torch.float64)
    model = HardConstraint(net, pde)
    pts = {"interior": pde.domain.sample("interior", 64, get_sampler("uniform"),
                                         generator=torch.Generator().manual_seed(3))}
    loss = PINNLoss(pde, get_engine("autograd"), exact=pde.hard_terms)
    ref = loss.residuals(model, pts)
    got = PINNLoss(pde, get_engine(engine), exact=pde.hard_terms).residuals(model, pts)
    torch.testing.assert_close(got["residual"], ref["residual"], rtol=0, atol=1e-9)
