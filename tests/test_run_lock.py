"""One writer per run directory: a second pinn-train in a directory being written is refused in
one line, before Hydra writes anything there (#17 cases 3 and 5)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pinn.io.files import RunDirError
from pinn.io.lock import RunLock

# The first run must outlast three refused starts whatever the machine's speed: a time budget, not
# a step count (3,000 steps on the fused engine ended before the third start on an idle machine).
ARGS = ["pde=heat", "stages.adam.steps=1000000", "trainer.max_seconds=40", "stages.quasi_newton.steps=0",
        "points.interior=64",
        "points.initial=16", "points.boundary=16", "model.width=8", "model.depth=2", "plots=false",
        "evaluation.resolution=[11,11]", "checkpoint.every=0"]


def _script(name):
    return str(Path(sys.executable).parent / name)


def test_a_lock_is_exclusive_between_processes_and_released(tmp_path):
    lock = RunLock(tmp_path / "run")
    code = "from pinn.io.lock import RunLock; RunLock(r'%s')" % (tmp_path / "run")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert other.returncode == 1 and f"another pinn process (pid {os.getpid()})" in other.stderr
    lock.release()
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    with pytest.raises(RunDirError, match="cannot lock"):
        RunLock("/proc/none/run")


@pytest.mark.slow
def test_a_second_pinn_train_in_a_directory_being_written_is_refused(tmp_path):
    run_dir = tmp_path / "run"
    first = subprocess.Popen([_script("pinn-train"), *ARGS, f"hydra.run.dir={run_dir}"], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:  # training has begun: Hydra has saved the config (and opened its log) by then
            log = run_dir / "train.log"
            if log.exists() and "training " in log.read_text(errors="replace"):
                break
            time.sleep(0.2)
        assert (run_dir / "train.log").exists(), first.stderr.read() if first.poll() is not None else "not started"
        config = (run_dir / ".hydra" / "config.yaml").read_bytes()
        # quoted and ++ forms of the directory name the same run: each is refused before Hydra writes
        for form in (f"hydra.run.dir={run_dir}", f"hydra.run.dir='{run_dir}'", f"++hydra.run.dir={run_dir}"):
            second = subprocess.run([_script("pinn-train"), *ARGS, "seed=1", form], cwd=tmp_path,
                                    capture_output=True, text=True, timeout=120)
            assert second.returncode == 2, (form, second.stderr)
            lines = second.stderr.strip().splitlines()
            assert len(lines) == 1 and "is being written by another pinn process" in lines[0], (form, lines)
            assert (run_dir / ".hydra" / "config.yaml").read_bytes() == config  # the first run's record stands
    finally:
        out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-2000:]
    assert (run_dir / "metrics.json").exists()


def test_a_sweep_over_a_directory_with_an_unfinished_run_is_refused_before_hydra_writes(tmp_path):
    """Issue 17, case 5, for -m: the refusal comes before any job's config is written."""
    from pinn.cli.build import run_training
    from pinn.cli.train import check_config

    sweep = tmp_path / "sw"
    cfg = check_config(["pde=heat", "stages.adam.steps=4", "stages.quasi_newton.steps=0", "points.interior=32",
                        "plots=false", "checkpoint.every=2", "threads=1"])
    run_training(cfg, sweep / "1")
    (sweep / "1" / "metrics.json").unlink()  # as if killed: checkpoints, no metrics
    (sweep / "1" / ".hydra").mkdir()
    (sweep / "1" / ".hydra" / "config.yaml").write_text("the unfinished run's config\n")
    out = subprocess.run([_script("pinn-train"), "-m", "pde=burgers", "seed=0,1", f"hydra.sweep.dir={sweep}"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "holds an unfinished run in 1/" in out.stderr
    assert (sweep / "1" / ".hydra" / "config.yaml").read_text() == "the unfinished run's config\n"
    assert not (sweep / "0").exists()
