"""Reliability (issue 17, case 12): a read-only run directory, in train, eval, plot, compare and
resume, ends with one line that says it is not writable and how to write elsewhere.

The directory is made read-only with ``chmod`` for an ordinary user; root ignores modes, so as
root it is made immutable (``chattr +i``) instead, and the test is skipped where neither works.
"""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

TINY = ["pde=heat", "stages.adam.steps=6", "stages.quasi_newton.steps=2", "stages.quasi_newton.chunk=2",
        "points.interior=64", "points.initial=16", "points.boundary=16", "model.width=8", "model.depth=2",
        "evaluation.resolution=[21,11]", "plots=false", "threads=1", "checkpoint.every=3"]


def _tool(name, *args, cwd):
    return subprocess.run([str(Path(sys.executable).parent / name), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def _lock(path: Path, on: bool) -> bool:
    """Make ``path`` and everything in it read-only (``on``) or writable again; False if it cannot."""
    if os.geteuid() != 0:
        for p in [path, *path.rglob("*")]:
            mode = p.stat().st_mode
            p.chmod(mode & ~0o222 if on else mode | stat.S_IWUSR)
        return True
    if shutil.which("chattr") is None:
        return False
    done = subprocess.run(["chattr", "-R", "+i" if on else "-i", str(path)], capture_output=True)
    return done.returncode == 0


@pytest.fixture
def read_only(tmp_path):
    locked = []

    def make(path):
        if not _lock(path, True):
            pytest.skip("cannot make a directory read-only here (root without chattr +i)")
        locked.append(path)
        try:
            (path / "probe").write_text("x")
        except OSError:
            return path
        pytest.skip("the directory stays writable here")

    yield make
    for path in locked:
        _lock(path, False)


def _one_line(done):
    err = done.stderr.strip()
    assert done.returncode in (1, 2) and len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_read_only_run_directories_are_one_line(tmp_path, read_only):
    finished, unfinished = tmp_path / "finished", tmp_path / "unfinished"
    done = _tool("pinn-train", *TINY, f"hydra.run.dir={finished}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    shutil.copytree(finished, unfinished)
    (unfinished / "metrics.json").unlink()  # as if it had been killed before evaluating
    (tmp_path / "parent").mkdir()
    for d in (finished, unfinished, tmp_path / "parent"):
        read_only(d)
    for tool, args, where in [("pinn-eval", [finished], "--out"), ("pinn-plot", [finished], "--out"),
                              ("pinn-compare", [finished], "--out"),
                              ("pinn-train", [f"resume={unfinished}"], "hydra.run.dir"),
                              ("pinn-train", [*TINY, f"hydra.run.dir={tmp_path / 'parent' / 'new'}"], "hydra.run.dir")]:
        err = _one_line(_tool(tool, *args, cwd=tmp_path))
        assert "not writable" in err and where in err, (tool, err)
    # and writing elsewhere works
    out = tmp_path / "elsewhere"
    assert _tool("pinn-eval", finished, "--out", out, cwd=tmp_path).returncode == 0
    assert (out / "metrics.json").exists()
