"""Watching a run (progress, TensorBoard, summary) and periodic boundaries."""

import io
import logging

import pytest
import torch

from pinn import MLP, Heat, PINNLoss, Trainer, get_engine, get_sampler
from pinn.diff.autograd import Derivatives
from pinn.training.stages import Adam, QuasiNewton
from pinn.cli.build import run_training
from pinn.cli.train import check_config, summary
from pinn.io.progress import LogLines, ProgressBar, make_progress

ROWS = [{"step": 100, "stage": "adam", "loss": 0.5, "seconds": 2.0},
        {"step": 200, "stage": "adam", "loss": 0.25, "seconds": 3.0},
        {"step": 300, "stage": "lbfgs", "loss": 0.125, "seconds": 5.0}]


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal_is_tqdm_redrawn_in_place_and_moved_every_step():
    out = _Tty()
    bar = make_progress(400, 100, stream=out)
    assert isinstance(bar, ProgressBar)
    for row in ROWS:
        for step in range(row["step"] - 99, row["step"] + 1):  # the trainer ticks every step
            bar.tick(step)
        bar(row)
    bar.close()
    text = out.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1  # one line, redrawn with carriage returns
    last = text.rstrip("\n").split("\r")[-1]
    assert last.startswith("lbfgs") and "300/400" in last and "loss 1.250e-01" in last and "75%" in last
    assert "step/s" in last and "<" in last  # a rate and the time left


def test_progress_is_log_lines_when_not_a_terminal(caplog):
    p = make_progress(400, 200, stream=io.StringIO(), logger=logging.getLogger("pinn.test"))
    assert isinstance(p, LogLines)
    with caplog.at_level(logging.INFO, logger="pinn.test"):
        for row in ROWS:
            p(row)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2  # steps 100 (bucket 0) and 200 (bucket 1); 300 shares bucket 1 and is not the last
    assert "200/400" in lines[1] and "100.0 it/s" in lines[1] and "00:02 left" in lines[1]


def test_log_lines_also_come_when_a_slow_stage_has_been_quiet_for_half_a_minute(caplog):
    p = make_progress(400, 200, stream=io.StringIO(), logger=logging.getLogger("pinn.test"))
    rows = [{"step": s, "stage": "lm", "loss": 1.0, "seconds": 12.0 * k} for k, s in enumerate((10, 20, 30, 40, 50), 1)]
    with caplog.at_level(logging.INFO, logger="pinn.test"):
        for row in rows:
            p(row)
    steps = [r.getMessage().split()[2] for r in caplog.records]
    assert steps == ["10/400", "40/400"]  # bucket 0 throughout: the first row, then 36 s after it


def test_history_rows_carry_the_learning_rate():
    pde = Heat()
    g = torch.Generator().manual_seed(0)
    model = MLP(pde.domain.lower, pde.domain.upper, width=8, depth=2, generator=g, dtype=torch.float64)
    pts = {w: pde.domain.sample(w, 64, get_sampler("lhs"), generator=g) for w in pde.domain.point_sets}
    res = Trainer([Adam(steps=4, lr=0.01, lr_decay=0.5, log_every=2), QuasiNewton(steps=2, chunk=2)]).fit(
        model, PINNLoss(pde, get_engine("autograd")), pts)
    lrs = [r["lr"] for r in res.history]
    assert lrs[0] == pytest.approx(0.01 * 0.5 ** (2 / 1000)) and lrs[1] == pytest.approx(0.01 * 0.5 ** (4 / 1000))
    assert lrs[-1] == 1.0  # L-BFGS step scale


def test_summary_names_error_time_and_outputs(tmp_path):
    text = summary({"pde": "heat", "rel_l2": 1.5e-3, "max_abs_error": 2e-3, "train_seconds": 12.3, "adam_steps": 5,
                    "lbfgs_steps": 7, "final_loss": 1e-6, "failures": 1, "learned": {"alpha": 0.41}},
                   tmp_path, plots=True, tensorboard=True)
    lines = text.splitlines()
    assert len(lines) <= 12 and all(len(line.replace(str(tmp_path), "RUN")) <= 100 for line in lines)
    assert "heat finished" in lines[0]
    for needle in ("1.500e-03", "12.3 s", "5 Adam + 7 L-BFGS", "1 roll-back", "alpha = 0.41", str(tmp_path),
                   "plots", f"tensorboard --logdir {tmp_path / 'tensorboard'}", f"pinn-eval {tmp_path}"):
        assert needle in text, needle


SHORT = ["pde=heat", "stages.adam.steps=30", "stages.quasi_newton.steps=10", "stages.adam.log_every=10", "points.interior=200",
         "points.initial=32", "points.boundary=32", "model.width=8", "model.depth=2", "evaluation.resolution=[21,11]",
         "plots=false", "checkpoint.every=0"]


