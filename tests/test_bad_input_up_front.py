"""Issue 33, bad input: refused before training with one line, never a traceback or a late failure;
damaged run directories listed, not fatal."""

import shutil
import sys

import numpy as np
import pytest
from omegaconf import OmegaConf

import pinn
from pinn.cli import compare as compare_cli
from pinn.cli import plot as plot_cli
from pinn.cli import train as train_cli
from pinn.cli.build import run_training
from pinn.cli.compose import job as compose_job

TINY = ["stages.adam.steps=6", "stages.quasi_newton.steps=4", "stages.quasi_newton.chunk=2", "stages.adam.log_every=3",
        "points.interior=64", "points.initial=16", "points.boundary=16", "model.width=8", "model.depth=2",
        "evaluation.resolution=[21,11]", "plots=false", "checkpoint.every=3"]


def _train_fails(monkeypatch, capsys, tmp_path, *args):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["pinn-train", *args])
    with pytest.raises(SystemExit) as info:
        train_cli.main()
    err = capsys.readouterr().err.strip()
    assert info.value.code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("pinn-train: error: ") and "Traceback" not in err, err
    assert not (tmp_path / "runs").exists() and not (tmp_path / "multirun").exists()
    return err


# --- 13. every key's type and every file's existence, before training ---------------------

@pytest.mark.parametrize("args, words", [
    (["pde=poisson2d_c", "pde.reference=[nan,1]"], "reference must be a path"),
    (["pde=heat2d_lt", "pde.reference=neumann"], "'neumann' does not exist"),
    (["pde=poisson_nd", "pde.learn=5"], "pde.learn must be a list of names"),
    (["pde=poisson_nd", "pde.learn=5e-324"], "pde.learn=5e-324 is outside the range"),
])
def test_wrong_types_and_missing_files_are_refused_before_training(monkeypatch, capsys, tmp_path, args, words):
    assert words in _train_fails(monkeypatch, capsys, tmp_path, *args)


# --- 14. -m sweeps are checked up front ----------------------------------------------------

@pytest.mark.parametrize("args, words", [
    (["-m", "seed=0,1", "pde.nu=-1"], "nu"),
    (["-m", "seed=range(0,3"], "malformed override"),
    (["-m", "seed=0,1", "model.widht=3"], "widht"),
])
def test_a_sweep_is_checked_before_any_job_starts(monkeypatch, capsys, tmp_path, args, words):
    assert words in _train_fails(monkeypatch, capsys, tmp_path, *args)


# --- 15. memory: observations are counted, and their number is bounded -------------------

def test_a_huge_observation_count_is_refused_before_sampling(monkeypatch, capsys, tmp_path):
    err = _train_fails(monkeypatch, capsys, tmp_path, "pde=heat", "data.samples=100000000")
    assert "data.samples" in err


def test_the_memory_estimate_counts_observations():
    from pinn.training.memory import check_fits

    job = compose_job("pde=heat", "data.samples=2000", "model.width=8", "model.depth=2")
    without = compose_job("pde=heat", "model.width=8", "model.depth=2")
    from pinn.training import memory

    seen = []
    real = memory.step_bytes
    memory.step_bytes = lambda model, loss, points, *a, **k: seen.append(dict(points)) or real(model, loss, points, *a, **k)
    try:
        check_fits(job, available=1 << 40)
        check_fits(without, available=1 << 40)
    finally:
        memory.step_bytes = real
    assert seen[0]["data"] == 2000 and "data" not in seen[1]


# --- 26. the Python API names the wrong argument -------------------------------------------

@pytest.fixture(scope="module")
def heat_job():
    return compose_job("pde=heat", *[a for a in TINY if not a.startswith(("plots", "checkpoint"))])


@pytest.mark.parametrize("kwargs, words", [
    ({"job": None}, "job must be a pinn.Job"),
    ({"run_dir": None}, "run_dir must be a directory path"),
    ({"resume": "yes"}, "resume must be None, True"),
    ({"callback": 5}, "callback must be callable"),
])
def test_pinn_train_names_a_wrong_argument(heat_job, tmp_path, kwargs, words):
    args = {"job": heat_job, "run_dir": tmp_path / "r", **kwargs}
    with pytest.raises(TypeError, match=words):
        pinn.train(args.pop("job"), args.pop("run_dir"), pinn.RunOptions(**args) if args else None)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("change, error, words", [
    ({"sampler": "lhs"}, TypeError, "Job.sampler must be"),
    ({"model": "mlp"}, TypeError, "Job.model must be"),
    ({"generator": None}, TypeError, "Job.generator must be"),
    ({"points": {"interior": 10**12, "initial": 16, "boundary": 16}}, ValueError, "more than the"),
])
def test_job_names_a_wrong_field(heat_job, change, error, words):
    fields = {k: getattr(heat_job, k) for k in ("pde", "model", "trainer", "points", "generator", "loss", "sampler")}
    with pytest.raises(error, match=words):
        pinn.Job(**{**fields, **change})


