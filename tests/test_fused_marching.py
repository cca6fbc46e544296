"""Time marching on the fused step (pinn.training.fused_window): a later window's increment, start
state and continuity terms against the autograd engine in float64; one compiled graph for every
window after the first; a marched run as the autograd engine's, and resumed mid-window bit for bit."""

import functools

import pytest
import torch

from pinn import MLP, RunOptions, Heat, PINNLoss, Wave, get_engine, get_sampler, train
from pinn.cli import job as make_job
from pinn.io.files import load_checkpoint
from pinn.physics.constraints import HardConstraint
from pinn.training import marching
from pinn.training import run as run_module
from pinn.training.fused_step import FusedStep

SHORT = ("stages.adam.steps=20", "stages.quasi_newton.steps=0", "model.width=8", "model.depth=2",
         "points.interior=120", "points.initial=24", "points.boundary=24", "plots=false",
         "evaluation.resolution=[21,21]", "precision=float64")


@pytest.mark.parametrize("pde,hard", [(Heat(), False), (Heat(), True), (Wave(), True)],
                         ids=["heat", "heat-hard", "wave-hard"])
def test_every_window_on_the_fused_step_is_the_autograd_engines(pde, hard):
    """Windows 0, 1 and 2 (each network moved off its predecessor's weights, so the increment and the
    start state both show): loss, parts and the window's gradients against the autograd engine; the
    wave's later windows carry the velocity by a continuity term."""
    g = torch.Generator().manual_seed(0)
    net = MLP(pde.domain.lower, pde.domain.upper, width=8, depth=2, generator=g, dtype=torch.float64)
    marched = marching.Windows(width=0.4).model(HardConstraint(net, pde) if hard else net, pde)
    exact = pde.hard_terms if hard else ()
    for k in (0, 1, 2):
        marched.train_window(k, start=True)
        with torch.no_grad():
            for p in marched.windows[k].parameters():
                p.add_(0.05 * torch.randn(p.shape, generator=g, dtype=p.dtype))
        eager = marching.window_loss(PINNLoss(pde, get_engine("autograd"), exact=exact), marched, k)
        points = {s: pde.domain.sample(s, 40, get_sampler("sobol"), generator=g).double() for s in eager.point_sets}
        points = marching.window_points(points, pde, marched, k)
        value, parts = eager(marched, points)
        params = [p for p in marched.parameters() if p.requires_grad]
        expected = torch.autograd.grad(value, params)
        fused = FusedStep(marching.window_loss(PINNLoss(pde, get_engine("fused"), exact=exact), marched, k),
                          marched, backend=None)
        f_value, f_parts = fused.loss_and_grad(marched, points)
        torch.testing.assert_close(f_value, value.detach(), rtol=1e-12, atol=0)
        assert set(f_parts) == set(parts)
        if k and pde.name == "wave":
            assert "initial_velocity" in parts  # the continuity term
        for n in parts:
            torch.testing.assert_close(f_parts[n], parts[n].detach(), rtol=1e-10, atol=1e-14, msg=n)
        zero = [i for i, e in enumerate(expected) if not e.abs().max() > 0]
        assert zero == ([len(params) - 1] if k and not hard else [])  # c(x, t) - c(x, a) cancels a bare bias
        for p, e in zip(params, expected):
            torch.testing.assert_close(p.grad, e, rtol=1e-10, atol=1e-12)


def _aot_eager(monkeypatch):
    monkeypatch.setattr(run_module, "FusedStep", functools.partial(FusedStep, backend="aot_eager"))


def test_a_marched_run_compiles_twice_and_follows_the_autograd_run(tmp_path, monkeypatch):
    """Four windows of Adam in float64: the history as the autograd engine's; one fused step for
    window 0 and one for the three after it (moved on from window to window), two graphs in all."""
    _aot_eager(monkeypatch)
    moves = []
    retarget = FusedStep.retarget
    monkeypatch.setattr(FusedStep, "retarget", lambda self, *a: moves.append(1) or retarget(self, *a))
    overrides = ("pde=heat", "marching=windows", "marching.width=0.25", "hard_constraints=true", *SHORT)
    runs = {}
    for engine in ("autograd", "fused"):
        torch._dynamo.reset()
        torch._dynamo.utils.counters.clear()
        runs[engine] = train(make_job(*overrides, f"derivatives={engine}"), tmp_path / engine,
                             RunOptions(plots=False))
        graphs = torch._dynamo.utils.counters["stats"]["unique_graphs"]
    assert graphs == 2 and len(moves) == 2  # windows 2 and 3 moved onto window 1's step
    assert runs["fused"]["adam_steps"] == 80
    assert runs["fused"]["rel_l2"] == pytest.approx(runs["autograd"]["rel_l2"], rel=1e-8)
    assert runs["fused"]["final_loss"] == pytest.approx(runs["autograd"]["final_loss"], rel=1e-8)


def test_a_fused_marched_run_resumed_mid_window_ends_bit_identical(tmp_path, monkeypatch):
    _aot_eager(monkeypatch)
    overrides = ("pde=heat", "marching=windows", "marching.width=0.4", "derivatives=fused", "resampler=rard",
                 "resampler.every=10", "stages.quasi_newton.steps=8", "stages.quasi_newton.chunk=4", *SHORT)
    reference = train(make_job(*overrides), tmp_path / "ref", RunOptions(checkpoint_every=7, keep=100, plots=False))
    from pinn.io.checkpoints import CheckpointDir

    book = CheckpointDir(tmp_path / "ref" / "checkpoints", keep=100)
    snaps = [load_checkpoint(book.file(s)) for s in book.steps()]
    mid = [s for s in snaps if s["window"] == 1 and s["trainer"]["stage_step"] > 0]
    assert mid, "no checkpoint inside window 1"
    run = tmp_path / "again"
    again = train(make_job(*overrides), run, RunOptions(resume=mid[-1], plots=False, checkpoint_every=7))
    assert again["rel_l2"] == reference["rel_l2"] and again["final_loss"] == reference["final_loss"]
    ours, theirs = load_checkpoint(run / "checkpoint.pt")["model"], load_checkpoint(tmp_path / "ref" /
                                                                                   "checkpoint.pt")["model"]
    assert all(torch.equal(ours[k], theirs[k]) for k in theirs)
