"""Systems of PDEs: several fields, several equations, field and derivative names, evaluation
per field, and Kovasznay flow (an exact Navier-Stokes solution) end to end."""

import json
import math

import numpy as np
import pytest
import torch

from pinn import MLP, Kovasznay, PINNLoss, get_engine, get_sampler
from pinn.physics.fields import field_name, parse
from pinn.evaluation.grid import GridEvaluation, evaluate_grid
from pinn.pdes.base import PDE
from pinn.physics.domains import Domain
from pinn.physics.terms import Term


def _points(pde, which, n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    return pde.domain.sample(which, n, get_sampler("uniform"), generator=g).double()


class _Exact(torch.nn.Module):
    """The exact solution as a three-output 'network', so residuals can be checked on it."""

    def __init__(self, pde):
        super().__init__()
        self.pde = pde
        self.dummy = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

    def forward(self, x):
        s = self.pde.solution({"x": x[:, 0], "y": x[:, 1]})
        return torch.stack([s["u"], s["v"], s["p"]], dim=1) + 0 * self.dummy


def test_names_of_fields_and_derivatives():
    fields = ("u", "v", "p")
    assert parse("v_yx", ("x", "y"), fields) == parse("v_xy", ("x", "y"), fields) == (1, (0, 1))
    assert parse("p", ("x", "y"), fields) == (2, ())
    coords5 = ("x0", "x1", "x2", "x3", "x4")
    assert parse("u_x4x0x4", coords5) == (0, (0, 4, 4))
    assert field_name((0, 4, 4), coords5) == "u_x0x4x4" and field_name((1,), ("x", "y"), "v") == "v_y"
    with pytest.raises(ValueError, match=r"'w_x' names no field of this PDE: its fields are \['u', 'v', 'p'\]"):
        parse("w_x", ("x", "y"), fields)
    with pytest.raises(ValueError, match="not a sequence of the coordinates"):
        parse("u_z", ("x", "y"))
    with pytest.raises(ValueError, match="can be read as several derivatives"):
        parse("u_xxx", ("x", "xx"))


def test_kovasznay_residuals_and_conditions_vanish_on_the_exact_solution():
    pde = Kovasznay()
    assert [t.name for t in pde.terms()] == ["momentum_x", "momentum_y", "continuity", "boundary_u", "boundary_v"]
    exact = _Exact(pde)
    loss = PINNLoss(pde, get_engine("autograd"))
    res = loss.residuals(exact, {w: _points(pde, w) for w in pde.domain.point_sets})
    for name, r in res.items():
        assert r.abs().max() < 1e-12, (name, float(r.abs().max()))
    # ...and not on a perturbed field: each equation sees its fields
    wrong = lambda x: exact(x) * torch.tensor([1.0, 1.0, 1.1], dtype=torch.float64)  # noqa: E731
    bad = PINNLoss(pde, get_engine("autograd")).residuals(wrong, {w: _points(pde, w) for w in pde.domain.point_sets})
    assert bad["momentum_x"].abs().max() > 1e-2 and bad["continuity"].abs().max() < 1e-12


@pytest.mark.parametrize("engine", ["func", "taylor"])
def test_engines_agree_on_a_three_field_system(engine):
    pde = Kovasznay()
    net = MLP(pde.domain.lower, pde.domain.upper, width=10, depth=3, outputs=3,
              generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    pts = {w: _points(pde, w, 64) for w in pde.domain.point_sets}
    ref = PINNLoss(pde, get_engine("autograd")).residuals(net, pts)
    got = PINNLoss(pde, get_engine(engine)).residuals(net, pts)
    assert set(got) == set(ref)
    for k in ref:
        torch.testing.assert_close(got[k], ref[k], rtol=0, atol=1e-10)
    # parameter gradients agree too
    la, _ = PINNLoss(pde, get_engine("autograd"))(net, pts)
    lb, _ = PINNLoss(pde, get_engine(engine))(net, pts)
    ga = torch.autograd.grad(la, list(net.parameters()))
    gb = torch.autograd.grad(lb, list(net.parameters()))
    for a, b in zip(ga, gb):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)


class _Undeclared(PDE):
    name = "undeclared"
    fields = ("u", "v")
    residual_fields = ("u_x", "w_x")

    def __init__(self):
        self.domain = Domain({"x": (0.0, 1.0)}, (0.0, 1.0))

    def residual(self, f, c):
        return f["u_x"] - f["w_x"]

    def conditions(self):
        return (Term("initial", "initial", ("u",), lambda f, c: f["u"]),)

    def solution(self, coords):
        return {"u": coords["x"] * 0, "v": coords["x"] * 0}


def test_an_undeclared_field_fails_at_start_up_naming_the_fields():
    with pytest.raises(ValueError, match=r"undeclared: term 'residual' reads 'w_x', which it cannot: 'w_x' names no "
                                         r"field of this PDE: its fields are \['u', 'v'\]"):
        PINNLoss(_Undeclared(), get_engine("autograd"))


def test_evaluation_reports_each_field_and_removes_the_gauge_fields_mean():
    grid = {"x": np.linspace(0, 1, 5), "y": np.linspace(0, 1, 4)}
    ref = np.random.default_rng(0).normal(size=(5, 4, 3))
    pred = ref.copy()
    pred[..., 2] += 7.0  # p off by a constant
    pred[..., 0] *= 1.1
    ev = GridEvaluation(grid, pred, ref, ("u", "v", "p"), ("p",))
    m = ev.metrics
    assert m["rel_l2_p"] == pytest.approx(0.0, abs=1e-14) and m["rel_l2_v"] == 0.0
    assert m["rel_l2_u"] == pytest.approx(0.1, rel=1e-12)
    g_pred, g_ref = ev.compared()
    assert m["rel_l2"] == pytest.approx(np.linalg.norm(g_pred - g_ref) / np.linalg.norm(g_ref), rel=1e-12)
    assert GridEvaluation(grid, pred, ref, ("u", "v", "p")).metrics["rel_l2_p"] > 1  # without the gauge


def test_kovasznay_composes_with_a_three_output_network_and_evaluates_per_field():
    from pinn.cli.build import build
    from pinn.cli.compose import compose_config

    job = build(compose_config(["pde=kovasznay", "model.width=8", "model.depth=2"]))
    assert job.model.trunk.layers[-1].out_features == 3 and job.loss.term_names[:3] == (
        "momentum_x", "momentum_y", "continuity")
    ev = evaluate_grid(job.model, job.pde, [11, 13])
    assert ev.u_pred.shape == ev.u_ref.shape == (11, 13, 3)
    assert {"rel_l2", "rel_l2_u", "rel_l2_v", "rel_l2_p", "max_abs_error_p"} <= set(ev.metrics)
    s = job.pde.solution({"x": np.array([0.25]), "y": np.array([0.5])})
    lam = 10 - math.sqrt(100 + 4 * math.pi**2)
    assert s["u"][0] == pytest.approx(1 - math.exp(lam * 0.25) * math.cos(math.pi), rel=1e-15)


# Untrained the error is about 1 (u = 0 gives 1); this run reaches about 1e-2.
SHORT = ["pde=kovasznay", "points.interior=1000", "points.boundary=400", "stages.adam.steps=500",
         "stages.quasi_newton.steps=500", "evaluation.resolution=[31,41]", "checkpoint.every=0"]


@pytest.mark.slow
def test_kovasznay_trains_plots_and_evaluates_per_field(tmp_path):
    from pinn.cli.build import build, run_training
    from pinn.cli.plot import plot_run_dir
    from pinn.cli.train import check_config
    from pinn.io import files as io

    cfg = check_config(SHORT)
    job = build(cfg)
    untrained = evaluate_grid(job.model, job.pde, job.resolution).metrics["rel_l2"]
    bound = 0.1
    assert 5 * bound <= min(untrained, 1.0), untrained
    m = run_training(cfg, tmp_path / "run")
    assert m["rel_l2"] < bound, m
    assert all(m[f"rel_l2_{f}"] < 3 * bound for f in "uvp"), m
    history = io.read_history(tmp_path / "run" / io.HISTORY)
    assert {"momentum_x", "momentum_y", "continuity", "boundary_u", "boundary_v"} <= set(history[-1])
    assert io.read_fields(tmp_path / "run" / io.PREDICTIONS) == ("u", "v", "p")
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["rel_l2_p"] == m["rel_l2_p"]
    paths = plot_run_dir(tmp_path / "run", out_dir=tmp_path / "replot")
    assert all(p.stat().st_size > 1000 for p in paths)


def test_one_network_per_field_keeps_the_fields_apart_and_the_engines_agree():
    from pinn.cli.build import build
    from pinn.cli.compose import compose_config
    from pinn.nets.per_field import PerFieldMLP

    job = build(compose_config(["pde=kovasznay", "model=per_field", "model.width=8", "model.depth=2",
                                "precision=float64"]))
    net = job.model
    assert isinstance(net, PerFieldMLP) and len(net.nets) == 3
    x = _points(Kovasznay(), "interior", 16)
    out = net(x)
    assert out.shape == (16, 3)
    own, other = torch.autograd.grad(out[:, 0].sum(), [net.nets[0].trunk.layers[0].weight, net.nets[1].trunk.layers[0].weight])
    assert own.abs().max() > 0 and other.abs().max() == 0  # u does not see v's network
    pts = {w: _points(job.pde, w, 32) for w in job.pde.domain.point_sets}
    ref = PINNLoss(job.pde, get_engine("autograd")).residuals(net, pts)
    got = PINNLoss(job.pde, get_engine("func")).residuals(net, pts)
    for k in ref:
        torch.testing.assert_close(got[k], ref[k], rtol=0, atol=1e-10)
    with pytest.raises(ValueError, match="outputs must be a positive integer"):
        PerFieldMLP(torch.zeros(2), torch.ones(2), outputs=0, generator=torch.Generator())


def test_taylor_green_vortex_residuals_vanish_and_engines_agree():
    from pinn.pdes import TaylorGreen

    pde = TaylorGreen(nu=0.05, t1=2.0)

    class Exact(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.dummy = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

        def forward(self, x):
            s = pde.solution({"x": x[:, 0], "y": x[:, 1], "t": x[:, 2]})
            return torch.stack([s["u"], s["v"], s["p"]], dim=1) + 0 * self.dummy

    pts = {w: _points(pde, w) for w in pde.domain.point_sets}
    res = PINNLoss(pde, get_engine("autograd")).residuals(Exact(), pts)
    assert max(float(r.detach().abs().max()) for r in res.values()) < 1e-12
    slow = lambda x: Exact()(x) * torch.tensor([1.0, 1.0, 0.9], dtype=torch.float64)  # noqa: E731
    assert float(PINNLoss(pde, get_engine("autograd")).residuals(slow, pts)["momentum_x"].detach().abs().max()) > 1e-2
    net = MLP(pde.domain.lower, pde.domain.upper, width=8, depth=2, outputs=3,
              generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    small = {w: _points(pde, w, 32) for w in pde.domain.point_sets}
    ref = PINNLoss(pde, get_engine("autograd")).residuals(net, small)
    for engine in ("func", "taylor"):
        got = PINNLoss(pde, get_engine(engine)).residuals(net, small)
        for k in ref:
            torch.testing.assert_close(got[k], ref[k], rtol=0, atol=1e-10)


def test_a_pressure_off_by_a_constant_that_changes_in_time_scores_zero():
    from pinn.pdes import TaylorGreen

    pde = TaylorGreen()

    class Shifted(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.dummy = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

        def forward(self, x):
            s = pde.solution({"x": x[:, 0], "y": x[:, 1], "t": x[:, 2]})
            return torch.stack([s["u"], s["v"], s["p"] + 3 * x[:, 2] ** 2 - 1], dim=1)

    ev = evaluate_grid(Shifted(), pde, [9, 9, 5])
    assert ev.time_axis == 2
    assert ev.metrics["rel_l2_p"] < 1e-13 and ev.metrics["rel_l2"] < 1e-13
    wrong = GridEvaluation(ev.grid, ev.u_pred, ev.u_ref, ev.fields, ev.gauge)  # one mean for all times
    assert wrong.metrics["rel_l2_p"] > 0.1


def test_a_field_network_can_see_only_some_coordinates():
    """``model.inputs={a: [x, y]}``: HInv's coefficient field a(x, y) exactly, whatever t is;
    u still sees t; derivatives of a in t are zero through every engine."""
    from pinn.cli.build import build
    from pinn.cli.compose import compose_config
    from pinn.nets.per_field import PerFieldMLP

    job = build(compose_config(["experiment=hinv", "model=per_field", "model.width=8", "model.depth=2",
                                "model.inputs={a:[x,y]}", "precision=float64"]))
    net = job.model.net  # under the hard constraint on a's boundary value
    assert isinstance(net, PerFieldMLP) and net.columns == (None, (0, 1))
    g = torch.Generator().manual_seed(1)
    x = torch.rand(20, 3, generator=g, dtype=torch.float64) * 2 - 1
    x[:, 2] = x[:, 2].abs()
    shifted = x.clone()
    shifted[:, 2] = torch.rand(20, generator=g, dtype=torch.float64)
    out, moved = net(x), net(shifted)
    torch.testing.assert_close(moved[:, 1], out[:, 1], rtol=0, atol=0)
    assert (moved[:, 0] - out[:, 0]).abs().max() > 1e-6
    pts = {w: _points(job.pde, w, 16) for w in job.pde.domain.point_sets}
    for engine in ("autograd", "func"):
        res = PINNLoss(job.pde, get_engine(engine)).residuals(job.model, pts)
        assert res["steady_a"].abs().max() == 0
    for bad, match in (({"b": ["x"]}, "names the field 'b'"), ({"a": ["x", "z"]}, "distinct coordinates"),
                       ({"a": []}, "non-empty list"), ({"a": ["x", "x"]}, "distinct coordinates")):
        with pytest.raises(ValueError, match=match):
            PerFieldMLP(torch.zeros(3), torch.ones(3), outputs=2, generator=torch.Generator(), inputs=bad,
                        coordinates=("x", "y", "t"), fields=("u", "a"))
    with pytest.raises(ValueError, match="give coordinates"):
        PerFieldMLP(torch.zeros(3), torch.ones(3), outputs=2, generator=torch.Generator(), inputs={"a": ["x"]})
    with pytest.raises(ValueError, match="model.coordinates is set by pinn"):
        build(compose_config(["experiment=hinv", "model=per_field", "+model.coordinates=[x,y,t]"]))
