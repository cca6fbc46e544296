"""The package stack is enforced (import-linter, configured in setup.cfg): the contracts hold on
the tree, and an upward import or a Hydra import below the CLI breaks them."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).parent / "lint-imports"


def _lint(root: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.run([str(LINT), str(root / "setup.cfg")], cwd=root, capture_output=True, text=True, env=env,
                          timeout=300)


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    shutil.copytree(REPO / "pinn", root / "pinn", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "setup.cfg", root / "setup.cfg")
    return root


def test_the_tree_keeps_its_contracts():
    out = _lint(REPO)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "2 kept, 0 broken" in out.stdout


@pytest.mark.parametrize("module, line, broken", [
    ("pinn/geometry/base.py", "import pinn.cli.compose", "each package imports only the packages below it"),
    ("pinn/physics/terms.py", "from pinn.pdes import base", "each package imports only the packages below it"),
    ("pinn/training/job.py", "import omegaconf", "only the command-line layer imports Hydra and OmegaConf"),
])
def test_an_upward_import_breaks_the_contract(tmp_path, module, line, broken):
    root = _copy(tmp_path)
    path = root / module
    path.write_text(path.read_text() + f"\n{line}  # noqa: E402\n")
    out = _lint(root)
    assert out.returncode != 0, out.stdout[-2000:]
    assert f"{broken} BROKEN" in out.stdout, out.stdout[-3000:]
    assert module.replace("/", ".")[:-3] in out.stdout  # the copy was analysed: the import exists only there
