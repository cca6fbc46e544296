"""The compiled loss-and-gradient (``trainer.compile_gradient``): the same numbers as the eager
autograd engine, training that moves the parameters (a compiled step that silently stops
updating is caught), the fallback, and the option's wiring."""

import io
import logging
import shutil

import pytest
import torch

from pinn import MLP, Burgers, Heat, Kovasznay, PINNLoss, Wave, get_engine, get_sampler
from pinn.training.compiling import CompiledGradient
from pinn.training.fused_step import FusedStep
from pinn.training.loop import Trainer, TrainState
from pinn.training.stages import Adam, QuasiNewton

PDES = [Burgers(), Heat(), Wave(), Heat(bc="neumann", modes=[0, 2], amplitudes=[0.5, 1.0]), Kovasznay()]
#: inductor generates C++ for the CPU: without a compiler it cannot, and the tests that need its
#: kernels trace with aot_eager instead (the same graph, no generated code).
HAS_CXX = any(shutil.which(c) for c in ("g++", "c++", "clang++"))
BACKEND = "inductor" if HAS_CXX else "aot_eager"


def _setup(pde, activation="tanh", seed=3, n=64):
    g = torch.Generator().manual_seed(seed)
    model = MLP(pde.domain.lower, pde.domain.upper, width=12, depth=3, activation=activation, generator=g,
                dtype=torch.float64, outputs=len(pde.fields))
    sampler = get_sampler("sobol")
    points = {w: pde.domain.sample(w, n, sampler, generator=g) for w in PINNLoss(pde, get_engine("taylor")).point_sets}
    return model, points


@pytest.mark.parametrize("pde,activation", [(p, "tanh") for p in PDES] + [(PDES[0], "sin"), (PDES[0], "softplus")],
                         ids=lambda v: v if isinstance(v, str) else v.name)
def test_the_compiled_gradient_is_the_autograd_engines_in_float64(pde, activation):
    model, points = _setup(pde, activation)
    eager = PINNLoss(pde, get_engine("autograd"))
    loss, parts = eager(model, points)
    grads = torch.autograd.grad(loss, list(model.parameters()))
    compiled = CompiledGradient(PINNLoss(pde, get_engine("taylor")), model, backend="aot_eager")
    c_loss, c_parts = compiled.loss_and_grad(model, points)
    assert compiled.failed is None
    torch.testing.assert_close(c_loss, loss.detach(), rtol=1e-12, atol=1e-12)
    assert set(c_parts) == set(parts)
    for k in parts:
        torch.testing.assert_close(c_parts[k], parts[k].detach(), rtol=1e-12, atol=1e-12, msg=k)
    for p, g in zip(model.parameters(), grads):
        torch.testing.assert_close(p.grad, g, rtol=0, atol=1e-10)
        assert g.abs().max() > 1e-8


def _adam(model, loss, points, steps, compiled=None):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        if compiled is None:
            value, _ = loss(model, points)
            value.backward()
        else:
            value, _ = compiled.loss_and_grad(model, points)
        opt.step()
        losses.append(float(value.detach()))
    return losses


@pytest.mark.parametrize("backend", ["aot_eager", pytest.param("inductor", marks=pytest.mark.skipif(
    not HAS_CXX, reason="inductor needs a C++ compiler"))])
def test_fifty_compiled_steps_match_the_eager_steps_and_move_the_parameters(backend):
    pde = Burgers()
    a, points = _setup(pde)
    b, _ = _setup(pde)
    start = [p.detach().clone() for p in b.parameters()]
    eager = _adam(a, PINNLoss(pde, get_engine("autograd")), points, 50)
    compiled = CompiledGradient(PINNLoss(pde, get_engine("taylor")), b, backend=backend)
    fused = _adam(b, None, points, 50, compiled)
    assert compiled.failed is None
    # the trap of compiling a whole step naively: the loss stays at its first value and nothing moves
    assert fused[-1] < 0.9 * fused[0]
    assert all((p.detach() - s).abs().max() > 1e-4 for p, s in zip(b.parameters(), start))
    torch.testing.assert_close(torch.tensor(fused), torch.tensor(eager), rtol=1e-6, atol=0)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)


def test_a_loss_it_cannot_compile_runs_eagerly_with_one_warning(caplog):
    pde = Heat()
    model, points = _setup(pde)
    # the autograd engine calls torch.autograd.grad inside the loss: torch.func.grad cannot trace it
    compiled = CompiledGradient(PINNLoss(pde, get_engine("autograd")), model, backend="aot_eager")
    with caplog.at_level(logging.WARNING, logger="pinn.training.compiling"):
        losses = _adam(model, None, points, 5, compiled)
    assert compiled.failed is not None
    assert sum("running them eagerly" in r.getMessage() for r in caplog.records) == 1
    assert losses[-1] < losses[0]
    model2, _ = _setup(pde)
    assert _adam(model2, PINNLoss(pde, get_engine("autograd")), points, 5) == losses


