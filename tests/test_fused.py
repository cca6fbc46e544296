"""The fused engine (``derivatives=fused``): its hand-written adjoint against autograd in float64,
Adam inside the compiled graph against ``torch.optim.Adam`` (and the parameters move), the
flags read only at log rows, point buffers refilled in place, roll-back, fallback and the
option's wiring.  Resume: ``tests/test_compiled_gradient.py`` (both compiled paths)."""

import logging
import shutil
from pathlib import Path

import pytest
import torch

from pinn import MLP, Burgers, Heat, Kovasznay, PINNLoss, Wave, get_engine, get_sampler
from pinn.diff import jets
from pinn.pdes import HeatBall, PoissonHoles
from pinn.training.resampling import RARD
from pinn.training.fused_step import FusedStep
from pinn.training.loop import Trainer
from pinn.training.stages import Adam
from pinn.training.loss_extras import GradientEnhanced

HAS_CXX = any(shutil.which(c) for c in ("g++", "c++", "clang++"))
BACKEND = "inductor" if HAS_CXX else "aot_eager"
PDES = [Burgers(), Heat(), Wave(), Heat(bc="neumann", modes=[0, 2], amplitudes=[0.5, 1.0]), Kovasznay(),
        PoissonHoles(), HeatBall()]


def _setup(pde, activation="tanh", seed=3, n=48, dtype=torch.float64, width=12, depth=3):
    g = torch.Generator().manual_seed(seed)
    model = MLP(pde.domain.lower, pde.domain.upper, width=width, depth=depth, activation=activation, generator=g,
                dtype=dtype, outputs=len(pde.fields))
    sets = PINNLoss(pde, get_engine("fused")).point_sets
    points = {w: pde.domain.sample(w, n, get_sampler("sobol"), generator=g).to(dtype) for w in sets}
    return model, points


@pytest.mark.parametrize("pde,activation", [(p, "tanh") for p in PDES] + [(PDES[0], "sin"), (PDES[3], "softplus")],
                         ids=lambda v: v if isinstance(v, str) else v.name)
def test_the_fused_gradient_is_the_autograd_engines_in_float64(pde, activation):
    """Loss, parts and every parameter's gradient: the jets, the vjp of the loss and the hand-written
    adjoint (run eagerly: the maths, not the compiler) against the autograd engine."""
    model, points = _setup(pde, activation)
    loss, parts = PINNLoss(pde, get_engine("autograd"))(model, points)
    grads = torch.autograd.grad(loss, list(model.parameters()))
    fused = FusedStep(PINNLoss(pde, get_engine("fused")), model, backend=None)
    f_loss, f_parts = fused.loss_and_grad(model, points)
    torch.testing.assert_close(f_loss, loss.detach(), rtol=1e-12, atol=1e-12)
    assert set(f_parts) == set(parts)
    for k in parts:
        torch.testing.assert_close(f_parts[k], parts[k].detach(), rtol=1e-12, atol=1e-12, msg=k)
    for p, g in zip(model.parameters(), grads):
        torch.testing.assert_close(p.grad, g, rtol=0, atol=1e-10)
        assert g.abs().max() > 1e-8


