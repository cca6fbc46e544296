"""Reliability (issue 17, cases 12 and 13): what used to end in a traceback, or was accepted and
failed late, now ends with one line on stderr before anything is trained."""

import json
import shutil
import sys

import numpy as np
import pytest
from omegaconf import OmegaConf

from pinn.cli import compare as compare_cli
from pinn.cli import evaluate as eval_cli
from pinn.cli import plot as plot_cli
from pinn.cli import train as train_cli
from pinn.cli.build import run_training

TINY = ["stages.adam.steps=6", "stages.quasi_newton.steps=4", "stages.quasi_newton.chunk=2", "stages.adam.log_every=3",
        "points.interior=64", "points.initial=16", "points.boundary=16", "model.width=8", "model.depth=2",
        "evaluation.resolution=[21,11]", "plots=false", "checkpoint.every=3", "threads=1"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("heat") / "run"
    cfg = train_cli.check_config([*TINY, "pde=heat"])
    run_training(cfg, run_dir)
    (run_dir / ".hydra").mkdir()
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")
    OmegaConf.save(OmegaConf.create(["pde=heat"]), run_dir / ".hydra" / "overrides.yaml")
    return run_dir


def _one_line(capsys, call, codes=(1, 2)):
    """Run a tool's main, which must exit with one of ``codes`` and one stderr line, no traceback."""
    with pytest.raises(SystemExit) as info:
        call()
    err = capsys.readouterr().err.strip()
    assert info.value.code in codes, err
    assert len(err.splitlines()) == 1 and ": error: " in err and "Traceback" not in err, err
    return err


def _train(monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "argv", ["pinn-train", *args])
    return _one_line(capsys, train_cli.main)


def test_a_broken_or_odd_config_yaml_is_one_line(run, tmp_path, capsys):
    bad = tmp_path / "bad"
    shutil.copytree(run, bad)
    (bad / ".hydra" / "config.yaml").write_text("pde: [unclosed\n")
    assert "is not a pinn config" in _one_line(capsys, lambda: eval_cli.main([str(bad)]))
    (bad / ".hydra" / "config.yaml").unlink()
    (bad / ".hydra" / "config.yaml").mkdir()
    assert "is not a pinn config" in _one_line(capsys, lambda: eval_cli.main([str(bad)]))


def test_out_naming_a_file_is_one_line(run, tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert "afile" in _one_line(capsys, lambda: eval_cli.main([str(run), "--out", str(tmp_path / "afile")]))


def test_pinn_plot_with_predictions_of_the_wrong_shape_is_one_line(run, tmp_path, capsys):
    bad = tmp_path / "shape"
    shutil.copytree(run, bad)
    with np.load(bad / "predictions.npz") as p:
        arrays = dict(p)
    arrays["u_pred"] = arrays["u_pred"][:3]
    np.savez(bad / "predictions.npz", **arrays)
    _one_line(capsys, lambda: plot_cli.main([str(bad)]))


@pytest.mark.parametrize("content", ["[]", "{}", '{"rel_l2": "abc"}'])
def test_pinn_compare_lists_a_run_with_odd_metrics_as_failed(run, tmp_path, capsys, content):
    sweep = tmp_path / "sw"
    shutil.copytree(run, sweep / "0")
    shutil.copytree(run, sweep / "1")
    (sweep / "1" / "metrics.json").write_text(content)
    compare_cli.main([str(sweep)])
    out = capsys.readouterr().out
    assert "1 of 2 runs finished" in out and "failed:" in out and "metrics.json" in out
    # a truncated predictions.npz: the run stays in the tables, out of the solutions plot
    (sweep / "0" / "predictions.npz").write_bytes((sweep / "0" / "predictions.npz").read_bytes()[:100])
    (sweep / "1" / "metrics.json").write_text(json.dumps(json.loads((sweep / "0" / "metrics.json").read_text())))
    compare_cli.main([str(sweep)])
    assert "unreadable predictions.npz" in capsys.readouterr().out


def test_refused_before_training(monkeypatch, capsys, tmp_path):
    err = _train(monkeypatch, capsys, "pde=heat", "pde.learn=[alpha]", "pde.learn_init=[-1]", "data.samples=50",
                 f"hydra.run.dir={tmp_path / 'a'}")
    assert "pde.learn_init=[-1] is not a valid starting guess" in err and "alpha must be > 0" in err
    err = _train(monkeypatch, capsys, "pde=burgers", "pde.nu=1e-30", f"hydra.run.dir={tmp_path / 'b'}")
    assert "too small for the exact reference" in err
    np.savez(tmp_path / "obs.npz", x=np.array([0.1, 3.0]), t=np.array([0.1, 0.2]), u=np.array([0.0, 0.1]))
    err = _train(monkeypatch, capsys, "pde=heat", f"data.path={tmp_path / 'obs.npz'}", f"hydra.run.dir={tmp_path / 'c'}")
    assert "1 of 2 observations lie outside the domain" in err
    err = _train(monkeypatch, capsys, "pde=heat", "model.width=1000000", "model.depth=2", f"hydra.run.dir={tmp_path / 'd'}")
    assert "out of memory" in err and "model.width" in err
    err = _train(monkeypatch, capsys, "pde=heat", f"hydra.run.dir={tmp_path / ('x' * 300)}", *TINY)
    assert "File name too long" in err
    assert not any((tmp_path / n).exists() for n in "abcd")


def test_a_full_disk_stops_with_one_line_keeps_the_last_checkpoint_and_resumes_identically(tmp_path, monkeypatch,
                                                                                          capsys):
    """Issue 17, case 11, with the disk's free space simulated: it runs out at the third checkpoint."""
    import collections

    import pinn.io.files as files

    args = ["pde=heat", *TINY, "stages.adam.steps=12", "stages.quasi_newton.steps=0", "checkpoint.every=4"]
    monkeypatch.chdir(tmp_path)
    ref = run_training(train_cli.check_config(args), tmp_path / "ref")
    real = files.shutil.disk_usage
    calls = {"n": 0}
    Usage = collections.namedtuple("Usage", "total used free")

    def filling(path):
        calls["n"] += 1
        return Usage(1 << 40, 1 << 40, 0) if calls["n"] >= 3 else real(path)

    monkeypatch.setattr(files.shutil, "disk_usage", filling)
    run_dir = tmp_path / "run"
    err = _train(monkeypatch, capsys, *args, f"hydra.run.dir={run_dir}")
    assert "No space left on device" in err and f"pinn-train resume={run_dir}" in err
    assert not (run_dir / "FAILED").exists() and not list(run_dir.rglob("*.tmp"))
    steps = sorted(p.name for p in (run_dir / "checkpoints").glob("step-*.pt"))
    assert steps == ["step-000000004.pt", "step-000000008.pt"]  # the last good ones, whole
    monkeypatch.setattr(files.shutil, "disk_usage", real)  # space freed
    monkeypatch.setattr(sys, "argv", ["pinn-train", f"resume={run_dir}"])
    train_cli.main()
    resumed = json.loads((run_dir / "metrics.json").read_text())
    for key in ("rel_l2", "final_loss", "adam_steps"):
        assert resumed[key] == ref[key], key


def test_a_resume_may_change_how_the_run_is_evaluated_but_nothing_it_trains(tmp_path, monkeypatch, capsys):
    """Issue 17, case 13: a huge evaluation grid refused at the end can be fixed on resume."""
    args = ["pde=heat", *TINY, "stages.adam.steps=8", "stages.quasi_newton.steps=0", "checkpoint.every=4"]
    run_dir = tmp_path / "run"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["pinn-train", *args, f"hydra.run.dir={run_dir}"])
    train_cli.main()
    (run_dir / "metrics.json").unlink()  # as if killed at the end
    err = _train(monkeypatch, capsys, f"resume={run_dir}", "seed=3")
    assert "drop the other arguments ['seed=3']" in err and "evaluation.*" in err
    monkeypatch.setattr(sys, "argv", ["pinn-train", f"resume={run_dir}", "evaluation.resolution=[7,5]", "plots=false"])
    train_cli.main()
    with np.load(run_dir / "predictions.npz") as p:
        assert p["u_pred"].shape == (7, 5)
    assert eval_cli.main([str(run_dir)]) is None  # the parts agree: evaluation settings are not in the hash
