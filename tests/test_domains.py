import pytest
import torch

from pinn import Domain, get_sampler
from pinn.physics.sampling import SAMPLERS

SAMPLER_NAMES = sorted(SAMPLERS)


@pytest.mark.parametrize("name", SAMPLER_NAMES)
def test_samplers_are_reproducible_from_the_generator(name):
    s = get_sampler(name)
    a = s.sample(100, 3, generator=torch.Generator().manual_seed(5))
    b = s.sample(100, 3, generator=torch.Generator().manual_seed(5))
    c = s.sample(100, 3, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == (100, 3) and a.dtype == torch.float64
    assert (a >= 0).all() and (a < 1).all()


def test_latin_hypercube_has_one_point_per_stratum():
    n = 50
    u = get_sampler("lhs").sample(n, 4, generator=torch.Generator().manual_seed(0))
    for j in range(4):
        assert sorted((u[:, j] * n).floor().long().tolist()) == list(range(n))


def test_sobol_is_more_uniform_than_random():
    g = torch.Generator().manual_seed(0)
    sob = get_sampler("sobol").sample(1024, 2, generator=g)
    uni = get_sampler("uniform").sample(1024, 2, generator=g)

    def worst_cell(u):  # max deviation of 8x8 cell counts from 16
        cells = (u * 8).floor().long()
        counts = torch.bincount(cells[:, 0] * 8 + cells[:, 1], minlength=64)
        return (counts - 16).abs().max().item()

    assert worst_cell(sob) < worst_cell(uni)


@pytest.mark.parametrize("name", SAMPLER_NAMES)
def test_point_sets_lie_where_they_should(name):
    d = Domain({"x": (-1.0, 2.0)}, (0.5, 1.5))
    g = torch.Generator().manual_seed(0)
    s = get_sampler(name)
    interior = d.sample("interior", 200, s, generator=g)
    assert interior.shape == (200, 2)
    assert (interior >= d.lower).all() and (interior <= d.upper).all()
    initial = d.sample("initial", 50, s, generator=g)
    assert (initial[:, 1] == 0.5).all() and (initial[:, 0] >= -1).all() and (initial[:, 0] <= 2).all()
    boundary = d.sample("boundary", 100, s, generator=g)
    assert set(boundary[:, 0].tolist()) == {-1.0, 2.0}
    assert (boundary[:, 1] >= 0.5).all() and (boundary[:, 1] <= 1.5).all()


def test_boundary_of_a_rectangle_is_weighted_by_face_length():
    d = Domain({"x": (0.0, 4.0), "y": (0.0, 1.0)}, (0.0, 1.0))
    pts = d.sample("boundary", 20000, get_sampler("uniform"), generator=torch.Generator().manual_seed(0))
    on_x_face = ((pts[:, 0] == 0) | (pts[:, 0] == 4)).float().mean().item()
    on_y_face = ((pts[:, 1] == 0) | (pts[:, 1] == 1)).float().mean().item()
    assert abs(on_x_face - 0.2) < 0.02 and abs(on_y_face - 0.8) < 0.02
    assert ((pts >= d.lower) & (pts <= d.upper)).all()


def test_steady_domain_has_no_initial_set():
    d = Domain({"x": (0.0, 1.0), "y": (0.0, 1.0)})
    assert d.point_sets[:2] == ("interior", "boundary") and "initial" not in d.point_sets
    assert d.coordinates == ("x", "y")
    with pytest.raises(ValueError, match="unknown point set"):
        d.sample("initial", 5, get_sampler("uniform"), generator=torch.Generator())


@pytest.mark.parametrize(
    "space,time,match",
    [
        ({"x": (1.0, 0.0)}, (0.0, 1.0), "low < high"),
        ({"x": (0.0, 0.0)}, (0.0, 1.0), "low < high"),
        ({"x": (0.0, 1.0)}, (1.0, 1.0), "low < high"),
        ({"x": (0.0, float("nan"))}, (0.0, 1.0), "finite"),
        ({"x": (0.0, 1.0, 2.0)}, (0.0, 1.0), "two numbers"),
        ({}, (0.0, 1.0), "at least one spatial"),
        ({"x_1": (0.0, 1.0)}, (0.0, 1.0), "identifiers without '_'"),
    ],
)
def test_bad_domains_are_rejected(space, time, match):
    with pytest.raises(ValueError, match=match):
        Domain(space, time)


def test_grid():
    d = Domain({"x": (-1.0, 1.0)}, (0.0, 1.0))
    grid = d.grid([5, 3])
    assert list(grid) == ["x", "t"] and grid["x"].tolist() == [-1, -0.5, 0, 0.5, 1] and grid["t"].tolist() == [0, 0.5, 1]
    with pytest.raises(ValueError, match="one size per coordinate"):
        d.grid([5])
    with pytest.raises(ValueError, match="at least 2"):
        d.grid([5, 1])


def test_unknown_sampler_lists_choices():
    with pytest.raises(ValueError, match="choose one of: lhs, sobol, uniform"):
        get_sampler("halton")
