"""One domain interface (issue 29): a box domain is the domain of a Box, and the configured sampler
draws boundary points on every domain as it draws interior ones."""

import numpy as np
import pytest
import torch

from pinn.geometry.primitives import Box, Disk
from pinn.physics.domain_base import SpaceTimeDomain
from pinn.physics.domains import Domain
from pinn.physics.sampling import LatinHypercubeSampler, Sampler, SobolSampler, UniformSampler
from pinn.physics.shape_domain import ShapeDomain


class Recording(Sampler):
    """A sampler that records the shape of every draw it makes."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def sample(self, n, dim, *, generator):
        self.calls.append((n, dim))
        return self.inner.sample(n, dim, generator=generator)


@pytest.mark.parametrize("sampler", [UniformSampler(), LatinHypercubeSampler(), SobolSampler()])
@pytest.mark.parametrize("time", [None, (0.0, 2.0)])
def test_a_box_domain_and_the_shape_domain_of_its_box_draw_the_same_boundary(sampler, time):
    box = Domain({"x": (-1.0, 1.0), "y": (0.0, 3.0)}, time)
    shape = ShapeDomain(Box([-1.0, 0.0], [1.0, 3.0], names=("x", "y")), time)
    assert isinstance(box, SpaceTimeDomain) and isinstance(shape, SpaceTimeDomain)
    a = box.sample("boundary", 300, sampler, generator=torch.Generator().manual_seed(7))
    b = shape.sample("boundary", 300, sampler, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    assert bool((box.geometry.sdf(a[:, :2]).abs() < 1e-15).all())  # on the faces


@pytest.mark.parametrize("domain", [Domain({"x": (0.0, 1.0), "y": (0.0, 1.0)}, (0.0, 1.0)),
                                    ShapeDomain(Disk((0.0, 0.0), 1.0), (0.0, 1.0)),
                                    ShapeDomain(Box([0, 0], [1, 1]) - Disk((0.5, 0.5), 0.2), (0.0, 1.0))])
def test_the_configured_sampler_draws_interior_and_boundary_points_with_time_jointly(domain):
    for which in ("interior", "boundary"):
        rec = Recording(LatinHypercubeSampler())
        pts = domain.sample(which, 200, rec, generator=torch.Generator().manual_seed(0))
        assert pts.shape == (200, 3) and rec.calls, which
        assert all(dim >= 3 for _, dim in rec.calls), (which, rec.calls)  # space and time in one draw
        assert bool(torch.isfinite(pts).all())
        assert bool(((pts[:, 2] >= 0) & (pts[:, 2] <= 1)).all())


def test_a_sobol_sample_stratifies_a_disks_boundary_where_torch_rand_does_not():
    """With Sobol the 256 boundary points of a disk fall 16 in each of 16 equal arcs (the scrambled
    sequence's projection is stratified); a uniform draw almost never does."""
    disk = ShapeDomain(Disk((0.0, 0.0), 2.0))

    def counts(sampler, seed):
        pts = disk.sample("boundary", 256, sampler, generator=torch.Generator().manual_seed(seed)).numpy()
        angle = np.mod(np.arctan2(pts[:, 1], pts[:, 0]), 2 * np.pi)
        return np.bincount((angle / (2 * np.pi) * 16).astype(int), minlength=16)

    for seed in range(3):
        assert (counts(SobolSampler(), seed) == 16).all()
        assert not (counts(UniformSampler(), seed) == 16).all()


def test_a_box_domain_masks_nothing_and_a_shape_masks_its_outside():
    box = Domain({"x": (0.0, 1.0)}, (0.0, 1.0))
    grid = np.array([[0.0, 0.0], [1.0, 1.0], [0.5, 0.3]])
    assert box.inside(grid).all() and box.time_axis() == 1
    disk = ShapeDomain(Disk((0.0, 0.0), 1.0))
    assert disk.inside(np.array([[0.0, 0.0], [0.9, 0.9]])).tolist() == [True, False] and disk.time_axis() is None
    with pytest.raises(ValueError, match="has no point set 'boundary:lid'"):
        box.share("boundary:lid")
    assert box.share("boundary:x_min") == 0.5  # a box's faces are parts, as any shape's


def test_a_box_domain_is_the_shape_domain_of_its_box():
    """Domain is ShapeDomain(Box(...)) built from {name: bounds}: every set, per-face sets included,
    draws the same points, with the same sampler draws, as the shape domain of the same box."""
    for time in (None, (0.0, 0.7)):
        box = Domain({"x": (-1.0, 1.0), "y": (0.0, 3.0)}, time)
        shape = ShapeDomain(Box([-1.0, 0.0], [1.0, 3.0], names=("x", "y")), time)
        assert isinstance(box, ShapeDomain) and box.point_sets == shape.point_sets
        assert torch.equal(box.lower, shape.lower) and box.upper[-1].item() == (0.7 if time else 3.0)
        for which in box.point_sets:
            for sampler in (UniformSampler(), SobolSampler()):
                a = box.sample(which, 50, sampler, generator=torch.Generator().manual_seed(3))
                b = shape.sample(which, 50, sampler, generator=torch.Generator().manual_seed(3))
                assert torch.equal(a, b), which
    rec = Recording(UniformSampler())  # a box's interior is drawn once, with no rejection
    Domain({"x": (0.0, 1.0)}, (0.0, 1.0)).sample("interior", 100, rec, generator=torch.Generator().manual_seed(0))
    assert rec.calls == [(100, 2)]


def test_a_shape_domains_time_bounds_are_not_rounded_to_float32():
    d = ShapeDomain(Disk((0.0, 0.0), 1.0), (0.0, 0.1))
    assert d.upper[-1].item() == 0.1  # was 0.10000000149 (torch.tensor([t1]) is float32)
