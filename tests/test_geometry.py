"""Geometry: boundary points lie on the boundary, normals are unit, outward and equal to the
closed forms, sampling is uniform by measure (CSG cuts included), interior points lie inside."""

import math

import pytest
import torch

from pinn.geometry import Ball, Box, Disk, Hypercube, Hypersphere, Polygon, Rectangle
from pinn.physics.sampling import LatinHypercubeSampler, SobolSampler


def _g(seed=0):
    return torch.Generator().manual_seed(seed)


def _share_close(count, n, p, sigmas=5.0):
    """A binomial count within ``sigmas`` standard deviations of ``n p``."""
    return abs(count - n * p) <= sigmas * math.sqrt(n * p * (1 - p))


def test_disk_boundary_normals_and_uniform_angles():
    c, r = torch.tensor([0.3, -0.2], dtype=torch.float64), 0.7
    disk = Disk(c.tolist(), r)
    b = disk.sample_boundary(20000, generator=_g())
    torch.testing.assert_close((b.points - c).norm(dim=1), torch.full((20000,), r, dtype=torch.float64),
                               rtol=0, atol=1e-12)
    torch.testing.assert_close(b.normals, (b.points - c) / r, rtol=0, atol=1e-12)
    angles = torch.atan2(b.points[:, 1] - c[1], b.points[:, 0] - c[0])
    counts = torch.histc(angles, bins=8, min=-math.pi, max=math.pi)
    assert all(_share_close(int(k), 20000, 1 / 8) for k in counts), counts
    x = disk.sample_interior(5000, generator=_g(1))
    assert bool(((x - c).norm(dim=1) < r).all())
    assert disk.sdf(torch.tensor([[0.3, 0.5]])).item() == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("clockwise", [False, True])
def test_polygon_normals_are_the_closed_forms_and_edges_are_sampled_by_length(clockwise):
    # an L-shape (non-convex): edge parts named so that orientation fixes cannot mix them up
    verts = [[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2]]
    names = ["bottom", "right_low", "step", "right_high", "top", "left"]
    expected = {"bottom": (0, -1), "right_low": (1, 0), "step": (0, 1), "right_high": (1, 0), "top": (0, 1),
                "left": (-1, 0)}
    lengths = {"bottom": 2, "right_low": 1, "step": 1, "right_high": 1, "top": 1, "left": 2}
    if clockwise:  # the same polygon, listed the other way round
        verts = verts[::-1]
        names = [names[(len(names) - 2 - j) % len(names)] for j in range(len(names))]
    poly = Polygon(verts, parts=names)
    n = 40000
    b = poly.sample_boundary(n, generator=_g())
    assert poly.sdf(b.points).abs().max() < 1e-12
    torch.testing.assert_close(b.normals.norm(dim=1), torch.ones(n, dtype=torch.float64), rtol=0, atol=1e-14)
    for part, normal in expected.items():
        sub = b.of(part)
        assert torch.equal(sub.normals, torch.tensor(normal, dtype=torch.float64).expand_as(sub.normals))
        assert _share_close(len(sub.points), n, lengths[part] / 8), (part, len(sub.points))
    far = (b.points[:, None] - torch.tensor(verts, dtype=torch.float64)[None]).norm(dim=-1).min(dim=1).values > 1e-4
    out, inn = b.points + 1e-6 * b.normals, b.points - 1e-6 * b.normals
    assert bool((poly.sdf(out[far]) > 0).all()) and bool((poly.sdf(inn[far]) < 0).all())
    x = poly.sample_interior(4000, generator=_g(2))
    assert bool(poly.inside(x).all()) and not bool(((x[:, 0] > 1) & (x[:, 1] > 1)).any())


def test_square_with_four_holes_pinnacle_poisson2d_c():
    square = Rectangle([-0.5, -0.5], [0.5, 0.5]).rename(
        {"x_min": "outer", "x_max": "outer", "y_min": "outer", "y_max": "outer"})
    centers = [(-0.3, -0.3), (-0.3, 0.3), (0.3, -0.3), (0.3, 0.3)]
    domain = square
    for c in centers:
        domain = domain - Disk(c, 0.1, part="holes")
    assert domain.parts == ("outer", "holes")
    n = 40000
    b = domain.sample_boundary(n, generator=_g())
    assert domain.sdf(b.points).abs().max() < 1e-12
    holes = b.of("holes")
    c = torch.tensor(centers, dtype=torch.float64)
    nearest = (holes.points[:, None] - c[None]).norm(dim=-1).argmin(dim=1)
    rel = holes.points - c[nearest]
    torch.testing.assert_close(rel.norm(dim=1), torch.full((len(rel),), 0.1, dtype=torch.float64), rtol=0, atol=1e-13)
    torch.testing.assert_close(holes.normals, -rel / 0.1, rtol=0, atol=1e-12)  # out of the domain: into the hole
    perimeter = 4 * 2 * math.pi * 0.1
    assert _share_close(len(holes.points), n, perimeter / (4 + perimeter)), len(holes.points)
    assert domain.measure_of("holes") == pytest.approx(perimeter, rel=1e-12)
    x = domain.sample_interior(5000, generator=_g(3), sampler=SobolSampler())
    assert bool(domain.inside(x).all())
    assert bool(((x[:, None] - c[None]).norm(dim=-1) > 0.1).all()) and bool((x.abs() < 0.5).all())


