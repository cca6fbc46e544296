"""Kill a real pinn-train process, resume it, and compare with the run left alone."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

ARGS = ["pde=heat", "stages.adam.steps=40", "stages.quasi_newton.steps=30", "stages.quasi_newton.chunk=5", "stages.adam.log_every=5",
        "points.interior=256", "points.initial=32", "points.boundary=32", "model.width=16", "model.depth=3",
        "evaluation.resolution=[41,21]", "checkpoint.every=5", "checkpoint.keep=2", "plots=false"]
SAME = ["rel_l2", "max_abs_error", "final_loss", "adam_steps", "lbfgs_steps", "failures"]


def _script(name):
    return str(Path(sys.executable).parent / name)


def _train(run_dir, *extra, cwd):
    return subprocess.run([_script("pinn-train"), f"hydra.run.dir={run_dir}", *ARGS, *extra], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def _newest_step(run_dir):
    ckpts = sorted((run_dir / "checkpoints").glob("step-*.pt"))
    return int(ckpts[-1].stem.split("-")[1]) if ckpts else -1


def _start_and_kill(run_dir, at_step, cwd, sig=signal.SIGKILL):
    proc = subprocess.Popen([_script("pinn-train"), f"hydra.run.dir={run_dir}", *ARGS], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while _newest_step(run_dir) < at_step:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"run ended before step {at_step}: {proc.communicate()[1][-2000:]}")
        time.sleep(0.01)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, err


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ref")
    out = _train(tmp / "run", cwd=tmp)
    assert out.returncode == 0, out.stderr
    return tmp / "run"


def _assert_same(run_dir, reference):
    a = json.loads((run_dir / "metrics.json").read_text())
    b = json.loads((reference / "metrics.json").read_text())
    assert {k: a[k] for k in SAME} == {k: b[k] for k in SAME}
    with np.load(run_dir / "predictions.npz") as pa, np.load(reference / "predictions.npz") as pb:
        np.testing.assert_array_equal(pa["u_pred"], pb["u_pred"])
    def hist(d):
        return [line.split(",")[:-1] for line in (d / "history.csv").read_text().splitlines()]

    assert hist(run_dir) == hist(reference)  # every logged loss, not the wall-clock column


# Kill points: inside Adam, right after the switch to L-BFGS (step 40), inside L-BFGS.
@pytest.mark.parametrize("at_step", [12, 40, 55])
def test_sigkill_then_resume_is_bit_identical(at_step, reference, tmp_path):
    run_dir = tmp_path / "run"
    code, _ = _start_and_kill(run_dir, at_step, tmp_path)
    assert code == -signal.SIGKILL
    assert not (run_dir / "metrics.json").exists()
    out = subprocess.run([_script("pinn-train"), f"resume={run_dir}"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert "resuming heat at step" in out.stderr
    _assert_same(run_dir, reference)
    assert len(list((run_dir / "checkpoints").glob("step-*.pt"))) <= 3  # keep=2, plus the best


def test_sigterm_checkpoints_and_says_how_to_resume(reference, tmp_path):
    run_dir = tmp_path / "run"
    code, err = _start_and_kill(run_dir, 20, tmp_path, sig=signal.SIGTERM)
    assert code == 130
    assert f"continue with: pinn-train resume={run_dir}" in err.strip().splitlines()[-1]
    out = subprocess.run([_script("pinn-train"), f"resume={run_dir}"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    _assert_same(run_dir, reference)


def test_corrupt_newest_checkpoint_falls_back_to_the_previous_one(reference, tmp_path):
    run_dir = tmp_path / "run"
    _start_and_kill(run_dir, 30, tmp_path)
    newest = sorted((run_dir / "checkpoints").glob("step-*.pt"))[-1]
    newest.write_bytes(newest.read_bytes()[:100])  # truncated, as by a full disk
    out = subprocess.run([_script("pinn-train"), f"resume={run_dir}"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert f"skipping checkpoint {newest.name}" in out.stderr
    _assert_same(run_dir, reference)


def test_injected_nan_recovers_in_a_real_run(tmp_path):
    # 1.44 untrained; with 100 L-BFGS iterations this run reaches 8.8e-3 after both roll-backs
    # (with the 30 of ARGS, 0.18: too close to a bound 5x below the untrained error).
    out = _train(tmp_path / "run", "trainer.nan_at=[7,50]", "stages.quasi_newton.steps=100", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["failures"] == 2 and metrics["rel_l2"] < 0.05
    assert (out.stdout + out.stderr).count("rolled back to the last good state") == 2


def test_repeated_divergence_stops_keeping_checkpoints_and_history(tmp_path):
    out = _train(tmp_path / "run", "trainer.nan_at=[12,13,14,15]", "trainer.max_failures=3", cwd=tmp_path)
    assert out.returncode == 1
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("pinn-train: error:") and "non-finite 4 times" in last and "(trainer.max_failures)" in last
    run = tmp_path / "run"
    assert (run / "FAILED").exists() and not (run / "metrics.json").exists()
    assert list((run / "checkpoints").glob("step-*.pt")) and (run / "history.csv").exists()


def test_resume_after_a_nan_roll_back_is_identical(tmp_path):
    """Issue 17, case 10: a NaN at step 13 rolls back to the last good state; a run killed once its
    step-12 checkpoint exists and resumed must roll back to the same step as the run left alone."""
    extra = ["trainer.nan_at=[13]", "checkpoint.every=12", "points.interior=600"]
    ref = subprocess.run([_script("pinn-train"), f"hydra.run.dir={tmp_path / 'a'}", *ARGS, *extra], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert ref.returncode == 0, ref.stderr
    run_dir = tmp_path / "b"
    proc = subprocess.Popen([_script("pinn-train"), f"hydra.run.dir={run_dir}", *ARGS, *extra], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while not (run_dir / "checkpoints" / "step-000000012.pt").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"run ended before its step-12 checkpoint: {proc.communicate()[1][-2000:]}")
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    if (run_dir / "metrics.json").exists():
        pytest.skip("the run finished before it could be killed")
    out = subprocess.run([_script("pinn-train"), f"resume={run_dir}"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["failures"] == 1  # the injected NaN fired once, before or after the kill
    _assert_same(run_dir, tmp_path / "a")


@pytest.mark.parametrize("delay", [0.3, 1.0, 2.5])
def test_a_run_replacing_a_finished_one_never_leaves_a_mix(reference, tmp_path, delay):
    """Issue 17, case 4: SIGKILL while a new run (another PDE) replaces a finished one. Whatever is
    left, pinn-eval evaluates one run's parts together, or refuses with one line: never the old
    metrics beside the new config."""
    import shutil
    run_dir = tmp_path / "run"
    shutil.copytree(reference, run_dir)
    args = [a for a in ARGS if not a.startswith(("pde=", "evaluation.resolution"))]
    proc = subprocess.Popen([_script("pinn-train"), f"hydra.run.dir={run_dir}", "pde=burgers",
                             "evaluation.resolution=[41,21]", *args], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    config = run_dir / ".hydra" / "config.yaml"
    named = config.read_text().split("_target_: ")[1].split()[0] if config.exists() and config.stat().st_size else None
    if (run_dir / "metrics.json").exists():
        pde = json.loads((run_dir / "metrics.json").read_text())["pde"]
        assert named is not None and pde in named.lower(), (pde, named)  # metrics and config of one run
    out = subprocess.run([_script("pinn-eval"), str(run_dir)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    if out.returncode == 0:
        evaluated = out.stdout.split()[0]
        assert named is not None and evaluated in named.lower(), (evaluated, named)
    else:
        assert out.returncode in (1, 2) and len(out.stderr.strip().splitlines()) == 1, out.stderr
