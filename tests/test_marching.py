"""Time marching (pinn.training.marching, pinn.nets.marched): the joined model's continuity and
derivatives in float64, window bookkeeping, exact resume mid-window, and the refusals."""

import math

import pytest
import torch

from pinn import MLP, Heat, RunOptions, train
from pinn.cli import job as make_job
from pinn.diff.autograd import AutogradEngine
from pinn.diff.functional import FuncEngine
from pinn.io.checkpoints import CheckpointDir
from pinn.io.files import load_checkpoint
from pinn.nets.marched import Marched, window_edges
from pinn.physics.constraints import HardConstraint
from pinn.training.marching import Windows, carried_terms, fit_data, start_terms, window_loss, window_points

SHORT = ("stages.adam.steps=30", "stages.quasi_newton.steps=12", "stages.quasi_newton.chunk=4", "model.width=8",
         "model.depth=2", "points.interior=200", "points.initial=32", "points.boundary=32", "plots=false",
         "evaluation.resolution=[21,21]", "evaluation.residual_maps=false")


def _marched(*, hard: bool, windows: int = 3, seed: int = 0) -> tuple[Marched, Heat]:
    pde = Heat(t=(0.0, 1.5))
    g = torch.Generator().manual_seed(seed)
    nets = []
    for _ in range(windows):
        net = MLP(pde.domain.lower, pde.domain.upper, width=12, depth=2, generator=g, dtype=torch.float64)
        nets.append(HardConstraint(net, pde) if hard else net)
    edges = [0.0 + 1.5 * i / windows for i in range(windows + 1)]
    return Marched(nets, edges, time_axis=1), pde


def _points(n: int, t0: float, t1: float, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, generator=g, dtype=torch.float64)
    t = t0 + (t1 - t0) * torch.rand(n, generator=g, dtype=torch.float64)
    return torch.stack([x, t], 1)


def test_window_edges():
    assert window_edges(0.0, 1.0, 0.5) == (0.0, 0.5, 1.0)
    assert window_edges(0.0, 1.0, 0.3) == (0.0, 0.25, 0.5, 0.75, 1.0)
    assert window_edges(0.0, 1.0, 0.1)[-1] == 1.0 and len(window_edges(0.0, 1.0, 0.1)) == 11  # 1 / 0.1 != 10
    assert window_edges(0.0, 1.0, 2.0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="marching.width"):
        window_edges(0.0, 1.0, 0.0)
    assert Windows(width=0.3).edges(Heat(t=(0.0, 0.9))) == pytest.approx((0.0, 0.3, 0.6, 0.9))


@pytest.mark.parametrize("hard", [False, True], ids=["plain", "hard-constraint"])
def test_each_window_starts_at_the_previous_windows_end_state_exactly(hard):
    model, pde = _marched(hard=hard)
    x = _points(50, 0.0, 1.0)[:, :1]
    for k in (1, 2):
        a = model.edges[k]
        at = torch.cat([x, torch.full_like(x, a)], 1)
        model.train_window(k, start=False)
        mine = model(at)
        model.train_window(k - 1, start=False)
        theirs = model(at)
        assert torch.equal(mine, theirs)
    if hard:  # Dirichlet walls held in every window, at every time
        model.whole()
        t = torch.linspace(0, 1.5, 31, dtype=torch.float64)[:, None]
        walls = torch.cat([torch.cat([torch.zeros_like(t), t], 1), torch.cat([torch.ones_like(t), t], 1)])
        assert model(walls).abs().max() < 1e-15


