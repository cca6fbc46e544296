"""``derivatives=auto`` (the default): the fused step where it trains the run and pays back its
compile, the autograd engine otherwise, with the reason in the log."""

import logging

import pytest

from pinn.cli import job as make_job
from pinn.diff.autograd import AutogradEngine
from pinn.diff.fused import FusedEngine
from pinn.training.engine_choice import AutoEngine, run_work
from pinn.training.stages import Adam, GaussNewton, QuasiNewton

SMALL = ("model.width=8", "model.depth=2", "points.interior=100", "points.initial=20", "points.boundary=20",
         "stages.adam.steps=10", "stages.quasi_newton.steps=10")


def _chosen(caplog, *overrides):
    with caplog.at_level(logging.INFO, logger="pinn"):
        job = make_job(*SMALL, *overrides)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("derivatives=auto chose")]
    assert len(lines) == 1, lines
    return job, lines[0]


def test_the_default_is_auto_and_a_short_run_stays_on_autograd(caplog):
    job, line = _chosen(caplog)
    assert type(job.loss.engine) is AutogradEngine and job.loss.engine.name == "autograd"
    assert "too short to pay back" in line and "derivatives.payback 1e+11" in line


def test_a_run_long_enough_takes_the_fused_step(caplog):
    job, line = _chosen(caplog, "derivatives.payback=1e5")
    assert isinstance(job.loss.engine, FusedEngine) and line.startswith("derivatives=auto chose fused")
    # the work counted: (10 Adam + 1.25 x 10 quasi-Newton) evaluations x 140 points x the parameters
    parameters = sum(p.numel() for p in job.model.parameters())
    assert f"work {22.5 * 140 * parameters:.2g}" in line


@pytest.mark.parametrize("overrides, why", [
    (("pde=heat", "marching=windows", "marching.width=0.5", "data.samples=20"), "observations in a marched run"),
    (("trainer.compile_gradient=true",), "does not take trainer.compile"),
    (("loss.gradient_weight=0.1",), "does not support"),
])
def test_what_the_fused_step_does_not_train_stays_on_autograd_and_says_why(caplog, overrides, why):
    job, line = _chosen(caplog, "derivatives.payback=0", *overrides)
    assert type(job.loss.engine) is AutogradEngine and why in line, line


@pytest.mark.parametrize("overrides", [("model=per_field",), ("loss.point_clip=3",),
                                       ("model.adaptive=layer", "loss.slope_recovery=0.1"), ("weighting=gradnorm",),
                                       ("pde=heat", "marching=windows", "marching.width=0.5")])
def test_per_field_networks_clipping_slope_recovery_weightings_and_marching_take_the_fused_step(caplog, overrides):
    job, line = _chosen(caplog, "derivatives.payback=1e5", *overrides)
    assert isinstance(job.loss.engine, FusedEngine) and line.startswith("derivatives=auto chose fused"), line


def test_a_hard_constraint_takes_the_fused_step(caplog):
    job, line = _chosen(caplog, "derivatives.payback=1e5", "hard_constraints=true")
    assert isinstance(job.loss.engine, FusedEngine) and line.startswith("derivatives=auto chose fused"), line
    parameters = sum(p.numel() for p in job.model.parameters())
    assert job.points == {"interior": 100}  # the only set left: (10 + 1.25 x 10) evaluations x 100 points
    assert f"work {22.5 * 100 * parameters:.2g}" in line


def test_the_work_counts_each_stages_evaluations():
    stages = [Adam(steps=100), QuasiNewton(steps=40), GaussNewton(steps=7)]
    assert run_work(stages, 10, 3) == (100 + 1.25 * 40) * 10 * 3


@pytest.mark.parametrize("bad", [-1.0, "many", True])
def test_a_bad_payback_is_refused(bad):
    with pytest.raises(ValueError, match="derivatives.payback must be a number >= 0"):
        AutoEngine(payback=bad)


def test_the_command_line_keeps_compiled_kernels_in_the_user_cache(monkeypatch, tmp_path):
    from pinn.cli.compile_cache import use_compile_cache

    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    monkeypatch.delenv("TRITON_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert use_compile_cache() == tmp_path / "pinn" / "inductor"
    import os

    assert os.environ["TRITON_CACHE_DIR"] == str(tmp_path / "pinn" / "inductor" / "triton")
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "mine"))  # the user's own choice stays
    assert use_compile_cache() == tmp_path / "mine"