@pytest.mark.parametrize("activation", ["tanh", "sin", "softplus"])
def test_the_adjoint_with_mixed_derivatives_and_all_kinds_of_rows(activation):
    """Streams the built-in PDEs do not exercise: mixed second derivatives, a set of values only beside
    sets with derivatives, and every row carrying streams; against autograd of a random functional."""
    g = torch.Generator().manual_seed(1)
    model = MLP(torch.tensor([-1.0, 0.0, 2.0]), torch.tensor([1.0, 3.0, 5.0]), width=7, depth=3, activation=activation,
                generator=g, dtype=torch.float64, outputs=2)
    layers = model.trunk.layers
    weights, biases = [la.weight for la in layers], [la.bias for la in layers]
    for requests in ([(11, {(0, 1), (2,)}), (5, set()), (7, {(1, 1), (0, 2)})], [(9, {(0,), (1, 2), (2, 2)})],
                     [(6, set()), (4, set())]):
        plan = jets.make_plan(requests)
        x = torch.rand(plan.rows, 3, generator=g, dtype=torch.float64) * 2 + 1
        out, saved = jets.forward(weights, biases, model.trunk.activations, model.scaling.center, model.scaling.half_width, plan, x,
                                  tape=True)
        weight = torch.randn(out.shape, generator=g, dtype=torch.float64)
        expected = torch.autograd.grad((out * weight).sum(), weights + biases)
        mine = jets.adjoint([w.detach() for w in weights], model.scaling.center, model.scaling.half_width, plan, x, saved, weight)
        mine = mine[0::2] + mine[1::2]
        for a, b in zip(mine, expected):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
        # and the values are the Taylor engine's (derivatives by autograd of the network itself)
        fields = jets.split(out, plan, 2)
        start = 0
        for k, size in zip(plan.order, plan.sizes):
            xs = x[start:start + size].clone().requires_grad_(True)
            start += size
            u = model(xs)[:, 1]
            for index in requests[k][1] | {()}:
                d = u
                for j in index:
                    d = torch.autograd.grad(d.sum(), xs, create_graph=True)[0][:, j]
                torch.testing.assert_close(fields[k][index][:, 1], d, rtol=0, atol=1e-12)


def _state_tensors(opt, params):
    return [opt.state[p][k] for p in params for k in ("exp_avg", "exp_avg_sq")]


@pytest.mark.parametrize("backend", ["aot_eager", pytest.param("inductor", marks=pytest.mark.skipif(
    not HAS_CXX, reason="inductor needs a C++ compiler"))])
def test_fifty_fused_steps_match_torch_adam_and_move_every_parameter(backend):
    """The update inside the graph against ``torch.optim.Adam`` on the eager Taylor loss, in float64:
    losses, parameters and the optimizer's own state to 1e-6; and the trap of a step compiled with the
    update inside (the parameters silently stop moving) is caught: every tensor moves."""
    pde = Burgers()
    a, points = _setup(pde)
    b, _ = _setup(pde)
    start = [p.detach().clone() for p in b.parameters()]
    loss = PINNLoss(pde, get_engine("taylor"))
    opt_a = torch.optim.Adam(a.parameters(), lr=1e-3)
    eager = []
    for _ in range(50):
        opt_a.zero_grad(set_to_none=True)
        value, _ = loss(a, points)
        value.backward()
        opt_a.step()
        eager.append(float(value.detach()))
    fused = FusedStep(PINNLoss(pde, get_engine("fused")), b, backend=backend)
    opt_b = torch.optim.Adam(b.parameters(), lr=1e-3)
    lr, poison = torch.tensor(1e-3, dtype=torch.float64), torch.ones((), dtype=torch.float64)
    mine = []
    for _ in range(50):
        value, _, ok = fused.adam_step(opt_b, points, lr=lr, poison=poison)
        assert bool(ok)
        mine.append(float(value))
    assert fused.failed is None
    assert mine[-1] < 0.9 * mine[0]
    assert all((p.detach() - s).abs().max() > 1e-4 for p, s in zip(b.parameters(), start))
    torch.testing.assert_close(torch.tensor(mine), torch.tensor(eager), rtol=1e-6, atol=0)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)
    for s, t in zip(_state_tensors(opt_a, list(a.parameters())), _state_tensors(opt_b, list(b.parameters()))):
        torch.testing.assert_close(s, t, rtol=1e-6, atol=1e-12)
    assert float(opt_b.state[next(b.parameters())]["step"]) == 50
    # the state dict is torch.optim.Adam's: the eager optimizer continues from it
    opt_c = torch.optim.Adam(b.parameters(), lr=1e-3)
    opt_c.load_state_dict(opt_b.state_dict())