def test_derivatives_of_a_window_are_its_networks_in_time_and_the_sum_in_space():
    """``v_k = v_{k-1}(x, a_k) + c_k(x, t) - c_k(x, a_k)``: ``v_k,t = c_k,t`` and ``v_k,xx`` is the
    sum of the three parts' second derivatives, from autograd on each part separately."""
    model, _ = _marched(hard=True)
    k = 2
    model.train_window(k, start=False)
    p = _points(40, model.edges[k], model.edges[k + 1]).requires_grad_(True)

    def d(f, q, i, order):
        out = f(q).sum(-1)
        for _ in range(order):
            (out,) = torch.autograd.grad(out.sum(), q, create_graph=True)
            out = out[:, i]
        return out

    a = model.edges[k]
    q = p.detach().clone()
    q[:, 1] = a
    q.requires_grad_(True)
    c = model.windows[k]
    assert torch.allclose(d(model, p, 1, 1), d(c, p, 1, 1), rtol=0, atol=1e-13)
    model.train_window(k - 1, start=False)
    previous_xx = d(model, q, 0, 2)
    model.train_window(k, start=False)
    expected = previous_xx + d(c, p, 0, 2) - d(c, q, 0, 2)
    assert torch.allclose(d(model, p, 0, 2), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("active", [None, 1], ids=["whole", "window-1"])
def test_the_autograd_and_func_engines_agree_on_a_marched_model(active):
    model, pde = _marched(hard=False)
    if active is None:
        model.whole()
        p = _points(60, 0.0, 1.5)
    else:
        model.train_window(active, start=False)
        p = _points(60, model.edges[active], model.edges[active + 1])
    terms = pde.terms()[:1]
    a = AutogradEngine().residuals(model, p, pde.domain.coordinates, terms)
    f = FuncEngine().residuals(model, p, pde.domain.coordinates, terms)
    assert torch.allclose(a["residual"], f["residual"], rtol=0, atol=1e-12)


def test_the_whole_model_evaluates_each_point_in_its_own_window():
    model, _ = _marched(hard=False)
    model.whole()
    p = _points(300, 0.0, 1.5)
    out = model(p)
    for k in range(model.count):
        a, b = model.edges[k], model.edges[k + 1]
        inside = (p[:, 1] >= a) & ((p[:, 1] < b) | (k == model.count - 1))
        model.train_window(k, start=False)
        assert torch.equal(model(p[inside]), out[inside])
        model.whole()


def test_a_new_window_starts_from_the_previous_windows_weights_and_trains_alone():
    model, _ = _marched(hard=False)
    model.train_window(1, start=True)
    for mine, theirs in zip(model.windows[1].parameters(), model.windows[0].parameters()):
        assert torch.equal(mine, theirs)
    trained = [p for p in model.parameters() if p.requires_grad]
    assert trained == list(model.windows[1].parameters())
    # each window's networks see its own time span on [-1, 1]
    from pinn.nets.parts import InputScaling

    s = next(m for m in model.windows[2].modules() if isinstance(m, InputScaling))
    assert math.isclose(float(s.center[1]), 1.25) and math.isclose(float(s.half_width[1]), 0.25)


def test_points_move_into_a_window_with_the_initial_time_at_its_start():
    pde = Heat(t=(0.0, 2.0))
    g = torch.Generator().manual_seed(0)
    from pinn import get_sampler

    initial = pde.domain.sample("initial", 20, get_sampler("lhs"), generator=g)
    interior = pde.domain.sample("interior", 500, get_sampler("lhs"), generator=g)
    moved = pde.domain.into_window(initial, 0.5, 1.0)
    assert (moved[:, 1] == 0.5).all() and torch.equal(moved[:, 0], initial[:, 0])
    inside = pde.domain.into_window(interior, 0.5, 1.0)[:, 1]
    assert inside.min() >= 0.5 and inside.max() <= 1.0 and inside.max() - inside.min() > 0.45


def test_later_windows_leave_the_initial_terms_out_and_causal_slabs_span_the_window():
    j = make_job("pde=heat", "marching=windows", "marching.width=0.5", "loss.causal_chunks=4", *SHORT)
    assert isinstance(j.model, Marched) and j.model.count == 2
    first, second = window_loss(j.loss, j.model, 0), window_loss(j.loss, j.model, 1)
    assert "initial" in first.weights and "initial" not in second.weights
    assert second.point_sets == ("interior", "boundary") and second._window == (0.5, 1.0)
    assert "initial" in j.loss.weights  # the run's own loss untouched


def test_refusals_name_the_fix():
    with pytest.raises(ValueError, match="steady"):
        make_job("pde=poisson", "marching=windows")
    with pytest.raises(ValueError, match="observations in a marched run yet; set derivatives=autograd"):
        make_job("pde=burgers", "marching=windows", "derivatives=fused", "data.samples=10")
    with pytest.raises(ValueError, match="ensemble"):
        make_job("pde=heat", "marching=windows", "ensemble.members=2", "derivatives=func",
                 "stages.quasi_newton.steps=0")
    with pytest.raises(ValueError, match="marching.width"):
        make_job("pde=heat", "marching=windows", "marching.width=-1")
    with pytest.raises(ValueError, match="trainer.compile_gradient=false"):
        make_job("pde=heat", "marching=windows", "trainer.compile_gradient=true")
    with pytest.raises(ValueError, match="marching.tolerance"):
        make_job("pde=heat", "marching=windows", "marching.adapt=true", "marching.tolerance=0")
    assert start_terms(Heat()) == ("initial",) and carried_terms(Heat()) == ()


def _final(run_dir):
    return load_checkpoint(run_dir / "checkpoint.pt")["model"]


def test_a_marched_run_resumed_mid_window_ends_bit_identical(tmp_path):
    overrides = ("pde=heat", "marching=windows", "marching.width=0.4", "resampler=rard", "resampler.every=10",
                 *SHORT)
    reference = train(make_job(*overrides), tmp_path / "ref", RunOptions(checkpoint_every=7, keep=100, plots=False))
    assert reference["adam_steps"] == 90 and reference["lbfgs_steps"] <= 36  # three windows
    book = CheckpointDir(tmp_path / "ref" / "checkpoints", keep=100)
    snaps = [load_checkpoint(book.file(s)) for s in book.steps()]
    windows = {s.get("window") for s in snaps}
    assert windows == {0, 1, 2}
    mid = [s for s in snaps if s["window"] == 1 and s["trainer"]["stage_step"] > 0]
    assert mid, "no checkpoint inside window 1"
    for snap in (mid[0], mid[-1], snaps[0]):
        run = tmp_path / f"again-{snap['window']}-{snap['trainer']['stage_step']}-{snap['trainer']['stage']}"
        again = train(make_job(*overrides), run, RunOptions(resume=snap, plots=False, checkpoint_every=7))
        assert again["rel_l2"] == reference["rel_l2"]
        assert again["final_loss"] == reference["final_loss"]
        ours, theirs = _final(run), _final(tmp_path / "ref")
        assert all(torch.equal(ours[k], theirs[k]) for k in theirs)


@pytest.mark.parametrize("engine", ["autograd", "func"])
@pytest.mark.parametrize("pde", ["heat", "burgers"])
def test_the_cached_start_state_gives_the_chained_windows_loss_and_gradients(pde, engine):
    """A window's loss with its start state computed once per point set (StartFields) is the loss
    through the earlier windows, to round-off in float64, gradients included; new points (also
    refilled in place) get new start values."""
    j = make_job(f"pde={pde}", "marching=windows", "marching.width=0.35", f"derivatives={engine}",
                 "precision=float64", "hard_constraints=true" if pde == "heat" else "hard_constraints=false", *SHORT)
    model = j.model
    k = model.count - 1
    for w in model.windows:  # distinct windows, so that a wrong start state shows
        with torch.no_grad():
            for p in w.parameters():
                p.add_(0.1 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel()),
                                         dtype=p.dtype))
    model.train_window(k, start=False)
    cached, chained = window_loss(j.loss, model, k), window_loss(j.loss, model, k, cache=False)
    g = torch.Generator().manual_seed(3)
    from pinn import get_sampler

    points = {w: j.pde.domain.into_window(j.pde.domain.sample(w, 50, get_sampler("lhs"), generator=g).double(),
                                          model.edges[k], model.edges[k + 1]) for w in cached.point_sets}
    for _refill in (False, True):
        values = []
        for loss in (cached, chained):
            model.zero_grad()
            total, parts = loss(model, points)
            total.backward()
            values.append((total.detach(), {n: v.detach() for n, v in parts.items()},
                           [p.grad.clone() for p in model.windows[k].parameters()]))
        (a, pa, ga), (b, pb, gb) = values
        assert torch.allclose(a, b, rtol=1e-10, atol=0)
        assert all(torch.allclose(pa[n], pb[n], rtol=1e-10, atol=1e-14) for n in pb)
        assert all(torch.allclose(x, y, rtol=1e-9, atol=1e-13) for x, y in zip(ga, gb))
        with torch.no_grad():  # new points in the same tensor (as RAR-D refills a static set)
            points["interior"].copy_(j.pde.domain.into_window(
                j.pde.domain.sample("interior", 50, get_sampler("lhs"), generator=g).double(),
                model.edges[k], model.edges[k + 1]))


