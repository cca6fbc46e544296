"""docs/extending.md, "A geometry primitive", run literally: the Ellipse primitive it writes is
sampled uniformly on its boundary, its normals are unit and outward, and it composes by CSG."""

import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

DOC = Path(__file__).resolve().parents[1] / "docs" / "extending.md"


@pytest.fixture(scope="module")
def guide(tmp_path_factory):
    text = DOC.read_text()
    blocks = dict(re.findall(r"<!-- geometry: (\S+) -->\n```python\n(.*?)```", text, re.S))
    assert set(blocks) == {"myshapes.py", "use"}
    root = tmp_path_factory.mktemp("shapes")
    (root / "myshapes.py").write_text(blocks["myshapes.py"])
    sys.path.insert(0, str(root))
    try:
        namespace: dict = {}
        exec(compile(blocks["use"], "use", "exec"), namespace)
        import myshapes
    finally:
        sys.path.remove(str(root))
    yield myshapes, namespace
    sys.modules.pop("myshapes", None)


def test_the_guide_runs_and_composes(guide):
    _, ns = guide
    assert ns["plate"].parts == ("boundary", "hole")
    inside, edge = ns["inside"], ns["edge"]
    assert inside.shape == (1000, 2) and edge.shape == (400, 2)
    assert bool(ns["plate"].inside(inside).all())
    assert bool(ns["plate"].on_boundary(edge, tol=1e-9).all())


def test_the_ellipse_samples_its_boundary_uniformly_in_arc_length(guide):
    myshapes, _ = guide
    e = myshapes.Ellipse([0.5, -0.25], [3.0, 1.0])
    (facet,) = e.facets()
    x, n = facet.sample(40_000, torch.Generator().manual_seed(1))
    assert torch.allclose((((x - e.center) / e.axes) ** 2).sum(-1), torch.ones(40_000, dtype=torch.float64))
    assert torch.allclose(n.norm(dim=-1), torch.ones(40_000, dtype=torch.float64))
    assert bool((((x - e.center) * n).sum(-1) > 0).all())  # outward
    # arc length of the quarter x > 0, y > 0 is a quarter of the perimeter: a quarter of the points
    share = float(((x[:, 0] > 0.5) & (x[:, 1] > -0.25)).double().mean())
    assert abs(share - 0.25) < 4 * math.sqrt(0.25 * 0.75 / 40_000)
    # the right half (|x - cx| large, where the boundary is flat) holds more than the angle's share
    t = np.arctan2(((x[:, 1] + 0.25) / 1.0).numpy(), ((x[:, 0] - 0.5) / 3.0).numpy())
    near_ends = np.mean(np.abs(np.cos(t)) > np.cos(np.pi / 8))
    assert near_ends < 0.25  # uniform in angle would give 0.25; the ends are short in arc length
    # Ramanujan's perimeter, against a fine quadrature
    s = np.linspace(0, 2 * np.pi, 200_001)
    trapezoid = getattr(np, "trapezoid", None) or np.trapz  # numpy 2 renamed it
    exact = trapezoid(np.sqrt((3 * np.sin(s)) ** 2 + np.cos(s) ** 2), s)
    assert abs(facet.measure - exact) / exact < 1e-4


def test_exact_dirichlet_names_a_part_without_a_distance(guide):
    myshapes, _ = guide
    with pytest.raises(ValueError, match=r"\['boundary'\] have no distance function"):
        myshapes.Ellipse([0, 0], [2, 1]).distance(torch.zeros(3, 2, dtype=torch.float64))