def test_union_and_intersection_of_two_disks_cut_their_boundaries_by_length():
    a, b = Disk([0.0, 0.0], 1.0), Disk([1.0, 0.0], 1.0, part="other")
    union, lens = a | b, a & b
    # each circle keeps the arc outside (union) or inside (intersection) the other: 4 pi / 3 and 2 pi / 3
    assert union.measure_of(samples=400_000) == pytest.approx(8 * math.pi / 3, rel=5e-3)
    assert lens.measure_of(samples=400_000) == pytest.approx(4 * math.pi / 3, rel=5e-3)
    for geom in (union, lens):
        s = geom.sample_boundary(5000, generator=_g())
        assert geom.sdf(s.points).abs().max() < 1e-12
        assert _share_close(len(s.of("other").points), 5000, 0.5)  # symmetric: half on each circle
    s = union.sample_boundary(5000, generator=_g(1))
    assert bool((a.sdf(s.points) > -1e-12).all()) and bool((b.sdf(s.points) > -1e-12).all())
    x = lens.sample_interior(2000, generator=_g(2))
    assert bool((a.inside(x) & b.inside(x)).all())


def test_five_dimensional_hypercube_and_hypersphere():
    cube = Hypercube(5)
    s = cube.sample_boundary(10000, generator=_g())
    on_face = (s.points == 0) | (s.points == 1)
    assert bool((on_face.sum(dim=1) == 1).all()) and bool(((s.points >= 0) & (s.points <= 1)).all())
    axis = on_face.double().argmax(dim=1)
    sign = torch.where(s.points[torch.arange(10000), axis] == 1, 1.0, -1.0).double()
    torch.testing.assert_close(s.normals, torch.nn.functional.one_hot(axis, 5).double() * sign[:, None])
    counts = torch.bincount(s.parts, minlength=10)
    assert all(_share_close(int(k), 10000, 0.1) for k in counts), counts
    x = cube.sample_interior(2000, generator=_g(1), sampler=LatinHypercubeSampler())
    torch.testing.assert_close(cube.sdf(x), -torch.minimum(x, 1 - x).min(dim=1).values, rtol=0, atol=1e-15)

    ball = Hypersphere(5)
    s = ball.sample_boundary(5000, generator=_g(2))
    torch.testing.assert_close(s.points.norm(dim=1), torch.ones(5000, dtype=torch.float64), rtol=0, atol=1e-14)
    torch.testing.assert_close(s.normals, s.points, rtol=0, atol=1e-14)
    assert ball.measure_of() == pytest.approx(8 * math.pi**2 / 3)  # the 4-sphere's area
    x = ball.sample_interior(3000, generator=_g(3))
    assert bool((x.norm(dim=1) < 1).all())


def test_named_parts_rename_and_select():
    cavity = Rectangle([0, 0], [1, 1]).rename({"y_max": "lid", "x_min": "walls", "x_max": "walls", "y_min": "walls"})
    assert cavity.parts == ("walls", "lid")
    lid = cavity.sample_boundary(500, generator=_g(), parts=["lid"])
    assert bool((lid.points[:, 1] == 1).all()) and set(lid.parts.tolist()) == {1}
    with pytest.raises(ValueError, match=r"no boundary parts \['roof'\]; the parts are \['walls', 'lid'\]"):
        cavity.sample_boundary(10, generator=_g(), parts=["roof"])
    with pytest.raises(ValueError, match="no boundary parts"):
        cavity.rename({"nope": "x"})


def test_sampling_is_reproducible_for_a_seed():
    dom = Rectangle([0, 0], [1, 1]) - Disk([0.5, 0.5], 0.2)
    a = dom.sample_boundary(300, generator=_g(7))
    b = dom.sample_boundary(300, generator=_g(7))
    assert torch.equal(a.points, b.points) and torch.equal(a.normals, b.normals)
    assert torch.equal(dom.sample_interior(300, generator=_g(7)), dom.sample_interior(300, generator=_g(7)))


@pytest.mark.parametrize("make,message", [
    (lambda: Disk([0, 0], -1.0), "radius must be a finite number > 0"),
    (lambda: Box([0, 1], [1, 1]), "lower < upper"),
    (lambda: Polygon([[0, 0], [1, 1]]), "at least 3 finite vertices"),
    (lambda: Polygon([[0, 0], [1, 1], [2, 2]]), "enclose no area"),
    (lambda: Polygon([[0, 0], [1, 0], [0, 1]], parts=["a", "b"]), "name each of the 3 edges"),
    (lambda: Box([0, 0], [1, 1]) | Ball([0, 0, 0], 1.0), "cannot combine a 2-D and a 3-D"),
    (lambda: Box([0, 0], [1, 1], names=["x", "x"]), "distinct coordinate names"),
    (lambda: Box([0, 0], [1, 1]).sdf(torch.zeros(3, 3)), r"shape \(n, 2\)"),
])
def test_bad_shapes_are_refused_with_the_reason(make, message):
    with pytest.raises(ValueError, match=message):
        make()