def test_error_in_time_on_a_grid_and_at_nodes():
    """Each time's rel. L2 error, from the grid's time axis or the nodes' distinct times."""
    import numpy as np

    from pinn.evaluation.grid import GridEvaluation, NodeEvaluation

    x, t = np.linspace(0, 1, 5), np.array([0.0, 0.5, 1.0])
    ref = np.sin(np.pi * x)[:, None] * np.ones_like(t)  # [x, t]
    pred = ref * (1 + np.array([0.0, 0.1, 0.3]))  # 0, 10 % and 30 % off at the three times
    curve = GridEvaluation({"x": x, "t": t}, pred, ref, time_axis=1).error_in_time()
    assert curve["t"] == [0.0, 0.5, 1.0] and np.allclose(curve["rel_l2"], [0.0, 0.1, 0.3], rtol=1e-14, atol=0)
    nodes = NodeEvaluation({"x": np.tile(x, 3), "t": np.repeat(t, 5)}, pred.T.ravel(), ref.T.ravel(), time_axis=1)
    assert np.allclose(nodes.error_in_time()["rel_l2"], [0.0, 0.1, 0.3], rtol=1e-14, atol=0)
    assert GridEvaluation({"x": x}, ref[:, 0], ref[:, 0]).error_in_time() is None
    # a PDE scored at a table's nodes (the long-time problems) gets its curve too
    from pinn.evaluation.grid import evaluate_nodes
    from pinn.pdes import HeatLongTime

    pde = HeatLongTime(t=(0.0, 0.5))
    net = MLP(pde.domain.lower, pde.domain.upper, width=4, depth=1, generator=torch.Generator().manual_seed(0))
    curve = evaluate_nodes(net, pde).error_in_time()
    assert curve["t"] == pytest.approx([0.0, 0.2, 0.4])  # the table's snapshots inside [0, 0.5]
    assert all(math.isfinite(e) for e in curve["rel_l2"])


