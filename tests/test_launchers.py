"""Hydra launcher configs: SLURM (submitit) composes and resolves; joblib runs a local sweep."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from pinn.cli.config import CONF_DIR, register_configs

SLURM = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"


def _hydra_cfg(*overrides):
    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=list(overrides), return_hydra_config=True)
    cfg.hydra.sweep.dir = "multirun/sweep"  # ${now:} needs a running Hydra app
    cfg.hydra.job.name = "train"
    return OmegaConf.to_container(cfg.hydra.launcher, resolve=True)


@pytest.mark.parametrize("launcher", ["submitit_slurm", "slurm"])
def test_slurm_launcher_config_composes_and_resolves(launcher):
    cfg = _hydra_cfg(f"hydra/launcher={launcher}", "hydra.launcher.partition=gpu", "hydra.launcher.timeout_min=30")
    assert cfg["_target_"] == SLURM
    assert cfg["partition"] == "gpu" and cfg["timeout_min"] == 30
    assert cfg["submitit_folder"] == "multirun/sweep/.submitit/%j"


def test_pinn_slurm_preset_sets_resources_and_thread_count():
    cfg = _hydra_cfg("hydra/launcher=slurm", "hydra.launcher.cpus_per_task=8")
    assert cfg["tasks_per_node"] == 1 and cfg["mem_gb"] == 8
    assert cfg["setup"] == ["export OMP_NUM_THREADS=8"]


def test_the_slurm_launcher_can_be_built_without_a_cluster(tmp_path):
    from hydra.utils import instantiate

    launcher = instantiate(_hydra_cfg("hydra/launcher=slurm"))
    assert type(launcher).__name__ == "SlurmLauncher"


def test_a_misspelt_launcher_lists_the_choices():
    out = subprocess.run([str(Path(sys.executable).parent / "pinn-train"), "-m", "hydra/launcher=slurmm"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "slurm" in out.stderr and "submitit_slurm" in out.stderr


@pytest.mark.slow
def test_joblib_launcher_runs_a_parallel_sweep(tmp_path):
    args = ["pde=heat", "stages.adam.steps=20", "stages.quasi_newton.steps=5", "points.interior=128",
            "points.initial=32", "points.boundary=32", "model.width=8", "model.depth=2", "plots=false",
            "evaluation.resolution=[11,11]"]
    out = subprocess.run([str(Path(sys.executable).parent / "pinn-train"), "-m", "hydra/launcher=joblib",
                          "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={tmp_path / 'sweep'}", "seed=0,1", *args],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    errors = [json.loads((tmp_path / "sweep" / str(i) / "metrics.json").read_text())["rel_l2"] for i in (0, 1)]
    assert errors[0] != errors[1]  # two seeds, two runs
    assert "Joblib.Parallel(n_jobs=2" in out.stderr + out.stdout
