"""A run directory is data, never code: evaluating a run from elsewhere imports and calls
nothing it names, and a checkpoint is only resumed under the config it was written for."""

import json
import shutil
import sys

import pytest
from omegaconf import OmegaConf

from pinn.io import files as io
from pinn.io.checkpoints import CheckpointDir
from pinn.cli import evaluate as eval_cli
from pinn.cli import train as train_cli
from pinn.cli.build import build_pde, run_training
from pinn.cli.targets import instantiate_checked
from pinn.pdes import PDE

TINY = ["stages.adam.steps=6", "stages.quasi_newton.steps=4", "stages.quasi_newton.chunk=2", "stages.adam.log_every=3",
        "points.interior=64", "points.initial=16", "points.boundary=16", "model.width=8", "model.depth=2",
        "evaluation.resolution=[21,11]", "plots=false", "checkpoint.every=3"]


@pytest.fixture(scope="module")
def heat_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("heat") / "run"
    cfg = train_cli.check_config([*TINY, "pde=heat"])
    run_training(cfg, run_dir)
    (run_dir / ".hydra").mkdir()
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")
    return run_dir


def _edit_pde(run_dir, edit):
    path = run_dir / ".hydra" / "config.yaml"
    cfg = OmegaConf.to_container(OmegaConf.load(path))
    edit(cfg["pde"])
    OmegaConf.save(OmegaConf.create(cfg), path)


def _forget_config(path):
    """Drop the config hash a finished run records in ``metrics.json`` or ``checkpoint.pt``."""
    if path.suffix == ".json":
        data = json.loads(path.read_text())
        data.pop("config_sha256", None)
        path.write_text(json.dumps(data))
    else:
        state = io.load_checkpoint(path)
        state.pop("config_sha256", None)
        state.pop("checksum", None)
        io.save_checkpoint(path, state)


def _eval_fails(run_dir, capsys, *extra):
    with pytest.raises(SystemExit) as exit_info:
        eval_cli.main([str(run_dir), *extra])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pinn-eval: error: ") and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert not (run_dir / "eval").exists()
    return err


def test_eval_never_runs_a_source_file_that_the_run_names(heat_run, tmp_path, capsys):
    marker = tmp_path / "owned.txt"
    evil = tmp_path / "evil.py"
    evil.write_text(f"from pathlib import Path\nPath({str(marker)!r}).write_text('owned')\n"
                    "from pinn.pdes import Heat\nclass Evil(Heat):\n    pass\n")
    run = shutil.copytree(heat_run, tmp_path / "run")
    _edit_pde(run, lambda pde: pde.update(source=str(evil), _target_="evil.Evil"))
    err = _eval_fails(run, capsys)
    assert "'evil.Evil' is not a pinn class" in err and "--source" in err
    assert not marker.exists() and "evil" not in sys.modules


def test_eval_ignores_the_runs_source_key_for_a_builtin_target(heat_run, tmp_path, capsys):
    marker = tmp_path / "owned.txt"
    evil = tmp_path / "evil2.py"
    evil.write_text(f"from pathlib import Path\nPath({str(marker)!r}).write_text('owned')\n")
    run = shutil.copytree(heat_run, tmp_path / "run")
    _edit_pde(run, lambda pde: pde.update(source=str(evil)))
    eval_cli.main([str(run)])  # evaluates the built-in heat PDE
    assert (run / "eval" / "metrics.json").exists()
    assert not marker.exists()


