"""The command-line tools: config composition, bad input, and a full tiny run."""

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from hydra import compose, initialize_config_dir

import pinn

from pinn.cli import evaluate as eval_cli
from pinn.cli import plot as plot_cli
from pinn.cli import train as train_cli
from pinn.cli.build import build, run_training
from pinn.cli.config import CONF_DIR, register_configs

REPO = Path(__file__).resolve().parents[1]
PDES = sorted(p.stem for p in (CONF_DIR / "pde").glob("*.yaml"))
EXPERIMENTS = sorted(p.stem for p in (REPO / "experiments").glob("*.yaml"))
TINY = ["stages.adam.steps=6", "stages.quasi_newton.steps=4", "stages.quasi_newton.chunk=2", "stages.adam.log_every=3",
        "points.interior=64", "points.initial=16", "points.boundary=16", "model.width=8", "model.depth=2",
        "evaluation.resolution=[21,11]"]


def _compose(overrides):
    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


@pytest.mark.parametrize("pde", PDES)
def test_every_pde_config_composes_and_builds(pde):
    cfg = _compose([f"pde={pde}"])
    b = build(cfg)
    # A config names a problem; the PDE is named by its operator: poisson2d_c is the poisson
    # operator on PINNacle's plate (issue 29), every other config its own class.
    assert b.pde.name == {"poisson2d_c": "poisson"}.get(pde, pde)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes_and_builds(experiment):
    build(_compose([f"experiment={experiment}"]))


def test_default_config_is_burgers_with_raissi_viscosity():
    b = build(_compose([]))
    assert b.pde.name == "burgers" and abs(b.pde.nu - 0.01 / np.pi) < 1e-18


BAD = [
    (["pde=foo"], "unknown pde 'foo'; choose one of: allen_cahn, burgers, gray_scott, heat, heat2d, heat2d_cg, heat2d_lt, heat2d_vc, heat_inverse, heat_nd, kovasznay, ks, ns2d_c, poisson, poisson2d_c, poisson2d_ms, poisson3d_cg, poisson_inverse, poisson_nd, schrodinger, taylor_green, wave, wave2d"),
    (["model.activation=relu"], "unknown model.activation 'relu'; choose one of: sin, softplus, tanh"),
    (["sampler=halton"], "unknown sampler 'halton'; choose one of: lhs, sobol, uniform"),
    (["derivatives=jet"], "choose one of: auto, autograd, func, fused, taylor"),
    (["precision=float16"], "choose one of: float32, float64"),
    (["device=tpu"], "choose one of: cpu, cuda, auto"),
    (["pde.nu=0"], "nu must be > 0"),
    (["pde.nu=-0.01"], "nu must be > 0"),
    (["pde.nu=nan"], "nu must be finite"),
    (["pde=heat", "pde.alpha=0"], "alpha must be > 0"),
    (["pde=wave", "pde.c=-3"], "c must be > 0"),
    (["stages.adam.steps=-1"], "stages.adam.steps must be an integer >= 0"),
    (["stages.quasi_newton.steps=-5"], "stages.quasi_newton.steps must be an integer >= 0"),
    (["trainer.adam_stpes=5"], "adam_stpes"),
    (["model.width=abc"], "model.width"),
    (["model.depth=0"], "model.depth must be a positive integer"),
    (["points.interior=0"], "points.interior must be a positive integer"),
    (["pde=wave", "pde.x=[1.0,0.0]"], "low < high"),
    (["pde=heat", "pde.t=[1.0,0.5]"], "low < high"),
    (["pde=heat", "pde.x=[0.0,0.0]"], "low < high"),
    (["pde.nu=inf"], "nu must be finite"),
    (["stages.adam.lr=nan"], "stages.adam.lr must be a finite number > 0"),
    (["stages.adam.lr=-1e-3"], "stages.adam.lr must be a finite number > 0"),
    (["model.width=-4"], "model.width must be a positive integer"),
    (["stages.adam.log_every=0"], "stages.adam.log_every must be a positive integer"),
    (["checkpoint.keep=0"], "checkpoint.keep must be >= 1"),
    (["evaluation.resolution=[1,5]"], "at least 2"),
    (["evaluation.resolution=[20000,20000]"], "an evaluation grid of 4e+08 points, more than 1e+08"),
    (["seed=abc"], "seed"),
    (["+loss.weights.foo=1"], "unknown terms ['foo']"),
    (["modle.width=3"], "modle"),
    (["pde=heat", "pde.alfa=1"], "alfa"),
    (["resume=/nonexistent/run"], "not a pinn run directory"),
    (["resume=/tmp", "seed=1"], "drop the other arguments"),
    (["data.samples=-3"], "data.samples must be a positive integer"),
    (["data.samples=10", "data.noise=nan"], "data.noise must be a finite number"),
    (["data.noise=0.01"], "set data.samples or data.at"),
    (["data.samples=10", "data.path=x.csv"], "either data.path or data.samples"),
    (["pde.learn=[nu]", "pde.learn_init=[0.1]"], "needs observations"),
    (["pde.learn=[mu]", "pde.learn_init=[0.1]", "data.samples=10"], "no coefficient 'mu'"),
    (["pde.learn=[nu]", "data.samples=10"], "one initial guess"),
]


