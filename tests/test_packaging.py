"""The package as a user installs it: a wheel, in a fresh environment, run from elsewhere."""

import re
import configparser
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import pinn

REPO = Path(__file__).resolve().parents[1]


def _setup_cfg():
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    return cfg


def test_setup_cfg_lists_every_package_under_pinn():
    listed = set(_setup_cfg()["options"]["packages"].split())
    on_disk = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "pinn").rglob("__init__.py")}
    assert on_disk | {"pinn.conf"} == listed


def test_version_and_a_small_public_api():
    from pinn._version import __version__

    assert pinn.__version__ == __version__ and re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+)?", __version__)
    assert "__version__" in pinn.__all__ and len(pinn.__all__) <= 40
    assert all(hasattr(pinn, name) for name in pinn.__all__)


def _run(args, cwd, timeout=600):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PYTHONUNBUFFERED="1", XDG_CACHE_HOME=str(Path(cwd).parent / "cache"))  # the reference cache
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, timeout=timeout)


@pytest.mark.slow
def test_the_wheel_installs_in_a_fresh_venv_and_trains_from_another_directory(tmp_path):
    # Build from a copy, so the test writes nothing into the checkout.
    src = tmp_path / "src"
    shutil.copytree(REPO, src, symlinks=True,
                    ignore=shutil.ignore_patterns(".git", ".venv*", "runs", "multirun", "outputs", "build",
                                                  "*.egg-info", "__pycache__", ".pytest_cache"))
    out = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                str(tmp_path / "dist"), str(src)], tmp_path)
    assert out.returncode == 0, out.stderr
    (wheel,) = (tmp_path / "dist").glob("pinn_torch-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("pinn/conf/config.yaml", "pinn/conf/pde/burgers.yaml", "pinn/conf/experiment/heat.yaml",
                     "pinn/conf/hydra/launcher/slurm.yaml", "pinn/pdes/allen_cahn.py",
                     "pinn/pdes/data/poisson1_cg_data.dat", "pinn/pdes/data/lid_driven_a4.dat",
                     "pinn/pdes/data/PINNACLE_LICENSE"):
        assert required in names, required
    assert not any(n.startswith("pinn/conf/experiment/") and not n.endswith(".yaml") for n in names)

    # A fresh venv holding the wheel alone; its dependencies (torch, hydra, ...) come from this
    # environment's site-packages through a .pth file, so no download is needed.
    venv = tmp_path / "venv"
    out = _run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    assert out.returncode == 0, out.stderr
    py = venv / "bin" / "python"
    out = _run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], tmp_path)
    assert out.returncode == 0, out.stderr
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path)
                .stdout.strip())
    (site / "zz_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    work = tmp_path / "work"
    work.mkdir()
    out = _run([str(py), "-c", "import pinn; print(pinn.__file__)"], work)
    assert out.stdout.strip().startswith(str(site)), out.stdout + out.stderr  # the wheel, not the checkout
    out = _run([str(venv / "bin" / "pinn-train"), "--help"], work)
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    for choice in ("pde=poisson", "experiment=heat", "pde=allen_cahn", "pde=poisson2d_c"):
        run_dir = work / "runs" / choice.replace("=", "-")
        out = _run([str(venv / "bin" / "pinn-train"), choice, "stages.adam.steps=5", "stages.quasi_newton.steps=2",
                    "points.interior=64", "points.initial=16", "points.boundary=16", "plots=false",
                    f"hydra.run.dir={run_dir}", "evaluation.resolution=[11,11]"], work)
        assert out.returncode == 0, out.stderr
        assert json.loads((run_dir / "metrics.json").read_text())["adam_steps"] == 5
    out = _run([str(venv / "bin" / "pinn-eval"), str(work / "runs" / "pde-poisson")], work)
    assert out.returncode == 0, out.stderr