def test_eval_calls_no_callable_that_the_run_names(heat_run, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = shutil.copytree(heat_run, tmp_path / "run")
    payload = {"_target_": "pathlib.Path.write_text",
               "_args_": [{"_target_": "pathlib.Path", "_args_": [str(tmp_path / "owned.txt")]}, "owned"]}
    path = run / ".hydra" / "config.yaml"
    cfg = OmegaConf.to_container(OmegaConf.load(path))
    cfg["pde"] = payload
    OmegaConf.save(OmegaConf.create(cfg), path)
    err = _eval_fails(run, capsys)
    assert "not a pinn class" in err
    assert not (tmp_path / "owned.txt").exists()


def test_a_user_file_named_on_the_command_line_is_trusted(heat_run, tmp_path, capsys):
    mine = tmp_path / "mine_heat.py"
    mine.write_text("from pinn.pdes import Heat\nclass MyHeat(Heat):\n    pass\n")
    run = shutil.copytree(heat_run, tmp_path / "run")
    _edit_pde(run, lambda pde: pde.update(_target_="mine_heat.MyHeat", source="/nowhere/mine_heat.py"))
    # the edited config is no longer the one the run recorded: evaluation refuses the mix ...
    with pytest.raises(SystemExit):
        eval_cli.main([str(run), "--source", str(mine)])
    assert "mixes two runs" in capsys.readouterr().err
    # ... and, as a run trained under it (no record to disagree with), evaluates it with the user's file
    for name in ("metrics.json", "checkpoint.pt"):
        _forget_config(run / name)
    eval_cli.main([str(run), "--source", str(mine)])
    assert (run / "eval" / "metrics.json").exists()


@pytest.mark.parametrize("node,message", [
    ({"_target_": "pathlib.Path.write_text"}, "must name a pinn.pdes.base.PDE subclass"),
    ({"_target_": "os.system"}, "must name a pinn.pdes.base.PDE subclass"),
    ({"_target_": "pinn.pdes.Heat", "alpha": {"_target_": "builtins.float", "_args_": ["1"]}},
     "nested instantiation is not allowed"),
    ({"_target_": "pinn.pdes.Heat", "_args_": [1]}, "pde._args_ is not supported"),
    ({"_target_": "no.such.Thing"}, "cannot find 'no.such.Thing'"),
])
def test_even_a_trusted_config_calls_only_pde_classes_with_plain_values(node, message):
    with pytest.raises(ValueError, match=message):
        instantiate_checked(node, PDE, key="pde", trusted=True)


def test_training_refuses_a_non_pde_target_before_calling_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["pinn-train", "pde._target_=pathlib.Path.touch"])
    with pytest.raises(SystemExit) as exit_info:
        train_cli.main()
    assert exit_info.value.code == 2
    assert "must name a pinn.pdes.base.PDE subclass" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_checkpoint_is_not_resumed_under_another_pdes_config(heat_run):
    state = CheckpointDir(heat_run / "checkpoints").load_latest()
    burgers = train_cli.check_config([*TINY, "pde=burgers"])
    with pytest.raises(ValueError, match="written for the PDE 'heat', but this run's is 'burgers'"):
        run_training(burgers, heat_run.parent / "other", resume=state)
    hotter = train_cli.check_config([*TINY, "pde=heat", "pde.alpha=0.9"])
    with pytest.raises(ValueError, match=r"other PDE settings \(pde.alpha differ\)"):
        run_training(hotter, heat_run.parent / "other", resume=state)
    wider = train_cli.check_config([*TINY, "pde=heat", "model.width=9"])
    with pytest.raises(ValueError, match="network does not match"):
        run_training(wider, heat_run.parent / "other", resume=state)


def test_eval_refuses_a_checkpoint_of_another_pde(heat_run, tmp_path, capsys):
    run = shutil.copytree(heat_run, tmp_path / "run")
    _edit_pde(run, lambda pde: (pde.clear(), pde.update(_target_="pinn.pdes.Wave")))
    err = _eval_fails(run, capsys)
    assert "written for the PDE 'heat'" in err and "mixes two runs" in err


def test_build_pde_untrusted_only_resolves_pinn_names(tmp_path):
    cfg = OmegaConf.create({"pde": {"_target_": "pinn.pdes.Heat", "alpha": 0.3}})
    assert build_pde(cfg, trusted=False).alpha == 0.3
