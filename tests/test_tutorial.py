"""Follow docs/adding-a-pde.md literally in an empty directory: write its files, run its command."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "adding-a-pde.md"
TINY = ["stages.adam.steps=100", "stages.quasi_newton.steps=100", "points.interior=500", "plots=false",
        "evaluation.resolution=[41,41]"]


def _blocks():
    text = DOC.read_text()
    files = dict(re.findall(r"<!-- file: (\S+) -->\n```\w*\n(.*?)```", text, re.S))
    (command,) = re.findall(r"<!-- run -->\n```bash\n(.*?)```", text, re.S)
    (system,) = re.findall(r"<!-- run: system -->\n```bash\n(.*?)```", text, re.S)
    files["__system__"] = system.strip()
    checks = re.findall(r"## 4\. Check it.*?```python\n(.*?)```", text, re.S)
    return files, command.strip(), checks[0]


@pytest.mark.slow
def test_tutorial_works_in_a_clean_directory(tmp_path):
    files, command, check = _blocks()
    files.pop("__system__")
    assert {"advection.py", "conf/pde/advection.yaml"} <= set(files)
    for name, body in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body)
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ["PATH"])
    out = subprocess.run(["bash", "-c", command + " " + " ".join(TINY)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    metrics = json.loads((tmp_path / "runs" / "advection" / "metrics.json").read_text())
    # u = 0 (and an untrained network) give about 1; this short run reaches 6.1e-2
    assert metrics["pde"] == "advection" and metrics["rel_l2"] < 0.2
    assert not any(p.name == "advection.py" for p in (Path(__file__).parents[1] / "pinn").rglob("*.py"))

    out = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, env=dict(env, PYTHONPATH="."),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr

    bad = subprocess.run(["bash", "-c", command.replace("pde=advection", "pde=advection pde.a=-1")], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "a must be > 0" in bad.stderr


@pytest.mark.slow
def test_the_two_field_system_of_the_tutorial_trains(tmp_path):
    files, _, _ = _blocks()
    command = files.pop("__system__")
    assert {"cauchy.py", "conf/pde/cauchy.yaml"} <= set(files)
    for name, body in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body)
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    out = subprocess.run(["bash", "-c", command + " " + " ".join(TINY)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    metrics = json.loads((tmp_path / "runs" / "cauchy" / "metrics.json").read_text())
    # u = 0 gives 1, an untrained network about as much; this short run reaches about 1e-3
    assert metrics["rel_l2"] < 0.05 and metrics["rel_l2_u"] < 0.05 and metrics["rel_l2_v"] < 0.05, metrics
    header = (tmp_path / "runs" / "cauchy" / "history.csv").read_text().splitlines()[0].split(",")
    assert {"cauchy_riemann_1", "cauchy_riemann_2", "outer_u", "outer_v", "hole_u"} <= set(header)
    with np.load(tmp_path / "runs" / "cauchy" / "predictions.npz") as saved:  # the hole is left out
        x, y = np.meshgrid(saved["x"], saved["y"], indexing="ij")
        hole = np.hypot(x - 0.5, y - 0.5) < 0.2 - 1e-9
        assert hole.any() and np.isnan(saved["u_ref"][hole]).all() and not np.isnan(saved["u_ref"][~hole]).any()
    (tmp_path / "cauchy.py").write_text((tmp_path / "cauchy.py").read_text().replace('"v_y")', '"w_y")'))
    bad = subprocess.run(["bash", "-c", command.replace("runs/cauchy", "runs/bad")], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "names no field of this PDE: its fields are ['u', 'v']" in bad.stderr, bad.stderr
    assert not (tmp_path / "runs" / "bad").exists()


@pytest.mark.slow
def test_the_table_scored_pde_of_the_tutorial_is_scored_at_its_nodes(tmp_path):
    """Issue 34, item 15: a public nodes() example (read_table, table_nodes), run as written."""
    text = DOC.read_text()
    files = dict(re.findall(r"<!-- file: (\S+) -->\n```\w*\n(.*?)```", text, re.S))
    (command,) = re.findall(r"<!-- run: table -->\n```bash\n(.*?)```", text, re.S)
    for name in ("laplace_table.py", "make_table.py", "conf/pde/laplace_table.yaml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(files[name])
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    out = subprocess.run(["bash", "-c", command.strip() + " " + " ".join(TINY[:-1])], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    metrics = json.loads((tmp_path / "runs" / "table" / "metrics.json").read_text())
    # u = 0 gives 1 (an untrained network about as much); this short run reaches about 1e-2
    assert metrics["resolution"] == "reference nodes" and metrics["rel_l2"] < 0.2, metrics
    with np.load(tmp_path / "runs" / "table" / "predictions.npz") as saved:
        assert saved["x"].shape == (400,) and saved["layout"] == "nodes"


def test_the_notch_of_the_csg_note_leaves_its_mouth_open():
    """The docs' note on coincident faces: the boundary of a notch cut from an edge (measure 4.4, no
    point on the mouth, normals into the notch)."""
    import torch

    from pinn.geometry import Rectangle

    for top in (1.0, 1.1):
        g = Rectangle([0, 0], [1, 1]) - Rectangle([0.4, 0.8], [0.6, top])
        s = g.sample_boundary(20000, generator=torch.Generator().manual_seed(0))
        p = s.points
        assert not ((p[:, 1] > 1 - 1e-12) & (p[:, 0] > 0.4 + 1e-9) & (p[:, 0] < 0.6 - 1e-9)).any()
        assert g.measure_of() == pytest.approx(4.4, rel=1e-3)
        left = (abs(p[:, 0] - 0.4) < 1e-12) & (p[:, 1] > 0.8) & (p[:, 1] < 1)
        assert left.any() and bool((s.normals[left] == torch.tensor([1.0, 0.0], dtype=torch.float64)).all())
