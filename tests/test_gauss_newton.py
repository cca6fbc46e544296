"""The Gauss-Newton stage (issue 30): Levenberg-Marquardt from per-sample gradients.

The residual vector's squared norm is the PINN loss and ``2 J^T r`` is its autograd gradient, in
float64 to round-off, on PDEs with hard constraints, systems, weights, observations and learned
coefficient fields; the step solves linear least squares exactly; a short run trains; a run
killed inside the stage and resumed is bit-identical to one left alone."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from pinn.cli.build import build, run_training
from pinn.cli.train import check_config
from pinn.training.gauss_newton import LevenbergMarquardt, residual_jacobian, residual_vector

SMALL = ["precision=float64", "points.interior=200", "points.boundary=60", "points.initial=60", "model.width=12",
         "model.depth=2"]


@pytest.mark.parametrize("overrides", [
    ["experiment=heat"],                                                         # hard constraints
    ["pde=poisson2d_c", "+loss.weights.outer=3.0"],                              # per-part terms, a weight
    ["pde=kovasznay"],                                                           # a system of three fields
    ["experiment=hinv"],                                                         # observations, a learned field
], ids=["heat-hard", "plate-weighted", "kovasznay", "hinv-data-coefficient"])
def test_the_residual_vector_is_the_loss_and_its_jacobian_gives_the_gradient(overrides):
    job = build(check_config([*overrides, *SMALL]))
    model, loss = job.model, job.loss
    points = job.sample_points()
    r = residual_vector(loss, model, points)
    total, _ = loss(model, points)
    torch.testing.assert_close(r @ r, total, rtol=1e-13, atol=0)
    params = [p for p in model.parameters() if p.requires_grad]
    grad = torch.cat([g.reshape(-1) for g in torch.autograd.grad(total, params)])
    jac = residual_jacobian(loss, model, points, chunk_size=64)
    assert jac.shape == (r.numel(), grad.numel())
    torch.testing.assert_close(2 * jac.T @ r.detach(), grad, rtol=1e-10, atol=1e-12 * float(grad.abs().max()))


def test_a_step_with_little_damping_solves_linear_least_squares():
    """r(theta) = A theta - b is linear: one Gauss-Newton step lands on the minimiser."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(40, 6, generator=g, dtype=torch.float64)
    b = torch.randn(40, generator=g, dtype=torch.float64)
    theta = torch.zeros(6, dtype=torch.float64)
    opt = LevenbergMarquardt(damping=1e-12, min_damping=1e-15)
    r = a @ theta - b
    accepted, new = opt.step(r, a, float(r @ r), [theta], lambda: float(((a @ theta - b) ** 2).sum()))
    best = torch.linalg.lstsq(a, b[:, None]).solution[:, 0]
    assert accepted and opt.n_iter == 1
    torch.testing.assert_close(theta, best, rtol=1e-8, atol=1e-10)
    assert new == pytest.approx(float(((a @ best - b) ** 2).sum()), rel=1e-12)
    # with fewer residuals than parameters the dual solve gives the same step
    wide, theta2 = a[:4], torch.zeros(6, dtype=torch.float64)
    r2 = wide @ theta2 - b[:4]
    LevenbergMarquardt(damping=1e-12, min_damping=1e-15).step(r2, wide, float(r2 @ r2), [theta2],
                                                               lambda: float(((wide @ theta2 - b[:4]) ** 2).sum()))
    torch.testing.assert_close(wide @ theta2, b[:4], rtol=0, atol=1e-8)


def test_a_rejected_trial_puts_the_parameters_back_exactly_and_damps_more():
    theta = torch.tensor([0.3, -1.7], dtype=torch.float64)
    before = theta.clone()
    opt = LevenbergMarquardt()
    r = torch.tensor([1.0, 2.0], dtype=torch.float64)
    jac = torch.eye(2, dtype=torch.float64)
    accepted, value = opt.step(r, jac, 5.0, [theta], lambda: 10.0, tries=3)  # the loss never falls
    assert not accepted and value == 5.0 and opt.rejected == 3
    assert torch.equal(theta, before)
    assert opt.lam == pytest.approx(1e-3 * 1 * 2 * 4 * 8)  # nu doubles at each rejection