def test_a_trainer_without_stages_is_refused():
    from pinn.training.loop import Trainer

    with pytest.raises(ValueError, match="at least one stage"):
        Trainer([])


# --- 27. ensembles refuse what they would ignore ---------------------------------------------
# (lr_decay and nan_at, once ignored, are now the ordinary stage's: tests/test_ensemble_model.py)

@pytest.mark.parametrize("extra", ["trainer.compile=true", "trainer.compile_gradient=true"])
def test_an_ensemble_refuses_what_it_would_ignore(monkeypatch, capsys, tmp_path, extra):
    err = _train_fails(monkeypatch, capsys, tmp_path, "pde=heat", "ensemble.members=2", "derivatives=taylor",
                       "stages.quasi_newton.steps=0", extra)
    assert "an ensemble does not support" in err and extra.split("=")[0] in err


# --- 21 and 28. damaged runs: listed by pinn-compare, one line from pinn-plot --------------

@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("heat") / "run"
    cfg = train_cli.check_config([*TINY, "pde=heat"])
    run_training(cfg, run_dir)
    (run_dir / ".hydra").mkdir()
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")
    OmegaConf.save(OmegaConf.create(["pde=heat"]), run_dir / ".hydra" / "overrides.yaml")
    return run_dir


def _damage_history_long_field(run):
    text = (run / "history.csv").read_text().splitlines()
    (run / "history.csv").write_text("\n".join(text + ["1," + "9" * 200_000]) + "\n")


def _damage_history_no_loss(run):
    rows = (run / "history.csv").read_text().splitlines()
    (run / "history.csv").write_text("\n".join(",".join(r.split(",")[:2]) for r in rows) + "\n")


def _damage_history_dir(run):
    (run / "history.csv").unlink()
    (run / "history.csv").mkdir()


def _damage_failed_dir(run):
    (run / "FAILED").mkdir()


def _damage_predictions(run, **change):
    with np.load(run / "predictions.npz") as f:
        arrays = {k: f[k] for k in f.files}
    arrays.update(change)
    np.savez(run / "predictions.npz", **arrays)