def test_a_marched_run_writes_its_error_in_time(tmp_path):
    metrics = train(make_job("pde=heat", "marching=windows", "marching.width=0.5", *SHORT[:-3], "plots=true",
                             "evaluation.resolution=[21,21]", "evaluation.residual_maps=false"),
                    tmp_path / "run", RunOptions(plots=True))
    rows = (tmp_path / "run" / "error_in_time.csv").read_text().splitlines()
    assert rows[0] == "t,rel_l2" and len(rows) == 22 and float(rows[1].split(",")[0]) == 0.0
    assert (tmp_path / "run" / "plots" / "error_in_time.png").stat().st_size > 1000
    assert (tmp_path / "run" / "plots" / "loss.png").exists()  # window 1's history drops the initial term
    from pinn.cli.plot import plot_run_dir
    from pinn.io.error_in_time import read_error_in_time

    curve = read_error_in_time(tmp_path / "run" / "error_in_time.csv")
    assert len(curve["t"]) == 21 and curve["rel_l2"][0] == float(rows[1].split(",")[1])
    (tmp_path / "run" / "plots" / "error_in_time.png").unlink()
    assert tmp_path / "run" / "plots" / "error_in_time.png" in plot_run_dir(tmp_path / "run")  # pinn-plot redraws it
    assert math.isfinite(metrics["rel_l2"])


@pytest.mark.slow
@pytest.mark.parametrize("pde", ["heat", "burgers"])
def test_a_marched_run_reaches_the_single_window_error(pde, tmp_path):
    """Two windows with half the steps each against one window (hard constraints in both): the
    marched error within 2x of the single window's (measured: heat 6.6e-5 against 1.3e-4, burgers
    6.0e-2 against 1.4e-1, in about the same time), and 5x below the untrained model's (burgers:
    0.61; at 200 + 200 steps a window its marched error was 0.144 here, too close to that bound)."""
    from pinn.evaluation.grid import evaluate

    base = (f"pde={pde}", "hard_constraints=true", "model.width=20", "model.depth=3", "points.interior=1000",
            "plots=false", "evaluation.residual_maps=false", "evaluation.resolution=[51,51]")
    untrained = make_job(*base, "marching=windows", "marching.width=0.5")
    untrained.model.whole()
    before = evaluate(untrained.model, untrained.pde, [51, 51]).metrics["rel_l2"]
    single = train(make_job(*base, "stages.adam.steps=600", "stages.quasi_newton.steps=600"), tmp_path / "one",
                   RunOptions(plots=False))
    marched = train(make_job(*base, "marching=windows", "marching.width=0.5", "stages.adam.steps=300",
                             "stages.quasi_newton.steps=300"), tmp_path / "two", RunOptions(plots=False))
    assert marched["adam_steps"] == 600
    assert marched["rel_l2"] <= 2 * single["rel_l2"], (marched["rel_l2"], single["rel_l2"])
    assert marched["rel_l2"] <= before / 5, (marched["rel_l2"], before)