@pytest.mark.parametrize("overrides,message", BAD, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_input_gives_one_line_and_no_run_dir(overrides, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["pinn-train", *overrides])
    with pytest.raises(SystemExit) as exit_info:
        train_cli.main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pinn-train: error: ") and len(err.splitlines()) == 1, err
    assert message in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


DATA_BAD = [
    ("missing.csv", None, "does not exist"),
    ("obs.json", b"{}", "must end in .npz or .csv"),
    ("obs.csv", b"x,t,u\n0.1,oops,1\n", "non-numeric"),
    ("obs.csv", b"x,u\n0.1,1\n", "lacks the columns ['t']"),
    ("obs.npz", b"not a zip", "not a readable .npz"),
]


@pytest.mark.parametrize("name,content,message", DATA_BAD, ids=[m for _, _, m in DATA_BAD])
def test_unreadable_observation_data_gives_one_line_and_no_run_dir(name, content, message, tmp_path, monkeypatch,
                                                                   capsys):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    if content is not None:
        (data_dir / name).write_bytes(content)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(sys, "argv", ["pinn-train", f"data.path={data_dir / name}"])
    with pytest.raises(SystemExit) as exit_info:
        train_cli.main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pinn-train: error: ") and len(err.splitlines()) == 1 and message in err, err
    assert list(work.iterdir()) == []


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A real, finished tiny run (trained in-process), with its .hydra record."""
    from omegaconf import OmegaConf

    run_dir = tmp_path_factory.mktemp("finished") / "run"
    cfg = train_cli.check_config([*TINY, "pde=heat"])
    run_training(cfg, run_dir)
    (run_dir / ".hydra").mkdir()
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")
    return run_dir


def _copy_run(src, dst, damage=None):
    import shutil

    shutil.copytree(src, dst)
    if damage:
        damage(dst)
    return dst


DAMAGE = {
    "missing": (None, "does not exist"),
    "empty-dir": (lambda d: [p.unlink() for p in d.rglob("*") if p.is_file()], "not a finished pinn run"),
    "failed": (lambda d: (d / "FAILED").write_text("ValueError: boom"), "failed run"),
    "garbage-checkpoint": (lambda d: (d / "checkpoint.pt").write_bytes(b"\x00junk"), "not a readable pinn checkpoint"),
    "truncated-predictions": (lambda d: (d / "predictions.npz").write_bytes((d / "predictions.npz").read_bytes()[:50]),
                              "unreadable outputs"),
    "foreign-config": (lambda d: (d / ".hydra" / "config.yaml").write_text("foo: 1\n"), "is not a pinn config"),
    "a-file": (lambda d: None, "is not a directory"),
}
TOOL_CASES = [("pinn-eval", "missing"), ("pinn-eval", "empty-dir"), ("pinn-eval", "failed"),
              ("pinn-eval", "garbage-checkpoint"), ("pinn-eval", "foreign-config"), ("pinn-eval", "a-file"),
              ("pinn-plot", "missing"), ("pinn-plot", "empty-dir"), ("pinn-plot", "failed"),
              ("pinn-plot", "truncated-predictions"), ("pinn-plot", "a-file")]


@pytest.mark.parametrize("tool,case", TOOL_CASES, ids=[f"{t}-{c}" for t, c in TOOL_CASES])
def test_eval_and_plot_reject_missing_foreign_and_corrupt_directories(tool, case, finished_run, tmp_path, capsys):
    damage, message = DAMAGE[case]
    if case == "missing":
        target = tmp_path / "missing"
    elif case == "a-file":
        target = tmp_path / "file"
        target.write_text("x")
    else:
        target = _copy_run(finished_run, tmp_path / "run", damage)
    module = eval_cli if tool == "pinn-eval" else plot_cli
    with pytest.raises(SystemExit) as exit_info:
        module.main([str(target)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"{tool}: error:") and message in err, err
    assert not (target / "eval").exists()


@pytest.mark.parametrize("args,message", [(["--resolution", "1", "5"], "at least 2"),
                                          (["--resolution", "200000", "200000"], "more than 1e+08"),
                                          (["--resolution", "5"], "one size per coordinate"),
                                          (["--chunk-size", "0"], "--chunk-size must be a positive integer")])
def test_eval_rejects_bad_grids(args, message, finished_run, capsys):
    with pytest.raises(SystemExit) as exit_info:
        eval_cli.main([str(finished_run), *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err


def test_resume_of_a_finished_run_is_refused(finished_run, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["pinn-train", f"resume={finished_run}"])
    with pytest.raises(SystemExit) as exit_info:
        train_cli.main()
    assert exit_info.value.code == 2
    assert "already finished" in capsys.readouterr().err


def test_fresh_run_among_unfinished_checkpoints_is_refused(finished_run, tmp_path, monkeypatch, capsys):
    """A fresh run in a directory holding an unfinished run's checkpoints would prune its own (by
    step number) and leave the other's for a resume to load: it is refused before anything is written."""
    run_dir = tmp_path / "run"
    _copy_run(finished_run, run_dir)
    (run_dir / "metrics.json").unlink()  # as if interrupted

    def files():
        return {str(p.relative_to(run_dir)): p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}

    before = files()
    assert any(name.startswith("checkpoints/step-") for name in before) and ".hydra/config.yaml" in before
    cfg = train_cli.check_config([*TINY, "pde=heat"])
    with pytest.raises(ValueError, match=r"checkpoints of an unfinished run .*resume="):
        run_training(cfg, run_dir)
    monkeypatch.setattr(sys, "argv", ["pinn-train", *TINY, "pde=heat", f"hydra.run.dir={run_dir}"])
    with pytest.raises(SystemExit) as exit_info:
        train_cli.main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pinn-train: error: ") and "unfinished run" in err, err
    assert files() == before  # nothing written: no FAILED mark, and Hydra's record of the run is intact