def test_tensorboard_logs_terms_lr_error_and_figure(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    metrics = run_training(check_config([*SHORT, "logger=tensorboard", "logger.every=10"]), tmp_path)
    acc = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"images": 0}).Reload()
    tags = acc.Tags()
    for tag in ("loss/total", "loss/residual", "loss/initial", "loss/boundary", "train/lr", "error/rel_l2"):
        assert tag in tags["scalars"], tag
    assert "solution" in tags["images"]
    errors = acc.Scalars("error/rel_l2")
    assert [e.step for e in errors] == [10, 20, 30, 40]
    # the last in-training evaluation is the final model's: the same error as metrics.json
    assert errors[-1].value == pytest.approx(metrics["rel_l2"], rel=1e-5)
    assert [e.step for e in acc.Scalars("loss/total")][:3] == [10, 20, 30]


def test_logger_choices_are_checked():
    with pytest.raises(ValueError, match="unknown logger 'wandb'; choose one of: csv, tensorboard"):
        check_config(["logger=wandb"])
    with pytest.raises(ValueError, match="logger.every must be an integer >= 0"):
        check_config(["logger=tensorboard", "logger.every=-1"])


# -- periodic boundaries -----------------------------------------------------------


def _periodic_net(dtype=torch.float64):
    pde = Heat(bc="periodic", x=(-1.0, 1.0))
    return pde, MLP(pde.domain.lower, pde.domain.upper, width=10, depth=3, generator=torch.Generator().manual_seed(0),
                    dtype=dtype, periodic=pde.periodic_indices())


def test_periodic_network_matches_at_both_ends_in_every_derivative():
    pde, net = _periodic_net()
    t = torch.linspace(0, 1, 9, dtype=torch.float64)
    left = torch.stack([torch.full_like(t, -1.0), t], 1)
    right = torch.stack([torch.full_like(t, 1.0), t], 1)
    dl, dr = Derivatives(net, left, ("x", "t")), Derivatives(net, right, ("x", "t"))
    for field in ("u", "u_x", "u_xx", "u_xxx", "u_t", "u_xt"):
        torch.testing.assert_close(dl[field], dr[field], rtol=0, atol=1e-12, msg=field)
    assert dl["u_x"].abs().max() > 1e-3  # not trivially constant
    # and it is not periodic with a shorter period
    mid = torch.stack([torch.zeros_like(t), t], 1)
    assert (net(mid) - net(left)).abs().max() > 1e-3


def test_periodic_heat_trains_with_every_engine():
    pde, net = _periodic_net()
    g = torch.Generator().manual_seed(1)
    pts = {w: pde.domain.sample(w, 64, get_sampler("sobol"), generator=g) for w in pde.domain.point_sets}
    assert [t.name for t in pde.terms()] == ["residual", "initial"]  # no boundary term: built in
    ra = PINNLoss(pde, get_engine("autograd")).residuals(net, pts)
    rf = PINNLoss(pde, get_engine("func")).residuals(net, pts)
    for k in ra:
        torch.testing.assert_close(ra[k], rf[k], rtol=0, atol=1e-10)
    rt = PINNLoss(pde, get_engine("taylor")).residuals(net, pts)  # the embedding's jets, forward mode
    for k in ra:
        torch.testing.assert_close(ra[k], rt[k], rtol=0, atol=1e-10)
    check_config(["pde=heat", "pde.bc=periodic", "derivatives=taylor"])


@pytest.mark.slow
def test_periodic_heat_from_the_command_line(tmp_path):
    metrics = run_training(check_config([*SHORT, "pde.bc=periodic", "pde.x=[-1.0,1.0]", "stages.adam.steps=300",
                                         "stages.quasi_newton.steps=200", "pde.alpha=0.1"]), tmp_path)
    assert metrics["rel_l2"] < 0.05


def test_progress_bar_fits_an_80_column_terminal(monkeypatch):
    """The bar's width follows the terminal; one whose size is unknown (a pseudo terminal, as in
    tmux capture) takes COLUMNS, here 80: no frame may wrap onto a second line."""
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("LINES", "24")
    out = _Tty()
    bar = make_progress(100_000, 100, stream=out)
    for step in range(1, 100_001, 997):
        bar.tick(step)
        if step % 10 == 0:
            bar({"step": step, "stage": "lbfgs", "loss": 1.2345e-07, "seconds": step / 1000})
    bar.close()
    frames = [f for f in out.getvalue().split("\r") if f.strip()]
    assert frames and all(len(f.rstrip("\n")) <= 80 for f in frames), max(len(f) for f in frames)
    assert any(len(f.rstrip("\n")) == 80 for f in frames)  # it uses the width it has
