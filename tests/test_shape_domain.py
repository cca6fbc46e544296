"""PDEs on shapes: a domain over a CSG geometry, a condition per named boundary part, and
evaluation masked to the shape (a manufactured Poisson problem on a plate with a hole)."""

import math

import numpy as np
import pytest
import torch

from pinn import PDE, MLP, PINNLoss, Term, evaluate_grid, get_engine, get_sampler
from pinn.geometry import Disk, Rectangle
from pinn.physics.shape_domain import ShapeDomain


class PlateWithHole(PDE):
    """-(u_xx + u_yy) = f on [-1, 1]^2 minus the disk of radius 0.4, with u = exact on the outer
    edge and on the hole (two parts, two terms); exact u = sin(pi x) sin(pi y) + x."""

    name = "plate_with_hole"
    residual_fields = ("u_xx", "u_yy")

    def __init__(self):
        plate = Rectangle([-1, -1], [1, 1]).rename({"x_min": "outer", "x_max": "outer", "y_min": "outer",
                                                     "y_max": "outer"})
        self.domain = ShapeDomain(plate - Disk([0.0, 0.0], 0.4, part="hole"), names=("x", "y"))

    def residual(self, f, c):
        x, y = c["x"], c["y"]
        return f["u_xx"] + f["u_yy"] + 2 * math.pi**2 * torch.sin(math.pi * x) * torch.sin(math.pi * y)

    def conditions(self):
        return (Term("outer", "boundary:outer", ("u",), lambda f, c: f["u"] - self.solution(c)),
                Term("hole", "boundary:hole", ("u",), lambda f, c: f["u"] - self.solution(c)))

    def solution(self, coords):
        x, y = coords["x"], coords["y"]
        xp = torch if isinstance(x, torch.Tensor) else np
        return xp.sin(math.pi * x) * xp.sin(math.pi * y) + x


def _g(seed=0):
    return torch.Generator().manual_seed(seed)


def test_point_sets_per_part_and_their_shares():
    pde = PlateWithHole()
    d = pde.domain
    assert d.point_sets == ("interior", "boundary", "boundary:outer", "boundary:hole")
    hole = 2 * math.pi * 0.4
    assert d.share("boundary:hole") == pytest.approx(hole / (8 + hole), rel=1e-12)
    x = d.sample("interior", 2000, get_sampler("lhs"), generator=_g())
    assert bool((x.norm(dim=1) > 0.4).all()) and bool((x.abs() < 1).all())
    h = d.sample("boundary:hole", 500, get_sampler("lhs"), generator=_g())
    torch.testing.assert_close(h.norm(dim=1), torch.full((500,), 0.4, dtype=torch.float64), rtol=0, atol=1e-13)
    o = d.sample("boundary:outer", 500, get_sampler("lhs"), generator=_g())
    assert bool((o.abs().max(dim=1).values == 1).all())
    with pytest.raises(ValueError, match="unknown point set 'boundary:roof'"):
        d.sample("boundary:roof", 5, get_sampler("lhs"), generator=_g())


def test_residual_and_conditions_vanish_on_the_exact_solution():
    pde = PlateWithHole()
    pts = {w: pde.domain.sample(w, 300, get_sampler("uniform"), generator=_g()) for w in pde.domain.point_sets}
    exact = lambda p: pde.solution({"x": p[:, 0], "y": p[:, 1]})  # noqa: E731
    res = PINNLoss(pde, get_engine("autograd")).residuals(exact, pts)
    assert set(res) == {"residual", "outer", "hole"}
    assert all(r.abs().max() < 1e-12 for r in res.values()), {k: float(r.abs().max()) for k, r in res.items()}


def test_evaluation_is_masked_to_the_shape():
    pde = PlateWithHole()
    net = MLP(pde.domain.lower, pde.domain.upper, width=8, depth=2, generator=_g(), dtype=torch.float64)
    ev = evaluate_grid(net, pde, [81, 81])
    x, y = np.meshgrid(ev.grid["x"], ev.grid["y"], indexing="ij")
    hole = np.hypot(x, y) < 0.4 - 1e-9
    assert np.isnan(ev.u_ref[hole]).all() and np.isnan(ev.u_pred[hole]).all()
    assert np.isfinite(ev.u_ref[~hole]).all()
    ref = ev.u_ref[~hole]
    expected = np.linalg.norm(ev.u_pred[~hole] - ref) / np.linalg.norm(ref)
    assert ev.metrics["rel_l2"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.slow
def test_the_plate_with_a_hole_trains(tmp_path):
    from pinn import Adam, Job, QuasiNewton, Trainer, train

    pde = PlateWithHole()
    g = _g()
    model = MLP(pde.domain.lower, pde.domain.upper, width=20, depth=3, generator=g, dtype=torch.float64)
    untrained = evaluate_grid(model, pde, [81, 81]).metrics["rel_l2"]  # 0.97
    bound = 0.1  # measured 3.2e-2 in 16 s
    assert 5 * bound <= min(untrained, 1.0), untrained
    job = Job(pde=pde, model=model, trainer=Trainer([Adam(steps=500, lr=3e-3), QuasiNewton(steps=700)]),
              generator=g, points={"interior": 1500, "boundary:outer": 300, "boundary:hole": 100},
              resolution=[81, 81])
    metrics = train(job, tmp_path / "run")
    assert metrics["rel_l2"] < bound, metrics
    assert (tmp_path / "run" / "plots" / "solution.png").stat().st_size > 1000


def test_a_config_shares_points_boundary_among_the_parts_by_length():
    from pinn.cli.build import build
    from pinn.cli.compose import compose_config

    job = build(compose_config(["pde=poisson", f"pde._target_={__name__}.PlateWithHole", "~pde.kx", "~pde.ky",
                                "points.boundary=300"]))
    hole = 2 * math.pi * 0.4
    assert job.points == {"interior": 5000, "boundary:outer": round(300 * 8 / (8 + hole)),
                          "boundary:hole": round(300 * hole / (8 + hole))}
    pts = job.sample_points()
    assert pts["boundary:hole"].shape == (72, 2)


def test_the_tensorboard_error_is_the_final_metric_on_a_shape(tmp_path):
    """The monitor's periodic evaluation is the run's own: on a shape PDE scored by its solution
    on a grid, the points outside the shape are left out of both (issue 29)."""
    from pinn.cli._watch import Monitor
    from pinn.cli.build import build
    from pinn.cli.train import check_config
    from pinn.evaluation.grid import evaluate

    cfg = check_config(["pde=heat_nd", "pde.dim=2", "model.width=8", "model.depth=2", "evaluation.resolution=[15,15,5]"])
    job = build(cfg)
    monitor = Monitor(cfg, job, tmp_path, quiet=True)
    logged, _, ev = monitor._evaluate()
    final = evaluate(job.model, job.pde, job.resolution, chunk_size=job.chunk_size)
    assert np.isnan(ev.u_ref).any()  # the grid's corners lie outside the ball
    assert logged["rel_l2"] == final.metrics["rel_l2"] and logged["max_abs_error"] == final.metrics["max_abs_error"]