def test_fresh_run_replaces_a_finished_one(finished_run, tmp_path):
    """Rerunning into a finished run's directory replaces it: none of its checkpoints survive."""
    run_dir = tmp_path / "run"
    _copy_run(finished_run, run_dir)
    old = {p.name for p in (run_dir / "checkpoints").glob("step-*.pt")}
    assert old
    stale = [run_dir / ".history.csv.k1ll3d.tmp", run_dir / "checkpoints" / ".step-000000009.pt.k1ll3d.tmp"]
    for p in stale:  # what writes killed midway leave
        p.write_bytes(b"partial")
    cfg = train_cli.check_config([*TINY, "pde=heat", "stages.adam.steps=4", "plots=false"])
    run_training(cfg, run_dir)
    new = {p.name for p in (run_dir / "checkpoints").glob("step-*.pt")}
    assert old == {"step-000000006.pt"} and new == {"step-000000004.pt"}, new  # each run's switch to L-BFGS
    assert json.loads((run_dir / "metrics.json").read_text())["adam_steps"] == 4
    assert not any(p.exists() for p in stale)


def test_run_is_deterministic_in_process(tmp_path):
    cfg = train_cli.check_config([*TINY, "pde=heat", "plots=false"])
    a = run_training(cfg, tmp_path / "a")
    b = run_training(cfg, tmp_path / "b")
    for key in ("rel_l2", "max_abs_error", "final_loss"):
        assert a[key] == b[key]
    pa, pb = np.load(tmp_path / "a" / "predictions.npz"), np.load(tmp_path / "b" / "predictions.npz")
    np.testing.assert_array_equal(pa["u_pred"], pb["u_pred"])