def test_adam_settings_are_data_to_the_graph():
    """Betas and eps reach the compiled graph as a tensor: a graph compiled first for the quasi-Newton
    gradient (default settings) then steps with other settings, as ``torch.optim.Adam`` does."""
    pde = Heat()
    a, points = _setup(pde)
    b, _ = _setup(pde)
    settings = dict(lr=1e-2, betas=(0.5, 0.9), eps=1e-4)
    opt_a = torch.optim.Adam(a.parameters(), **settings)
    loss = PINNLoss(pde, get_engine("taylor"))
    fused = FusedStep(PINNLoss(pde, get_engine("fused")), b, backend="aot_eager")
    fused.loss_and_grad(b, points)
    opt_b = torch.optim.Adam(b.parameters(), **settings)
    lr, poison = torch.tensor(1e-2, dtype=torch.float64), torch.ones((), dtype=torch.float64)
    for _ in range(5):
        opt_a.zero_grad(set_to_none=True)
        loss(a, points)[0].backward()
        opt_a.step()
        fused.adam_step(opt_b, points, lr=lr, poison=poison)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-10)


def test_a_non_finite_step_changes_nothing_and_says_so():
    pde = Heat()
    model, points = _setup(pde)
    fused = FusedStep(PINNLoss(pde, get_engine("fused")), model, backend="aot_eager")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lr = torch.tensor(1e-3, dtype=torch.float64)
    fused.adam_step(opt, points, lr=lr, poison=torch.ones((), dtype=torch.float64))
    before = [t.clone() for t in [*model.parameters(), *_state_tensors(opt, list(model.parameters()))]]
    _, _, ok = fused.adam_step(opt, points, lr=lr, poison=torch.tensor(float("nan"), dtype=torch.float64))
    assert not bool(ok)
    after = [*model.parameters(), *_state_tensors(opt, list(model.parameters()))]
    assert all(torch.equal(x, y) for x, y in zip(before, after))


class _SyncCounter:
    """Counts host reads of tensors (``bool``, ``float``, ``item``) while it is on."""

    def __init__(self, monkeypatch):
        self.count = 0
        for name in ("__bool__", "__float__", "item"):
            original = getattr(torch.Tensor, name)

            def counted(t, *args, _original=original):
                self.count += 1
                return _original(t, *args)

            monkeypatch.setattr(torch.Tensor, name, counted)