@pytest.mark.parametrize("extra, message", [
    (["loss.causal_chunks=4"], "causal weighting"),
    (["loss.gradient_weight=0.1"], "gPINN"),
])
def test_losses_that_are_not_sums_of_squares_are_refused(tmp_path, extra, message):
    cfg = check_config(["pde=heat", "stages=adam_lm", "stages.adam.steps=2", "stages.quasi_newton.steps=0",
                        "stages.gauss_newton.steps=2", *SMALL[1:], "plots=false", *extra])
    with pytest.raises(ValueError, match=f"the Gauss-Newton stage fits a sum of squared residuals, and {message}"):
        run_training(cfg, tmp_path / "run")


SHORT = ["pde=poisson", "pde.ky=1", "stages=adam_lm", "stages.adam.steps=150", "stages.quasi_newton.steps=0",
         "points.interior=300", "points.boundary=80", "model.width=16", "model.depth=2",
         "evaluation.resolution=[31,31]", "plots=false", "threads=1"]


@pytest.mark.slow
def test_a_few_gauss_newton_steps_cut_the_error_of_a_short_adam_run(tmp_path):
    """Adam alone ends near 0.2 here; 15 Levenberg-Marquardt iterations after it take the error
    more than 5x lower (it reaches about 1e-3)."""
    adam = run_training(check_config([*SHORT, "stages.gauss_newton.steps=0"]), tmp_path / "adam")
    lm = run_training(check_config([*SHORT, "stages.gauss_newton.steps=15"]), tmp_path / "lm")
    assert lm["rel_l2"] < adam["rel_l2"] / 5, (lm["rel_l2"], adam["rel_l2"])
    assert lm["steps"]["gn"] == 15
    history = (tmp_path / "lm" / "history.csv").read_text().splitlines()
    assert sum(",lm," in line for line in history) == 2  # a row every 10 iterations, and the last


# --- killed inside the stage, resumed: bit-identical --------------------------------------------

ARGS = ["pde=heat", "stages=adam_lm", "stages.adam.steps=20", "stages.adam.log_every=5", "stages.quasi_newton.steps=0",
        "stages.gauss_newton.steps=12", "stages.gauss_newton.log_every=2", "points.interior=128",
        "points.initial=32", "points.boundary=32", "model.width=12", "model.depth=2", "evaluation.resolution=[21,11]",
        "checkpoint.every=2", "checkpoint.keep=2", "plots=false", "threads=1"]


def _script(name):
    return str(Path(sys.executable).parent / name)


def _newest_step(run_dir):
    ckpts = sorted((run_dir / "checkpoints").glob("step-*.pt"))
    return int(ckpts[-1].stem.split("-")[1]) if ckpts else -1


@pytest.mark.slow
def test_a_run_killed_inside_the_gauss_newton_stage_resumes_bit_identically(tmp_path):
    ref = subprocess.run([_script("pinn-train"), f"hydra.run.dir={tmp_path / 'ref'}", *ARGS], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert ref.returncode == 0, ref.stderr
    run_dir = tmp_path / "run"
    proc = subprocess.Popen([_script("pinn-train"), f"hydra.run.dir={run_dir}", *ARGS], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while _newest_step(run_dir) < 26:  # six iterations into the stage
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the run ended before step 26: {proc.communicate()[1][-2000:]}")
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert not (run_dir / "metrics.json").exists()
    out = subprocess.run([_script("pinn-train"), f"resume={run_dir}"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (run_dir, tmp_path / "ref"))
    assert {k: a[k] for k in ("rel_l2", "final_loss", "steps")} == {k: b[k] for k in ("rel_l2", "final_loss", "steps")}
    assert a["steps"]["gn"] == 12
    with np.load(run_dir / "predictions.npz") as pa, np.load(tmp_path / "ref" / "predictions.npz") as pb:
        np.testing.assert_array_equal(pa["u_pred"], pb["u_pred"])

    def hist(d):
        return [line.split(",")[:-1] for line in (d / "history.csv").read_text().splitlines()]

    assert hist(run_dir) == hist(tmp_path / "ref")
