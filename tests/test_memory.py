"""Up-front memory estimates (issue 17, case 13): what cannot fit is refused before training,
with the limit named; the estimate follows the sizes it is made of."""

import sys

import pytest
import torch

from pinn.cli import evaluate as eval_cli
from pinn.cli import train as train_cli
from pinn.cli.build import build
from pinn.training import memory

TINY = ["stages.adam.steps=4", "stages.quasi_newton.steps=2", "stages.quasi_newton.chunk=2", "points.interior=64",
        "points.initial=16", "points.boundary=16", "model.width=8", "model.depth=2", "evaluation.resolution=[21,11]",
        "plots=false", "threads=1"]


def _job(*overrides):
    return build(train_cli.check_config([*TINY, *overrides]))


def test_the_step_estimate_follows_points_streams_width_and_optimizer():
    base = _job("pde=burgers")
    step = memory.step_bytes(base.model, base.loss, base.points)
    more = memory.step_bytes(base.model, base.loss, {**base.points, "interior": 640})
    activations = memory.ACTIVATION_FACTOR * 64 * 4 * (8 * 2 + 1) * 4  # u, u_t, u_x, u_xx on 17 units, float32
    assert more - step == pytest.approx(9 * activations, abs=1)
    # a 2-coordinate heat residual reads u_t and u_xx: three streams on the interior, one elsewhere
    heat = _job("pde=heat")
    assert memory._streams(heat.loss.pde, heat.loss.terms, "interior") == 3
    assert memory._streams(heat.loss.pde, heat.loss.terms, "initial") == 1
    dense = _job("pde=heat", "stages=adam_ssbfgs")
    n = sum(p.numel() for p in dense.model.parameters())
    assert memory.step_bytes(dense.model, dense.loss, dense.points, dense.trainer.stages) >= 2 * n * n * 8
    assert memory.step_bytes(base.model, base.loss, base.points, members=8) == pytest.approx(8 * step, abs=8)


def test_the_estimate_is_on_the_low_side_of_a_measured_step():
    """The autograd step's activations, counted by the saved-tensor hooks, are at least the estimate."""
    job = _job("pde=burgers", "model.width=32", "model.depth=3", "points.interior=2000")
    points = job.sample_points()
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t.numel() * t.element_size()) or t,
                                                  lambda t: t):
        loss, _ = job.loss(job.model, points)
    loss.backward()
    estimate = memory.step_bytes(job.model, job.loss, job.points) - 3 * sum(p.numel() * 4 for p in job.model.parameters())
    assert estimate <= sum(saved) <= 4 * estimate


def test_a_run_that_cannot_fit_is_refused_before_training(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(memory, "available_memory", lambda device="cpu": 4 * 2**20)
    monkeypatch.setattr(sys, "argv", ["pinn-train", "pde=heat", *TINY, "points.interior=100000",
                                      f"hydra.run.dir={tmp_path / 'run'}"])
    with pytest.raises(SystemExit) as info:
        train_cli.main()
    err = capsys.readouterr().err.strip()
    assert info.value.code == 2 and len(err.splitlines()) == 1, err
    assert "one training step needs about" in err and "4 MB free on cpu" in err and "points.interior=100000" in err
    assert not (tmp_path / "run" / "checkpoints").exists()
    # the evaluation grid alone: refused in pinn-train and in pinn-eval, naming the setting
    with pytest.raises(ValueError, match="evaluating on the 4000x4000 grid needs about .* evaluation.resolution"):
        memory.check_fits(_job("pde=heat", "evaluation.resolution=[4000,4000]"), available=64 * 2**20)


def test_pinn_eval_refuses_a_grid_that_cannot_fit(monkeypatch, capsys, tmp_path):
    run = tmp_path / "run"
    monkeypatch.setattr(sys, "argv", ["pinn-train", "pde=heat", *TINY, f"hydra.run.dir={run}"])
    train_cli.main()
    capsys.readouterr()
    monkeypatch.setattr(memory, "available_memory", lambda device="cpu": 64 * 2**20)
    with pytest.raises(SystemExit) as info:
        eval_cli.main([str(run), "--resolution", "5000", "5000"])
    err = capsys.readouterr().err.strip()
    assert info.value.code == 2 and len(err.splitlines()) == 1, err
    assert "5000x5000 grid needs about" in err and "--resolution" in err and "64 MB free" in err
    assert not (run / "eval").exists()


def test_the_free_memory_is_read():
    free = memory.available_memory("cpu")
    assert free is None or free > 0
    assert memory.available_memory("meta") is None
