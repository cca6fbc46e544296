"""Issue 34, what a newcomer hit: each case fails on the code before its fix."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch


def _script(name):
    return str(Path(sys.executable).parent / name)


def _run(args, cwd):
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


# --- 10. --cfg job after an override, with ./conf present ------------------------------------

@pytest.mark.parametrize("args", [["pde=heat", "--cfg", "job"], ["--cfg", "job", "pde=heat"],
                                  ["pde=heat", "--cfg", "job", "seed=3"]])
def test_cfg_job_prints_the_config_whatever_the_order(tmp_path, args):
    (tmp_path / "conf" / "pde").mkdir(parents=True)
    out = _run([_script("pinn-train"), *args], tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "_target_: pinn.pdes.Heat" in out.stdout
    assert not (tmp_path / "runs").exists()


def test_overrides_after_a_flag_are_arranged_for_hydra():
    from pinn.cli.config import with_overrides

    assert with_overrides(["pde=X", "--cfg", "job", "seed=1"], ["e=1"]) == ["--cfg", "job", "pde=X", "seed=1", "e=1"]
    assert with_overrides(["seed=0,1", "-m"], ["e=1"]) == ["-m", "seed=0,1", "e=1"]
    assert with_overrides(["--info", "pde=heat"], []) == ["--info", "pde=heat"]
    assert with_overrides(["-cd", "/d", "a=1"], []) == ["-cd", "/d", "a=1"]


TINY = ["stages.adam.steps=6", "stages.quasi_newton.steps=4", "stages.quasi_newton.chunk=2", "stages.adam.log_every=3",
        "points.interior=64", "points.initial=16", "points.boundary=16", "model.width=8", "model.depth=2",
        "evaluation.resolution=[21,11]", "checkpoint.every=3"]


def _trained(tmp_path, *args):
    from omegaconf import OmegaConf

    from pinn.cli.build import run_training
    from pinn.cli.train import check_config

    cfg = check_config([*TINY, *args])
    run_dir = tmp_path / "run"
    metrics = run_training(cfg, run_dir)
    (run_dir / ".hydra").mkdir()
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")
    return run_dir, metrics


# --- 4. pinn-eval evaluates in the precision the run ended in -----------------------------

def test_pinn_eval_keeps_the_float64_of_a_quasi_newton_stage(tmp_path):
    from pinn.cli.evaluate import evaluate_run
    from pinn.cli.config import register_configs

    register_configs()
    run_dir, metrics = _trained(tmp_path, "pde=heat", "stages=adam_ssbfgs", "stages.quasi_newton.float64=true",
                                "plots=false")
    again = evaluate_run(run_dir)
    assert again["rel_l2"] == metrics["rel_l2"] and again["max_abs_error"] == metrics["max_abs_error"]


# --- 5. a table-scored run says so -----------------------------------------------------------

def test_a_table_scored_run_records_its_nodes_not_a_grid(tmp_path, capsys):
    from pinn.cli import evaluate as eval_cli

    run_dir, metrics = _trained(tmp_path, "pde=poisson2d_c", "points.boundary=32", "plots=false")
    assert metrics["resolution"] == "reference nodes"
    eval_cli.main([str(run_dir)])
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith("poisson on its reference table's nodes: rel. L2 error"), line  # pde=poisson2d_c is poisson


# --- 8. the stage that runs is named ---------------------------------------------------------

def test_self_scaled_bfgs_is_named_in_the_history_and_the_loss_plot(tmp_path):
    from pinn.io.files import read_history
    from pinn.io.plotting import loss_figure

    run_dir, _ = _trained(tmp_path, "pde=heat", "stages=adam_ssbfgs", "plots=false")
    rows = read_history(run_dir / "history.csv")
    assert {r["stage"] for r in rows} == {"adam", "ssbfgs"}
    fig = loss_figure(rows)
    labels = {line.get_label() for ax in fig.axes for line in ax.get_lines()}
    assert "ssbfgs starts" in labels and "lbfgs starts" not in labels


# --- 2. residual maps leave points outside the shape blank -----------------------------------

def test_residual_maps_draw_undefined_points_blank():
    import numpy as np

    from pinn.io.plotting import residual_figure

    x, y = np.linspace(-1, 1, 21), np.linspace(-1, 1, 21)
    X, Y = np.meshgrid(x, y, indexing="ij")
    data = np.exp(-(X**2 + Y**2)) * 1e-3
    outside = X**2 + Y**2 > 1
    data[outside] = np.nan
    fig = residual_figure({"x": x, "y": y}, {"residual": data})
    (image,) = fig.axes[0].get_images()
    shown = np.ma.masked_invalid(image.get_array())
    assert shown.mask.sum() == outside.sum() and bool(shown.mask[outside].all())
    # at scattered nodes: every triangle touching an undefined node is masked
    nodes = {"x": X.reshape(-1), "y": Y.reshape(-1)}
    fig = residual_figure(nodes, {"residual": data.reshape(-1)}, layout="nodes")
    (mesh,) = [c for c in fig.axes[0].collections]
    tri = mesh._triangulation
    touching = outside.reshape(-1)[tri.triangles].any(axis=1)
    assert tri.mask is not None and bool(tri.mask[touching].all())


# --- 12. a reference path in a user's YAML is read beside the YAML, as source is ------------

def test_a_reference_beside_the_yaml_is_found_from_another_directory(tmp_path, monkeypatch):
    import shutil

    from pinn.cli.compose import compose_config
    from pinn.pdes._reference import DATA

    conf = tmp_path / "project" / "conf" / "pde"
    conf.mkdir(parents=True)
    shutil.copy(DATA / "poisson1_cg_data.dat", conf / "mytable.dat")
    (conf / "plate.yaml").write_text("_target_: pinn.pdes.Poisson\nvalues: {outer: 1.0, holes: 0.0}\nreference: mytable.dat\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = compose_config(["pde=plate", f"hydra.searchpath=[file://{tmp_path / 'project' / 'conf'}]"])
    assert cfg.pde.reference == str((conf / "mytable.dat").resolve())


# --- 6. a system's predictions.npz holds one array per field ---------------------------------

def test_a_systems_predictions_hold_one_array_per_field(tmp_path):
    import numpy as np

    from pinn.io import files as io

    grid = {"x": np.linspace(0, 1, 4), "y": np.linspace(0, 1, 3)}
    pred = np.random.default_rng(0).normal(size=(4, 3, 3))
    ref = pred + 1.0
    io.write_predictions(tmp_path / "p.npz", grid, pred, ref, fields=("u", "v", "p"))
    with np.load(tmp_path / "p.npz") as saved:
        for i, f in enumerate("uvp"):
            np.testing.assert_array_equal(saved[f"{f}_pred"], pred[..., i])
            np.testing.assert_array_equal(saved[f"{f}_ref"], ref[..., i])
        assert saved["u_pred"].shape == (4, 3)
    back_grid, back_pred, back_ref = io.read_predictions(tmp_path / "p.npz")
    np.testing.assert_array_equal(back_pred, pred)
    np.testing.assert_array_equal(back_ref, ref)
    # a file written before 0.3 (u_pred holding every field) still reads
    np.savez(tmp_path / "old.npz", x=grid["x"], y=grid["y"], u_pred=pred, u_ref=ref, coordinates=np.array(["x", "y"]),
             fields=np.array(["u", "v", "p"]), layout=np.array("grid"))
    np.testing.assert_array_equal(io.read_predictions(tmp_path / "old.npz")[1], pred)


# --- 9. an interrupted run can be scored; a time budget ends a run normally -----------------

def test_an_interrupted_run_is_scored_from_its_checkpoints(tmp_path, capsys):
    import json

    from pinn.cli import evaluate as eval_cli

    run_dir, metrics = _trained(tmp_path, "pde=heat", "plots=false")
    for name in ("metrics.json", "checkpoint.pt", "predictions.npz"):
        (run_dir / name).unlink()  # as if killed before it finished
    with pytest.raises(SystemExit):
        eval_cli.main([str(run_dir)])
    err = capsys.readouterr().err
    assert "not a finished pinn run" in err and "--checkpoint latest" in err
    for which in ("latest", "best", str(sorted((run_dir / "checkpoints").glob("step-*.pt"))[-1])):
        eval_cli.main([str(run_dir), "--checkpoint", which, "--out", str(tmp_path / which.replace("/", "_"))])
        scored = json.loads((tmp_path / which.replace("/", "_") / "metrics.json").read_text())
        assert 0 < scored["rel_l2"] < 10
    capsys.readouterr()


def test_a_time_budget_ends_the_run_normally(tmp_path):
    import time

    start = time.perf_counter()
    run_dir, metrics = _trained(tmp_path, "pde=heat", "plots=false", "stages.adam.steps=1000000",
                                "stages.quasi_newton.steps=1000000", "trainer.max_seconds=2", "checkpoint.every=0")
    assert time.perf_counter() - start < 60
    assert 0 < metrics["budget_spent_at"] < 1_000_000 and metrics["adam_steps"] == metrics["budget_spent_at"]
    assert metrics["lbfgs_steps"] == 0 and 2 <= metrics["train_seconds"] < 10
    assert (run_dir / "metrics.json").exists() and (run_dir / "checkpoint.pt").exists()


def test_a_time_budget_leaves_compiling_out():
    """A backend's compiling is not counted: a marched run's first windows have shares of a few
    seconds, and a compilation of tens would end them after one step."""
    import time

    from pinn.training.backends import Eager
    from pinn.training.compiling import CompileClock
    from pinn.training.loop import Trainer
    from pinn.training.stages import Adam

    class SlowFirstCall(Eager):
        def __init__(self, fn):
            super().__init__(fn)
            self.clock, self.compiled = CompileClock(), False

        @property
        def compile_seconds(self):
            return self.clock.seconds

        def value_and_grad(self, model, points, **kw):
            def call(m, p):
                if not self.compiled:  # a compilation, at the first call only
                    time.sleep(0.6)
                    self.compiled = True
                return Eager.value_and_grad(self, m, p, **kw)

            return self.clock(call, model, points)

    model = torch.nn.Linear(1, 1)
    points = {"x": torch.linspace(0, 1, 8)[:, None]}

    def loss(m, p):
        value = (m(p["x"]) ** 2).mean()
        return value, {"r": value}

    result = Trainer([Adam(steps=10**6)], max_seconds=0.4).fit(model, SlowFirstCall(loss), points)
    assert 0.6 <= result.compile_seconds < 0.8  # the first call alone; the same shapes never again
    assert result.seconds >= result.compile_seconds + 0.4 and result.budget_spent_at > 50


def test_a_compile_clock_times_each_new_signature_once():
    import time

    from pinn.training.compiling import CompileClock

    clock = CompileClock()

    def slow(x, ys):
        time.sleep(0.05)
        return x

    a, b = torch.zeros(3), torch.zeros(4)
    clock(slow, a, [a, None])
    assert 0.05 <= clock.seconds < 0.1
    clock(slow, torch.ones(3), [torch.ones(3), None])  # the same shapes: no compiling
    assert clock.seconds < 0.1
    clock(slow, b, [a, None])  # a new shape
    clock(slow, a.double(), [a, None])  # a new dtype
    assert clock.seconds >= 0.15


def test_a_time_budget_must_be_positive():
    from pinn.training.loop import Trainer

    for bad in (0, -1, float("inf"), "10", True):
        with pytest.raises(ValueError, match="max_seconds must be a positive number"):
            Trainer(max_seconds=bad)


# --- 11. a term that reads a derivative it did not declare -----------------------------------

def test_a_term_reading_an_undeclared_derivative_is_named_before_training(tmp_path, monkeypatch, capsys):
    conf = tmp_path / "conf" / "pde"
    conf.mkdir(parents=True)
    (conf / "sloppy.py").write_text('''from pinn.pdes import Heat
from pinn.physics.terms import Term


class Sloppy(Heat):
    name = "sloppy"

    def conditions(self):
        initial, boundary = super().conditions()
        return (initial, Term("flux", "boundary", ("u",), lambda f, c: f["u_x"]))
''')
    (conf / "sloppy.yaml").write_text("_target_: sloppy.Sloppy\nsource: sloppy.py\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["pinn-train", "pde=sloppy", "stages.adam.steps=5"])
    from pinn.cli import train as train_cli

    with pytest.raises(SystemExit) as info:
        train_cli.main()
    err = capsys.readouterr().err.strip()
    assert info.value.code == 2 and len(err.splitlines()) == 1, err
    assert "the term 'flux' of sloppy reads 'u_x', which it does not declare" in err
    assert "Term('flux', 'boundary', ('u', 'u_x'), ...)" in err
    assert not (tmp_path / "runs").exists()