DAMAGE = {
    "long field in history.csv": _damage_history_long_field,
    "no loss column": _damage_history_no_loss,
    "history.csv is a directory": _damage_history_dir,
    "FAILED is a directory": _damage_failed_dir,
    "complex u_pred": lambda run: _damage_predictions(run, u_pred=np.zeros((21, 11), complex)),
    "empty u_pred": lambda run: _damage_predictions(run, u_pred=np.zeros((0,))),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_one_damaged_run_does_not_abort_pinn_compare(finished, tmp_path, capsys, damage):
    sweep = tmp_path / "S"
    for k in range(2):
        shutil.copytree(finished, sweep / str(k))
        OmegaConf.save(OmegaConf.create([f"seed={k}"]), sweep / str(k) / ".hydra" / "overrides.yaml")
    DAMAGE[damage](sweep / "1")
    compare_cli.main([str(sweep)])
    out = capsys.readouterr().out
    assert "runs finished" in out and str(sweep / "1") in out, out
    assert (sweep / "compare" / "runs.csv").exists()


@pytest.mark.parametrize("damage", ["ragged history", "no step column", "0-d fields", "deep metrics"])
def test_pinn_plot_names_a_damaged_file_in_one_line(finished, tmp_path, capsys, damage):
    run = shutil.copytree(finished, tmp_path / "run")
    if damage == "ragged history":
        with open(run / "history.csv", "a") as f:
            f.write("1,2,3,4,5,6,7,8,9,10,11,12\n")
    elif damage == "no step column":
        rows = (run / "history.csv").read_text().splitlines()
        (run / "history.csv").write_text("\n".join(",".join(r.split(",")[1:]) for r in rows) + "\n")
    elif damage == "0-d fields":
        _damage_predictions(run, fields=np.array("u"))
    else:
        (run / "metrics.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(SystemExit) as info:
        plot_cli.main([str(run)])
    err = capsys.readouterr().err.strip()
    assert info.value.code == 2 and len(err.splitlines()) == 1 and err.startswith("pinn-plot: error: "), err
    assert "Traceback" not in err


# --- 11 and 25. a full disk, and numbers out of range --------------------------------------

def test_a_full_disk_is_one_line_before_anything_is_written(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(train_cli, "_free_bytes", lambda path: 4096)
    err = _train_fails(monkeypatch, capsys, tmp_path, "pde=heat", f"hydra.run.dir={tmp_path / 'R'}")
    assert "no space left" in err and not (tmp_path / "R" / ".hydra").exists()


@pytest.mark.parametrize("args", [["pde=wave", "pde.c=1e308"], ["pde=kovasznay", "pde.re=1e308"],
                                  ["pde=burgers", "pde.nu=5e-324"], ["stages.adam.lr=1e308"]])
def test_numbers_out_of_range_are_refused_by_name(monkeypatch, capsys, tmp_path, args):
    err = _train_fails(monkeypatch, capsys, tmp_path, *args)
    key = args[-1].split("=")[0]
    assert f"{key}=" in err and "outside the range" in err


# --- 16. observation files -----------------------------------------------------------------

def _obs_error(path):
    from pinn.physics.observations import ObservationError, load_observations

    with pytest.raises(ObservationError) as info:
        load_observations(path, ["x", "t"])
    return str(info.value)


def test_observation_files_are_refused_with_their_reason(tmp_path):
    import os
    import warnings

    np.savez(tmp_path / "c.npz", x=np.zeros(3), t=np.zeros(3), u=np.ones(3) * (1 + 1j))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy ComplexWarning on the way to the refusal
        assert "complex" in _obs_error(tmp_path / "c.npz")
    (tmp_path / "dup.csv").write_text("x,t,u,u\n0,0,1,2\n")
    assert "more than once" in _obs_error(tmp_path / "dup.csv")
    (tmp_path / "d.csv").mkdir()
    assert "is a directory" in _obs_error(tmp_path / "d.csv")
    os.mkfifo(tmp_path / "f.csv")
    assert "not a regular file" in _obs_error(tmp_path / "f.csv")
    (tmp_path / "long.csv").write_text("x,t,u\n0,0," + "1" * 300_000 + "\n")
    assert "field larger than field limit" in _obs_error(tmp_path / "long.csv")


def test_a_csv_with_a_byte_order_mark_reads(tmp_path):
    from pinn.physics.observations import load_observations

    (tmp_path / "bom.csv").write_bytes("x,t,u\n0.5,0.25,1.5\n".encode("utf-8-sig"))
    obs = load_observations(tmp_path / "bom.csv", ["x", "t"])
    assert obs.points.tolist() == [[0.5, 0.25]] and obs.values.tolist() == [1.5]


# --- 18. tuning sweeps -----------------------------------------------------------------------

def test_a_tuning_sweep_of_no_trials_is_refused(monkeypatch, capsys, tmp_path):
    err = _train_fails(monkeypatch, capsys, tmp_path, "experiment=heat", "hparams_search=heat_optuna",
                       "hydra.sweeper.n_trials=0")
    assert "n_trials must be a positive integer" in err


def test_hparams_search_never_clears_a_run_directory(monkeypatch, capsys, tmp_path):
    run = tmp_path / "R"
    run.mkdir()
    (run / "metrics.json").write_text("{}")
    (run / "checkpoint.pt").write_text("x")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["pinn-train", "experiment=heat", "hparams_search=heat_optuna",
                                      "hydra.sweeper.n_trials=0", f"hydra.run.dir={run}"])
    with pytest.raises(SystemExit):
        train_cli.main()
    assert (run / "metrics.json").exists() and (run / "checkpoint.pt").exists()


@pytest.mark.slow
def test_failed_optuna_trials_count_as_failed_and_the_study_goes_on(tmp_path):
    import os
    import subprocess

    sweep = tmp_path / "opt"
    from pathlib import Path

    out = subprocess.run([str(Path(sys.executable).parent / "pinn-train"),
                          "experiment=heat", "hparams_search=heat_optuna", "hydra.sweeper.n_trials=3",
                          "stages.adam.steps=6", "stages.quasi_newton.steps=2", "plots=false", "threads=1",
                          "points.interior=64", "trainer.nan_at=[3]", "trainer.max_failures=0",
                          f"hydra.sweep.dir={sweep}"], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert "Traceback" not in out.stderr and "Values were told" not in out.stderr, out.stderr[-2000:]
    assert out.returncode == 1 and "3 sweep job(s) failed" in out.stderr.splitlines()[-1], out.stderr[-2000:]
    assert all((sweep / str(k) / "FAILED").exists() for k in range(3))
    assert OmegaConf.load(sweep / "optimization_results.yaml").best_value == float("inf")


def test_pinn_train_takes_one_options_object_and_the_old_keywords_warn(heat_job, tmp_path):
    """Issue 29: pinn.train(job, run_dir, options); the speed switches are one choice."""
    with pytest.raises(ValueError, match="unknown speed 'fast'; choose one of: eager, compile, compile_gradient"):
        pinn.RunOptions(speed="fast")
    with pytest.raises(ValueError, match="exclude each other"):
        pinn.RunOptions.from_legacy(compile=True, compile_gradient=True)
    assert pinn.RunOptions.from_legacy(compile_gradient=True).speed == "compile_gradient"
    with pytest.raises(TypeError, match="options must be a pinn.RunOptions"):
        pinn.train(heat_job, tmp_path / "r", {"plots": False})
    with pytest.raises(TypeError, match="not both"):
        pinn.train(heat_job, tmp_path / "r", pinn.RunOptions(), plots=False)
    with pytest.warns(DeprecationWarning, match=r"keywords \['plots', 'resume'\] are deprecated"), \
            pytest.raises(TypeError, match="resume must be None"):
        pinn.train(heat_job, tmp_path / "r", plots=False, resume="yes")
    assert not (tmp_path / "r").exists()