def _run(args, cwd):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, timeout=600)


def _script(name):
    return str(Path(sys.executable).parent / name)


def test_train_eval_plot_end_to_end(tmp_path):
    run_dir = tmp_path / "runs" / "b1"
    out = _run([_script("pinn-train"), "pde=burgers", "pde.nu=0.005", f"hydra.run.dir={run_dir}", *TINY], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "rel. L2 error" in out.stderr + out.stdout and "plots/  (solution.png" in out.stderr + out.stdout
    # derivatives=auto's choice, made while the job was built before Hydra's logging: in the run's log
    assert "derivatives=auto chose" in (run_dir / "train.log").read_text()

    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert {"rel_l2", "max_abs_error", "train_seconds", "adam_steps", "lbfgs_steps", "final_loss"} <= set(metrics)
    assert metrics["adam_steps"] == 6 and 0 < metrics["lbfgs_steps"] <= 4
    assert metrics["versions"] == {"pinn": pinn.__version__, "torch": torch.__version__,
                                   "python": platform.python_version()}
    assert metrics["device"] == "cpu" and metrics["threads"] >= 1 and len(metrics["config_sha256"]) == 64
    with np.load(run_dir / "predictions.npz") as p:
        assert p["x"].shape == (21,) and p["t"].shape == (11,)
        assert p["u_pred"].shape == p["u_ref"].shape == (21, 11)
        np.testing.assert_allclose(p["u_ref"][:, 0], -np.sin(np.pi * p["x"]), atol=1e-15)
        assert np.isclose(metrics["rel_l2"], np.linalg.norm(p["u_pred"] - p["u_ref"]) / np.linalg.norm(p["u_ref"]))
    header = (run_dir / "history.csv").read_text().splitlines()[0].split(",")
    assert header == ["step", "stage", "loss", "residual", "initial", "boundary", "lr", "seconds"]
    for name in ("solution.png", "slices.png", "loss.png", "residuals.png"):
        assert (run_dir / "plots" / name).stat().st_size > 1000
    assert (run_dir / ".hydra" / "config.yaml").exists() and (run_dir / "checkpoint.pt").exists()
    with np.load(run_dir / "predictions.npz") as p:  # |residual| of the heat equation on the same grid
        assert p["residual_residual"].shape == (21, 11) and list(p["equations"]) == ["residual"]
        r = p["residual_residual"]  # the spatial boundary (x = 0, x = 1) left out: a condition holds there
        assert np.isnan(r[0]).all() and np.isnan(r[-1]).all() and np.isfinite(r[1:-1]).all()
        assert metrics["residual_rms_residual"] == pytest.approx(float(np.sqrt(np.nanmean(r ** 2))))
        assert metrics["residual_points"] == 19 * 11 and metrics["residual_points_left_out"] == 2 * 11

    # pinn-eval on the training grid reproduces the recorded error; a finer grid works too.
    out = _run([_script("pinn-eval"), str(run_dir), "--resolution", "21", "11"], tmp_path)
    assert out.returncode == 0, out.stderr
    again = json.loads((run_dir / "eval" / "metrics.json").read_text())
    assert again["rel_l2"] == pytest.approx(metrics["rel_l2"], rel=1e-12)
    assert again["residual_rms_residual"] == pytest.approx(metrics["residual_rms_residual"], rel=1e-5)
    assert "rms |residual|: residual" in out.stdout and (run_dir / "eval" / "residuals.png").exists()
    assert "(over 209 interior points; 22 on the boundary or outside the domain left out)" in out.stdout
    out = _run([_script("pinn-eval"), str(run_dir), "--resolution", "101", "51", "--out", str(tmp_path / "fine"),
                "--export", "xdmf", "--export", "vtk"], tmp_path)
    assert out.returncode == 0, out.stderr
    with np.load(tmp_path / "fine" / "predictions.npz") as p:
        assert p["u_pred"].shape == (101, 51)
    # the export for ParaView: a time series of 51 steps, in both formats
    assert (tmp_path / "fine" / "solution.xdmf").exists() and (tmp_path / "fine" / "solution.pvd").exists()
    assert len(list((tmp_path / "fine").glob("solution_*.vtu"))) == 51 and "exported:" in out.stdout

    # pinn-plot redraws from the saved predictions alone.
    for png in (run_dir / "plots").iterdir():
        png.unlink()
    (run_dir / "checkpoint.pt").rename(tmp_path / "moved.pt")  # proves no model is needed
    out = _run([_script("pinn-plot"), str(run_dir)], tmp_path)
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in (run_dir / "plots").iterdir()) == ["error_in_time.png", "loss.png", "residuals.png",
                                                                    "slices.png", "solution.png"]