@pytest.mark.parametrize("hard", [False, True])
def test_a_wave_window_carries_the_velocity_by_a_continuity_term(hard):
    """The wave's initial velocity term becomes ``u_t(v_k) - u_t(v_{k-1})`` at the window's start,
    checked against autograd on both windows in float64; its displacement is held exactly.  With
    ``hard_constraints=true`` too: the constraint holds the velocity at t = 0 only, so the later
    windows need the term (once they lost it, and a 4-window run of wave2d went 1e-2 -> 0.6 at
    the first edge), and its initial points are drawn though window 0 reads none."""
    j = make_job("pde=wave", "marching=windows", "marching.width=0.5", "precision=float64",
                 f"hard_constraints={str(hard).lower()}", *SHORT)
    assert "initial" in j.points and ("initial" in j.loss.point_sets) != hard
    model = j.model
    with torch.no_grad():  # window 1 unlike window 0
        for p in model.windows[1].parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel()), dtype=p.dtype))
    model.train_window(1, start=False)
    loss = window_loss(j.loss, model, 1)
    assert carried_terms(j.pde) == ("initial_velocity",) and "initial" not in loss.weights
    x = torch.linspace(0, 1, 17, dtype=torch.float64)[:, None]
    at = torch.cat([x, torch.full_like(x, 0.5)], 1)
    points = {"interior": at.clone(), "initial": at.clone(), "boundary": at[[0, -1]].clone()}
    _, parts = loss(model, points)

    def u_t(k):
        model.train_window(k, start=False)
        p = at.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(model(p).sum(), p)
        return g[:, 1]

    jump = u_t(1) - u_t(0)
    model.train_window(1, start=False)
    assert jump.abs().max() > 1e-2  # the windows' velocities differ: the term has something to see
    assert torch.allclose(parts["initial_velocity"], (jump**2).mean(), rtol=1e-10, atol=0)


def test_observations_are_kept_in_the_window_they_lie_in():
    j = make_job("pde=heat", "marching=windows", "marching.width=0.5", "data.samples=60", *SHORT)
    drawn = j.sample_points()
    first, second = (window_points(drawn, j.pde, j.model, k) for k in (0, 1))
    t = drawn["data"][:, 1]
    assert len(first["data"]) == int((t <= 0.5).sum()) and len(second["data"]) == int((t >= 0.5).sum())
    assert torch.equal(first["data_values"], drawn["data_values"][t <= 0.5])
    assert len(first["data"]) + len(second["data"]) >= 60
    loss = window_loss(j.loss, j.model, 1)
    empty = {**second, "data": second["data"][:0], "data_values": second["data_values"][:0]}
    assert fit_data(loss, second) is loss and "data" not in fit_data(loss, empty).weights


def test_marching_composes_with_every_built_in_pde_in_time(tmp_path):
    """Every shipped PDE with a time coordinate builds marched and gives a finite loss and gradient in
    its second window (a steady one is refused, above)."""
    from pinn.cli.config import CONF_DIR

    short = tuple(o for o in SHORT if not o.startswith("evaluation.resolution"))
    timed = []
    for path in sorted((CONF_DIR / "pde").glob("*.yaml")):
        extra = ["data.samples=40"] if path.stem == "heat_inverse" else []
        try:
            j = make_job(f"pde={path.stem}", "marching=windows", "marching.width=1e9", *short, *extra)
        except ValueError as e:
            assert "steady" in str(e), (path.stem, e)
            continue
        t0, t1 = j.pde.domain.lower[-1].item(), j.pde.domain.upper[-1].item()
        j = make_job(f"pde={path.stem}", "marching=windows", f"marching.width={(t1 - t0) / 2}", *short, *extra)
        model = j.model
        model.train_window(1, start=True)
        loss = window_loss(j.loss, model, 1)
        points = window_points(j.sample_points(sets=loss.point_sets), j.pde, model, 1)
        total, _ = fit_data(loss, points)(model, points)
        total.backward()
        assert torch.isfinite(total), path.stem
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.windows[1].parameters())
        timed.append(path.stem)
    assert {"heat", "burgers", "wave", "ks", "gray_scott", "heat2d_lt", "schrodinger"} <= set(timed), timed