def _resume_problem(kind):
    pde = Heat()
    g = torch.Generator().manual_seed(0)
    net = MLP(pde.domain.lower, pde.domain.upper, width=8, depth=2, generator=g)
    pts = {w: pde.domain.sample(w, 64, get_sampler("lhs"), generator=g).float() for w in pde.domain.point_sets}
    if kind == "fused":  # derivatives=fused: Adam's update inside the graph too
        return net, FusedStep(PINNLoss(pde, get_engine("fused")), net, backend=BACKEND), pts
    if kind == "fused-vjp":  # the fused step's other path: vjp through the jets of a modified, Fourier,
        # adaptive network inside a hard constraint, with a learned coefficient
        from pinn import HardConstraint
        from pinn.physics.coefficients import make_learnable

        net = MLP(pde.domain.lower, pde.domain.upper, width=8, depth=2, generator=torch.Generator().manual_seed(0),
                  modified=True, fourier_features=2, adaptive="layer")
        model = make_learnable(pde, HardConstraint(net, pde), ["alpha"], [0.3])
        loss = FusedStep(PINNLoss(pde, get_engine("fused"), exact=pde.hard_terms), model, backend=BACKEND)
        assert not loss.adjoint
        return model, loss, pts
    return net, CompiledGradient(PINNLoss(pde, get_engine("taylor")), net, backend=BACKEND), pts


def _roundtrip(snapshot):
    buf = io.BytesIO()
    torch.save(snapshot, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


@pytest.mark.parametrize("kind", ["compile_gradient", "fused", "fused-vjp"])
@pytest.mark.parametrize("float64", [False, True], ids=["float32", "lbfgs-float64"])
def test_resume_of_a_compiled_run_is_bit_identical(float64, kind):
    """Adam and L-BFGS both take their gradients from the compiled graph (with ``fused``, Adam's
    update is in it too); a run resumed from a checkpoint (mid-Adam, at the switch, mid-L-BFGS)
    ends bit-identical to the uninterrupted one: the CPU kernels inductor generates are
    deterministic."""
    def trainer():
        return Trainer([Adam(steps=10, log_every=4), QuasiNewton(steps=9, chunk=3, float64=float64)])

    net, loss, pts = _resume_problem(kind)
    snaps = []
    done = trainer().fit(net, loss, pts, checkpoint=lambda s: snaps.append(_roundtrip(s)), checkpoint_every=1)
    assert loss.failed is None
    params = [p.detach().clone() for p in net.parameters()]
    chosen = [s for s in snaps if (s["trainer"]["adam_steps"], s["trainer"]["lbfgs_steps"]) in {(5, 0), (10, 0), (10, 3)}]
    assert len(chosen) == 3
    for snap in chosen:
        net2, loss2, _ = _resume_problem(kind)
        if snap["trainer"]["float64"]:
            net2.double()
        net2.load_state_dict(snap["model"])
        again = trainer().fit(net2, loss2, pts, state=TrainState.from_dict(snap["trainer"]))
        assert loss2.failed is None
        assert again.final_loss == done.final_loss
        assert all(torch.equal(a, b) for a, b in zip(params, net2.parameters()))
        assert [r["loss"] for r in again.history] == [r["loss"] for r in done.history]


def test_the_cli_option_trains_through_the_compiled_gradient(tmp_path, monkeypatch, capsys):
    import sys

    from pinn.cli import train as train_cli

    args = ["pde=heat", "derivatives=taylor", "trainer.compile_gradient=true", "stages.adam.steps=30",
            "stages.quasi_newton.steps=6", "stages.quasi_newton.chunk=3", "points.interior=128", "model.width=8",
            "model.depth=2", "evaluation.resolution=[21,11]", "plots=false", "threads=1"]
    monkeypatch.setattr(sys, "argv", ["pinn-train", *args, f"hydra.run.dir={tmp_path / 'run'}"])
    train_cli.main()
    assert (tmp_path / "run" / "metrics.json").exists()
    monkeypatch.setattr(sys, "argv", ["pinn-train", *args, "trainer.compile=true", f"hydra.run.dir={tmp_path / 'b'}"])
    with pytest.raises(SystemExit):
        train_cli.main()
    assert "exclude each other" in capsys.readouterr().err