def test_console_script_reports_bad_input_in_one_line(tmp_path):
    out = _run([_script("pinn-train"), "pde=heat", "pde.alpha=-1"], tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "pinn-train: error: pde.alpha must be > 0, got -1.0; set a positive value, e.g. pde.alpha=0.1"
    ]
    assert list(tmp_path.iterdir()) == []


def test_failure_during_a_run_marks_the_directory(tmp_path):
    run_dir = tmp_path / "r"
    # An absurd learning rate passes the config checks but makes the loss non-finite.
    out = _run([_script("pinn-train"), f"hydra.run.dir={run_dir}", "pde=heat", *TINY, "stages.adam.lr=1e30"], tmp_path)
    assert out.returncode == 1, out.stderr
    assert (run_dir / "FAILED").exists() and not (run_dir / "metrics.json").exists()
    assert out.stderr.strip().splitlines()[-1].startswith("pinn-train: error:")
    err = _run([_script("pinn-eval"), str(run_dir)], tmp_path)
    assert err.returncode == 2 and "failed run" in err.stderr


def test_config_hash_names_what_a_run_computes():
    from pinn.cli.build import config_hash
    a = train_cli.check_config(["pde=heat", "seed=1"])
    b = train_cli.check_config(["pde=heat", "seed=1", "resume=somewhere"])
    c = train_cli.check_config(["pde=heat", "seed=2"])
    assert config_hash(a) == config_hash(b) != config_hash(c)


def test_help_lists_every_option_of_every_group(tmp_path):
    out = _run([_script("pinn-train"), "--help"], tmp_path)
    assert out.returncode == 0, out.stderr
    lines = {line.split()[0]: line for line in out.stdout.splitlines() if line.startswith("  ") and line.split()}
    for group in ("pde", "geometry", "experiment", "model", "sampler", "derivatives", "stages", "weighting", "resampler", "marching",
                  "logger", "hparams_search"):
        shipped = sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))
        listed = sorted(o.strip() for o in lines[group].split(":", 1)[1].split(",") if o.strip() != "null")
        assert listed == shipped, (group, listed, shipped)
    assert "slurm" in lines["hydra/launcher"] and "loss.point_clip" in out.stdout and "pinn-train --cfg job" in out.stdout


@pytest.mark.slow
def test_optuna_search_runs_three_trials_and_reports_the_best(tmp_path):
    sweep = tmp_path / "opt"
    out = _run([_script("pinn-train"), "experiment=heat", "hparams_search=heat_optuna", "hydra.sweeper.n_trials=3",
                "stages.adam.steps=30", "stages.quasi_newton.steps=10", "plots=false", "threads=1",
                f"hydra.sweep.dir={sweep}"], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    errors = [json.loads((sweep / str(k) / "metrics.json").read_text())["rel_l2"] for k in range(3)]
    best = OmegaConf.load(sweep / "optimization_results.yaml")
    assert best.best_value == pytest.approx(min(errors), rel=1e-12)
    assert set(best.best_params) == {"stages.adam.lr", "model.width", "points.interior"}
    assert 1e-4 <= best.best_params["stages.adam.lr"] <= 1e-2
