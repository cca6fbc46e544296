"""One owner of the run directory (issue 29): RunDir's transitions, each checked on disk."""

import json
import os

import pytest
import torch

from pinn.io import files as io
from pinn.io.errors import RunDirError
from pinn.io.run_dir import OUTPUTS, RunDir


def _snapshot(step):
    return {"model": {"w": torch.full((2,), float(step))}, "trainer": {"step": step}, "points": {},
            "generator": torch.Generator().get_state(), "pde": "heat"}


def test_a_fresh_run_claims_checkpoints_finishes_and_is_then_replaced(tmp_path):
    run = RunDir(tmp_path / "run", keep=2)
    assert run.claim() is False  # nothing to replace
    run.start()
    for step in (5, 10, 15):
        run.checkpoint(step, _snapshot(step), [{"step": step, "loss": 1.0 / step}])
    assert run.checkpoints.steps() == [10, 15]  # the last two (keep=2); the best, 15, among them
    assert (run.path / io.HISTORY).exists() and not run.finished
    run.finish({"rel_l2": 0.5})
    assert run.finished and json.loads((run.path / io.METRICS).read_text())["rel_l2"] == 0.5
    for name in OUTPUTS[:2]:
        (run.path / name).write_text("old")
    (run.path / ".hydra").mkdir()
    run.release()
    again = RunDir(tmp_path / "run")
    assert again.claim() is True  # the finished run is cleared: nothing of it is left
    assert not again.finished and not again.checkpoints.steps() and not (again.path / ".hydra").exists()
    assert not any((again.path / name).exists() for name in OUTPUTS)
    again.release()


def test_an_unfinished_run_is_refused_as_a_fresh_run_and_resumed_with_its_failure_cleared(tmp_path):
    run = RunDir(tmp_path / "run")
    run.claim()
    run.checkpoint(3, _snapshot(3), [{"step": 3, "loss": 0.1}])
    run.fail("RuntimeError: boom")
    assert (run.path / io.FAILED).read_text().strip() == "RuntimeError: boom"
    run.release()
    with pytest.raises(RunDirError, match="holds the checkpoints of an unfinished run"):
        RunDir(tmp_path / "run").claim()
    resumed = RunDir(tmp_path / "run")
    state = resumed.resume()
    assert torch.equal(state["model"]["w"], torch.full((2,), 3.0)) and not (resumed.path / io.FAILED).exists()
    resumed.finish({"rel_l2": 1.0})
    resumed.release()
    with pytest.raises(RunDirError, match="already finished"):
        RunDir(tmp_path / "run").resume()


def test_a_link_where_a_run_writes_is_refused_and_a_new_directory_is_never_shared(tmp_path):
    (tmp_path / "run").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "run" / "plots")
    with pytest.raises(RunDirError, match="is a symbolic link"):
        RunDir(tmp_path / "run").claim()
    a, b = RunDir.new(tmp_path / "new"), RunDir.new(tmp_path / "new")
    assert a.path != b.path and a.path.is_dir() and b.path.is_dir()


def test_a_second_owner_in_another_process_is_refused(tmp_path):
    import subprocess
    import sys

    run = RunDir(tmp_path / "run")
    run.claim()
    code = ("import sys; from pinn.io.run_dir import RunDir\n"
            "try:\n    RunDir(sys.argv[1]).claim()\nexcept Exception as e:\n    print(e); sys.exit(3)\n")
    out = subprocess.run([sys.executable, "-c", code, str(run.path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 3 and "being written by another pinn process" in out.stdout
    run.release()
