"""Issue 34, item 1: a table-scored run's plots blank the triangles outside the shape, judged by the
shape itself, not by edge length (which blanked a graded mesh's coarse triangles inside the fluid)."""

import numpy as np
import torch

from pinn import get_sampler
from pinn.geometry.primitives import Box, Disk
from pinn.io.plotting import solution_figure
from pinn.physics.shape_domain import ShapeDomain


def _graded_nodes():
    """Nodes of a unit square with a hole of radius 0.2 at its centre: fine (0.01) along the walls,
    coarse (0.12) in between, as a COMSOL mesh graded towards the walls."""
    domain = ShapeDomain(Box([0.0, 0.0], [1.0, 1.0]) - Disk((0.5, 0.5), 0.2))
    g = torch.Generator().manual_seed(0)
    walls = domain.sample("boundary", 600, get_sampler("sobol"), generator=g).numpy()
    coarse = np.array([(x, y) for x in np.arange(0.06, 1.0, 0.12) for y in np.arange(0.06, 1.0, 0.12)])
    near = np.concatenate([walls * 0.97 + 0.015, walls])  # a fine layer just inside the outer walls
    pts = np.concatenate([walls, coarse, near])
    keep = domain.inside(pts)
    return domain, pts[keep]


def _mask_of(fig):
    ax = fig.axes[0]
    return ax.collections[0]._triangulation  # the TriMesh's triangulation, as drawn


def test_a_graded_mesh_is_drawn_whole_inside_the_shape_and_blank_in_its_hole():
    domain, pts = _graded_nodes()
    x, y = pts[:, 0], pts[:, 1]
    u = np.sin(x) * np.cos(y)
    grid = {"x": x, "y": y}
    by_shape = _mask_of(solution_figure(grid, u, u, layout="nodes", inside=domain.inside))
    t = by_shape.triangles
    centroids = np.stack([x[t].mean(axis=1), y[t].mean(axis=1)], axis=1)
    inside = domain.inside(centroids)
    assert np.array_equal(by_shape.mask, ~inside)  # exactly the triangles outside: the hole's
    assert (~inside).sum() > 0 and inside.sum() > 0
    # the edge-length rule (kept where no shape is known) blanks triangles inside the fluid
    by_edges = _mask_of(solution_figure(grid, u, u, layout="nodes"))
    assert (by_edges.mask & inside).sum() > 0