def test_adapted_windows_shrink_when_the_loss_stays_high_and_grow_when_it_falls():
    model, _ = _marched(hard=False, windows=6)  # Heat on [0, 1.5]
    w = Windows(width=0.5, adapt=True, tolerance=1e-3, halvings=2)
    model.set_end(0, 0.5)
    assert model.used == 2 and model.edges[:3] == (0.0, 0.5, 1.5)  # the rest planned as they come
    assert w.after(model, 0, 1.0, shrink=False) == 1 and model.edges[1:3] == (0.5, 1.0)  # budget spent: on
    model.set_end(0, 0.5)
    assert w.after(model, 0, 1.0) == 0 and model.edges[1] == 0.25  # too high: again over half
    assert w.after(model, 0, 1.0) == 0 and model.edges[1] == 0.125
    assert w.after(model, 0, 1.0) == 1 and model.edges[1:3] == (0.125, 0.25)  # shortest: go on, same length
    assert w.after(model, 1, 1e-5) == 2 and model.edges[2:4] == (0.25, 0.5)  # easy: twice as long
    assert w.after(model, 2, 1e-5) == 3 and model.edges[3:5] == (0.5, 1.0)  # at most the width
    assert w.after(model, 3, 5e-4) == 4 and model.edges[4:6] == (1.0, 1.5)  # converged: same length
    assert model.used == 5 and model.edges[-2:] == (1.5, 1.5)
    # the plan is part of the state, exact whatever the model's precision
    state = {k: v.clone() for k, v in model.state_dict().items()}
    other, _ = _marched(hard=False, windows=6)
    other.float()
    other.load_state_dict(state)
    assert other.edges == model.edges and other.used == 5
    other.whole()
    p = _points(200, 0.0, 1.5).float()
    inside = p[:, 1] >= 1.0
    other.train_window(4, start=False)
    assert torch.equal(other(p[inside]), (other.whole(), other(p))[1][inside])


def test_an_adapted_run_retrains_windows_and_resumes_bit_identical(tmp_path):
    overrides = ("pde=heat", "marching=windows", "marching.width=0.5", "marching.adapt=true",
                 "marching.tolerance=1e-12", "marching.halvings=1", "marching.max_windows=4", *SHORT)
    reference = train(make_job(*overrides), tmp_path / "ref", RunOptions(checkpoint_every=10, keep=100, plots=False))
    assert reference["adam_steps"] == 5 * 30  # window 0 twice, then three windows of 0.25
    final = load_checkpoint(tmp_path / "ref" / "checkpoint.pt")["model"]
    assert final["_edge_bits"].view(torch.float64).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    book = CheckpointDir(tmp_path / "ref" / "checkpoints", keep=100)
    snaps = [load_checkpoint(book.file(s)) for s in book.steps()]
    before_shrink = [s for s in snaps if s["window"] == 0 and s["model"]["_edge_bits"].view(torch.float64)[1] == 0.5]
    later = [s for s in snaps if s["window"] == 2 and s["trainer"]["stage_step"] > 0]
    assert before_shrink and later
    for snap in (before_shrink[-1], later[0]):
        run = tmp_path / f"again-{snap['window']}-{snap['step']}"
        again = train(make_job(*overrides), run, RunOptions(resume=snap, plots=False, checkpoint_every=10))
        assert again["rel_l2"] == reference["rel_l2"] and again["adam_steps"] == reference["adam_steps"]
        ours = load_checkpoint(run / "checkpoint.pt")["model"]
        assert all(torch.equal(ours[k], final[k]) for k in final)


@pytest.mark.parametrize("option", [
    ("weighting=gradnorm", "weighting.every=5"), ("weighting=ntk", "weighting.every=10"),
    ("loss.causal_chunks=4",), ("loss.point_clip=3",), ("loss.gradient_weight=0.01",), ("model=modified",),
    ("model.fourier_features=4",), ("derivatives=func",), ("hard_constraints=true",), ("sampler=sobol",),
    ("stages=adam_ssbfgs", "stages.quasi_newton.steps=6"), ("stages.quasi_newton.float64=true",),
    ("resampler=rard", "resampler.every=10", "resampler.lbfgs_every=4"), ("precision=float64",),
], ids=lambda o: o[0])
def test_marching_composes_with_the_runs_options(option, tmp_path):
    """Each option trains a short 2-window heat run through both windows to a finite error below 1
    (a smoke test of the composition; the options' own correctness is tested where they live)."""
    m = train(make_job("pde=heat", "marching=windows", "marching.width=0.5", *SHORT, *option), tmp_path / "run",
              RunOptions(plots=False))
    assert math.isfinite(m["rel_l2"]) and m["rel_l2"] < 1.0 and m["adam_steps"] == 60, m
