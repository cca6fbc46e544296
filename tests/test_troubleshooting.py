"""Issue 34, item 16: the "my problem does not train" page: every command in it composes, and its
error-through-time snippet runs on a finished run."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from pinn.cli.build import run_training
from pinn.cli.train import check_config

DOC = Path(__file__).resolve().parents[1] / "docs" / "troubleshooting.md"


def _commands():
    text = DOC.read_text()
    return [line.split()[1:] for block in re.findall(r"```bash\n(.*?)```", text, re.S)
            for line in block.strip().splitlines() if line.startswith("pinn-train ")]


@pytest.mark.parametrize("overrides", _commands(), ids=lambda o: " ".join(o)[:60])
def test_every_command_of_the_page_composes_and_builds(overrides):
    assert check_config(overrides) is not None


def test_the_error_through_time_snippet_runs_on_a_finished_run(tmp_path, monkeypatch):
    (snippet,) = re.findall(r"<!-- check: error-in-time -->\n```python\n(.*?)```", DOC.read_text(), re.S)
    cfg = check_config(["pde=heat", "stages.adam.steps=20", "stages.quasi_newton.steps=0", "points.interior=200",
                        "points.initial=32", "points.boundary=32", "model.width=8", "model.depth=2", "plots=false",
                        "evaluation.resolution=[21,11]", "threads=1"])
    run_training(cfg, tmp_path / "runs" / "heat")
    out = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) >= 5 and lines[0].startswith("t = 0.000: rel. L2 ")