def test_flags_are_read_only_at_log_rows(monkeypatch):
    """No host synchronisation on the hot path (what CUDA graphs need): a stage of 60 steps with 2 log
    rows reads tensors as often as one of 20 steps with 2 log rows."""
    pde = Burgers()
    counts = []
    for steps in (20, 60):
        model, points = _setup(pde, dtype=torch.float32, n=32)
        fused = FusedStep(PINNLoss(pde, get_engine("fused")), model, backend="aot_eager")
        trainer = Trainer([Adam(steps=steps, log_every=steps // 2)])
        trainer.fit(model, fused, points)  # compiles
        with monkeypatch.context() as m:
            counter = _SyncCounter(m)
            result = trainer.fit(model, fused, points)
        assert len(result.history) == 2
        counts.append(counter.count)
    assert counts[0] == counts[1]


def test_a_non_finite_loss_rolls_back_as_the_eager_loop_does():
    """An injected NaN at step 7 (rows every 5): the eager loop rolls back at step 7, the fused one at
    the row of step 10; both return to step 5's state with half the learning rate, and end alike."""
    pde = Heat()
    finals = []
    for engine in ("taylor", "fused"):
        model, points = _setup(pde)
        loss = PINNLoss(pde, get_engine(engine))
        if engine == "fused":
            loss = FusedStep(loss, model, backend=None)
        result = Trainer([Adam(steps=20, log_every=5)], nan_at=[7]).fit(model, loss, points)
        assert result.failures == 1
        assert [r["step"] for r in result.history] == [5, 10, 15, 20]
        finals.append([p.detach().clone() for p in model.parameters()])
        assert result.history[-1]["lr"] == pytest.approx(0.5e-3)
    for p, q in zip(*finals):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-10)


def test_resampling_refills_the_point_buffers_in_place():
    """RAR-D's new points go into the same tensors (fixed addresses for CUDA graphs) and the job's own
    points are left alone."""
    pde = Burgers()
    model, points = _setup(pde, dtype=torch.float32, n=64)
    original = {k: v.clone() for k, v in points.items()}
    loss = PINNLoss(pde, get_engine("fused"))
    fused = FusedStep(loss, model, backend="aot_eager")
    rard = RARD(loss, get_sampler("uniform"), every=5, generator=torch.Generator().manual_seed(0))
    seen = []

    class Spy(Adam):
        def run(self, session):
            seen.append({k: (v.data_ptr(), v.clone()) for k, v in session.points.items()})
            out = super().run(session)
            seen.append({k: (v.data_ptr(), v.clone()) for k, v in session.points.items()})
            return out

    Trainer([Spy(steps=12, log_every=4)]).fit(model, fused, points, resampler=rard)
    (first, last) = seen
    assert {k: p for k, (p, _) in first.items()} == {k: p for k, (p, _) in last.items()}
    assert not torch.equal(first["interior"][1], last["interior"][1])
    assert all(torch.equal(points[k], original[k]) for k in points)


def test_a_step_it_cannot_compile_runs_eagerly_with_one_warning(caplog, monkeypatch):
    pde = Heat()
    model, points = _setup(pde)
    model2, _ = _setup(pde)
    split = jets.split

    def breaking(*args):
        torch._dynamo.graph_break()  # nothing eagerly; under fullgraph=True, an error
        return split(*args)

    monkeypatch.setattr(jets, "split", breaking)
    fused = FusedStep(PINNLoss(pde, get_engine("fused")), model, backend="aot_eager")
    with caplog.at_level(logging.WARNING, logger="pinn.training.fused_step"):
        first = Trainer([Adam(steps=6, log_every=3)]).fit(model, fused, points)
    assert fused.failed is not None
    assert sum("running it eagerly" in r.getMessage() for r in caplog.records) == 1
    eager = FusedStep(PINNLoss(pde, get_engine("fused")), model2, backend=None)
    second = Trainer([Adam(steps=6, log_every=3)]).fit(model2, eager, points)
    assert [r["loss"] for r in first.history] == [r["loss"] for r in second.history]


def test_what_the_fused_step_cannot_do_is_refused_with_the_fix():
    pde = Heat()
    model, _ = _setup(pde)
    with pytest.raises(ValueError, match="loss.gradient_weight.*derivatives=taylor"):
        FusedStep(PINNLoss(pde, get_engine("fused"), extras=[GradientEnhanced(1.0)]), model)
    with pytest.raises(ValueError, match="derivatives=fused"):
        FusedStep(PINNLoss(pde, get_engine("taylor")), model)
    from pinn.nets.per_field import PerFieldMLP

    get_engine("fused").check(PerFieldMLP(pde.domain.lower, pde.domain.upper, generator=torch.Generator(), width=8,
                                          depth=2))  # one network per field: taken

    class Own(torch.nn.Module):  # a network of the user's own layers: only the eager engines
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(2, 1)

        def forward(self, x):
            return self.layer(x)

    with pytest.raises(ValueError, match="got Own.*use derivatives=autograd"):
        get_engine("fused").check(Own())


def test_the_cli_trains_with_the_fused_engine(tmp_path, monkeypatch, capsys):
    import json
    import sys

    from pinn.cli import train as train_cli

    args = ["pde=heat", "derivatives=fused", "stages.adam.steps=30", "stages.quasi_newton.steps=6",
            "stages.quasi_newton.chunk=3", "points.interior=128", "model.width=8", "model.depth=2",
            "evaluation.resolution=[21,11]", "plots=false", "threads=1"]
    monkeypatch.setattr(sys, "argv", ["pinn-train", *args, f"hydra.run.dir={tmp_path / 'run'}"])
    train_cli.main()
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["adam_steps"] == 30 and metrics["lbfgs_steps"] > 0
    monkeypatch.setattr(sys, "argv", ["pinn-train", *args, "trainer.compile_gradient=true",
                                      f"hydra.run.dir={tmp_path / 'b'}"])
    with pytest.raises(SystemExit):
        train_cli.main()
    assert "compiles its training step already" in capsys.readouterr().err


@pytest.mark.parametrize("hard", [False, True], ids=["bare", "hard"])
def test_the_data_term_on_the_fused_step_is_the_autograd_engines(hard):
    """Observations of one field of two (PoissonInverse's u beside its coefficient a), the network
    bare or inside the hard constraint: loss, parts and gradients as autograd's, in float64; the
    data term moves the gradient (it is not dropped)."""
    from pinn import HardConstraint
    from pinn.pdes import PoissonInverse
    from pinn.training.loss_extras import DataMisfit

    pde = PoissonInverse()
    net, points = _setup(pde)
    model = HardConstraint(net, pde) if hard else net
    exact = pde.hard_terms if hard else ()
    g = torch.Generator().manual_seed(5)
    points["data"] = pde.domain.sample("interior", 30, get_sampler("sobol"), generator=g).to(torch.float64)
    points["data_values"] = torch.randn(30, generator=g, dtype=torch.float64)
    grads = {}
    for data in (True, False):
        extras = [DataMisfit("u")] if data else []
        loss, parts = PINNLoss(pde, get_engine("autograd"), exact=exact, extras=extras)(model, points)
        expected = torch.autograd.grad(loss, list(model.parameters()))
        fused = FusedStep(PINNLoss(pde, get_engine("fused"), exact=exact, extras=extras), model, backend=None)
        f_loss, f_parts = fused.loss_and_grad(model, points)
        torch.testing.assert_close(f_loss, loss.detach(), rtol=1e-12, atol=0)
        assert set(f_parts) == set(parts) and ("data" in parts) == data
        for k in parts:
            torch.testing.assert_close(f_parts[k], parts[k].detach(), rtol=1e-12, atol=0, msg=k)
        for p, e in zip(model.parameters(), expected):
            torch.testing.assert_close(p.grad, e, rtol=1e-10, atol=1e-12)
        grads[data] = [p.grad.clone() for p in model.parameters()]
    assert max(float((a - b).abs().max()) for a, b in zip(grads[True], grads[False])) > 1e-6


@pytest.mark.parametrize("backend", [None, "aot_eager"])
def test_learned_coefficients_on_the_fused_step_are_the_autograd_engines(backend):
    """Burgers' a and nu learned from data (as burgers_inverse): loss, parts (the coefficients logged
    beside the terms, as the eager loss logs them) and every gradient, the coefficients' included, against
    autograd in float64; then Adam steps in the graph move the coefficients as torch.optim.Adam does
    on the eager loss."""
    from pinn.physics.coefficients import make_learnable
    from pinn.training.loss_extras import DataMisfit

    truth = Burgers()
    net, points = _setup(truth)
    trained = Burgers()
    model = make_learnable(trained, net, ["a", "nu"], [0.5, 0.02])
    g = torch.Generator().manual_seed(5)
    points["data"] = truth.domain.sample("interior", 30, get_sampler("sobol"), generator=g).to(torch.float64)
    points["data_values"] = torch.randn(30, generator=g, dtype=torch.float64)
    extras = [DataMisfit()]
    eager = PINNLoss(trained, get_engine("autograd"), extras=extras)
    loss, parts = eager(model, points)
    expected = torch.autograd.grad(loss, list(model.parameters()))
    fused = FusedStep(PINNLoss(trained, get_engine("fused"), extras=extras), model, backend=backend)
    f_loss, f_parts = fused.loss_and_grad(model, points)
    torch.testing.assert_close(f_loss, loss.detach(), rtol=1e-12, atol=0)
    assert list(f_parts) == list(parts)
    for k in parts:
        torch.testing.assert_close(f_parts[k], parts[k].detach(), rtol=1e-12, atol=0, msg=k)
    for (name, p), e in zip(model.named_parameters(), expected):
        torch.testing.assert_close(p.grad, e, rtol=1e-10, atol=1e-12, msg=name)
    assert all(float(model.coefficients[n].grad.abs()) > 0 for n in ("a", "nu"))
    assert trained.nu is model.coefficients["nu"]  # the PDE reads the model's own parameter again
    # Adam in the graph against torch.optim.Adam on the eager loss
    twin_net, _ = _setup(Burgers())
    twin_pde = Burgers()
    twin = make_learnable(twin_pde, twin_net, ["a", "nu"], [0.5, 0.02])
    twin_loss = PINNLoss(twin_pde, get_engine("autograd"), extras=extras)
    opt_a, opt_b = torch.optim.Adam(twin.parameters(), lr=1e-2), torch.optim.Adam(model.parameters(), lr=1e-2)
    lr, one = torch.tensor(1e-2, dtype=torch.float64), torch.ones((), dtype=torch.float64)
    for _ in range(10):
        opt_a.zero_grad(set_to_none=True)
        value, eager_parts = twin_loss(twin, points)
        value.backward()
        opt_a.step()
        mine, mine_parts, ok = fused.adam_step(opt_b, points, lr=lr, poison=one)
        assert bool(ok)
        torch.testing.assert_close(mine, value.detach(), rtol=1e-9, atol=0)
        torch.testing.assert_close(mine_parts["nu"], eager_parts["nu"], rtol=1e-9, atol=0)
    assert fused.failed is None
    for n in ("a", "nu"):
        torch.testing.assert_close(model.coefficients[n], twin.coefficients[n], rtol=1e-8, atol=0)
        assert abs(float(model.coefficients[n].detach()) - {"a": 0.5, "nu": 0.02}[n]) > 1e-3  # it moved


def _grads_of(loss, model, points):
    value, parts = loss(model, points)
    return value.detach(), parts, torch.autograd.grad(value, list(model.parameters()))


@pytest.mark.parametrize("backend", [None, "aot_eager"])
def test_point_clipping_on_the_fused_step_is_the_eager_losss_in_both_modes(backend):
    """loss.point_clip: the clipped gradients of the Adam steps and, within exact_gradients (a line
    search's), the loss's own, against the autograd engine in float64, from one compiled graph (the
    factor is data to it: a graph compiled clipping would otherwise go on clipping)."""
    from pinn.training.loss_extras import PointClip

    pde = Burgers()
    model, points = _setup(pde)
    eager = PINNLoss(pde, get_engine("autograd"), extras=[PointClip(1.5)])
    mine = PINNLoss(pde, get_engine("fused"), extras=[PointClip(1.5)])
    fused = FusedStep(mine, model, backend=backend)
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    seen = {}
    for exact in (False, True, False):
        with eager.exact_gradients() if exact else _nothing(), mine.exact_gradients() if exact else _nothing():
            value, parts, expected = _grads_of(eager, model, points)
            f_value, f_parts = fused.loss_and_grad(model, points)
        torch.testing.assert_close(f_value, value, rtol=1e-12, atol=0)
        for p, e in zip(model.parameters(), expected):
            torch.testing.assert_close(p.grad, e, rtol=1e-10, atol=1e-13)
        seen[exact] = [p.grad.clone() for p in model.parameters()]
    assert fused.failed is None
    # clipping changes the gradient (the option is live), not the value
    assert max(float((a - b).abs().max()) for a, b in zip(seen[True], seen[False])) > 1e-3
    if backend is not None:
        assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == 1


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("adaptive", ["layer", "global"])
def test_slope_recovery_on_the_fused_step_is_the_eager_losss(adaptive):
    """loss.slope_recovery with LAAF and GAAF slopes: the term and every gradient (the slopes' take the
    term's pull) against the autograd engine in float64, compiled (aot_eager) and run eagerly."""
    from pinn.training.loss_extras import SlopeRecovery

    pde = Heat()
    g = torch.Generator().manual_seed(4)
    model = MLP(pde.domain.lower, pde.domain.upper, width=8, depth=3, generator=g, dtype=torch.float64,
                adaptive=adaptive)
    points = {w: pde.domain.sample(w, 40, get_sampler("sobol"), generator=g).to(torch.float64)
              for w in PINNLoss(pde, get_engine("fused")).point_sets}
    value, parts, expected = _grads_of(PINNLoss(pde, get_engine("autograd"), extras=[SlopeRecovery(0.3)]), model,
                                       points)
    _, _, without = _grads_of(PINNLoss(pde, get_engine("autograd")), model, points)
    names = [n for n, _ in model.named_parameters()]
    slope = [i for i, n in enumerate(names) if "slope" in n]
    assert slope and all(float((expected[i] - without[i]).abs().max()) > 1e-6 for i in slope)
    for backend in (None, "aot_eager"):
        fused = FusedStep(PINNLoss(pde, get_engine("fused"), extras=[SlopeRecovery(0.3)]), model, backend=backend)
        f_value, f_parts = fused.loss_and_grad(model, points)
        assert fused.failed is None
        torch.testing.assert_close(f_value, value, rtol=1e-12, atol=0)
        torch.testing.assert_close(f_parts["slope_recovery"], parts["slope_recovery"].detach(), rtol=1e-12, atol=0)
        for n, p, e in zip(names, model.parameters(), expected):
            torch.testing.assert_close(p.grad, e, rtol=1e-10, atol=1e-13, msg=n)


@pytest.mark.parametrize("backend", [None, "aot_eager"])
def test_a_loss_weighting_on_the_fused_step_follows_the_eager_run(backend):
    """GradNorm every 4 steps: its steps run eagerly (it reads each term's graph), the others in the
    fused graph with the new weights as data; history, weights and parameters as a run on the
    autograd engine's, in float64.  (A graph compiled with the weights as constants would go on with
    the first ones.)"""
    from pinn.training.stages import QuasiNewton
    from pinn.training.weighting import GradNorm

    pde = Heat(bc="neumann", modes=[0, 2], amplitudes=[0.5, 1.0])
    runs = {}
    for engine in ("autograd", "fused"):
        model, points = _setup(pde)
        loss = PINNLoss(pde, get_engine(engine))
        backend_ = FusedStep(loss, model, backend=backend) if engine == "fused" else loss
        graph_steps = []
        if engine == "fused":
            run = backend_._run
            backend_._run = lambda *a, run=run, seen=graph_steps: seen.append(1) or run(*a)
        trainer = Trainer([Adam(steps=12, log_every=2), QuasiNewton(steps=4, chunk=2)],
                          weighting=GradNorm(every=4, alpha=0.5))
        result = trainer.fit(model, backend_, points)
        runs[engine] = result, [p.detach().clone() for p in model.parameters()], dict(loss.weights), graph_steps
    (eager, eager_params, eager_weights, _), (fused, fused_params, fused_weights, graph_steps) = runs.values()
    assert eager_weights != {n: 1.0 for n in eager_weights}  # the weighting moved them
    assert fused_weights == pytest.approx(eager_weights, rel=1e-9)
    assert len(graph_steps) >= 9 + 4  # the Adam steps the weighting skipped, and the L-BFGS evaluations
    assert [r["step"] for r in fused.history] == [r["step"] for r in eager.history]
    for a, b in zip(eager.history, fused.history):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-9)
    for p, q in zip(eager_params, fused_params):
        torch.testing.assert_close(q, p, rtol=1e-8, atol=1e-10)


FOURTH_ORDER = {"ks"}  # beyond the fused engine's second derivatives: refused with the fix (above)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted({p.stem for p in (Path(__file__).parents[1] / "conf" / "pde").glob("*.yaml")}
                                        - FOURTH_ORDER))
def test_every_built_in_pde_traces_into_one_fused_graph(name):
    """Dynamo traces each built-in PDE's fused step whole (backend ``eager``: the trace, not the
    code generation).  A residual that reaches a numpy array at call time (a coefficient table)
    made the compiler fail and the step run eagerly, 4x slower, with only a warning."""
    from pinn.cli.build import build
    from pinn.cli.train import check_config

    job = build(check_config([f"pde={name}", "derivatives=fused", "plots=false"]))
    points = {w: job.pde.domain.sample(w, 32, job.sampler, generator=job.generator).float()
              for w in job.loss.point_sets}
    fused = FusedStep(job.loss, job.model, backend="eager")
    loss, _ = fused.loss_and_grad(job.model, points)
    assert fused.failed is None, fused.failed
    assert torch.isfinite(loss)
