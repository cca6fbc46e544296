"""An ensemble is a model (stacked parameters, vmap over functional_call) trained by the ordinary
stages: learning-rate decay, roll-back, checkpoints and resume are those of every run (issue 29)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from pinn import MLP, Heat, PINNLoss, get_engine, get_sampler
from pinn.cli.build import build, run_training
from pinn.cli.train import check_config
from pinn.training.ensemble import Ensemble, EnsembleLoss
from pinn.training.loop import Trainer
from pinn.training.stages import Adam

BASE = ["pde=heat", "derivatives=taylor", "stages.quasi_newton.steps=0", "stages.adam.steps=60",
        "stages.adam.log_every=20", "points.interior=200", "points.initial=32", "points.boundary=32", "model.width=12",
        "model.depth=2", "evaluation.resolution=[21,11]", "plots=false", "checkpoint.every=0", "threads=1",
        "evaluation.residual_maps=false", "ensemble.members=2"]


def _mlp(seed, dtype=torch.float64):
    pde = Heat()
    return MLP(pde.domain.lower, pde.domain.upper, width=8, depth=2, generator=torch.Generator().manual_seed(seed),
               dtype=dtype)


def test_an_ensemble_predicts_the_mean_and_gives_back_each_member():
    members = [_mlp(s) for s in range(3)]
    ens = Ensemble(members)
    x = torch.rand(17, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    alone = torch.stack([m(x) for m in members])
    torch.testing.assert_close(ens.predictions(x), alone, rtol=0, atol=1e-14)
    torch.testing.assert_close(ens(x), alone.mean(dim=0), rtol=0, atol=1e-14)
    for k, m in enumerate(members):
        back = ens.member(k)
        assert type(back) is MLP
        for a, b in zip(back.state_dict().values(), m.state_dict().values()):
            assert torch.equal(a, b)
    # its state dict is an ordinary one: a copy loads it and predicts the same
    other = Ensemble([_mlp(s + 10) for s in range(3)])
    other.load_state_dict(ens.state_dict())
    assert torch.equal(other(x), ens(x))
    # float32 members of a float64 ensemble come back in float64, unrounded
    single = Ensemble([_mlp(s, torch.float32) for s in range(2)]).double()
    assert next(single.member(1).parameters()).dtype == torch.float64


def test_an_ensemble_refuses_members_of_different_shapes_and_a_wrong_member_index():
    pde = Heat()
    wide = MLP(pde.domain.lower, pde.domain.upper, width=9, depth=2, generator=torch.Generator(), dtype=torch.float64)
    with pytest.raises(ValueError, match="one architecture"):
        Ensemble([_mlp(0), wide])
    with pytest.raises(ValueError, match="at least one network"):
        Ensemble([])
    with pytest.raises(ValueError, match="member must be an integer from 0 to 1"):
        Ensemble([_mlp(0), _mlp(1)]).member(2)
    with pytest.raises(ValueError, match="derivatives=taylor or derivatives=func"):
        EnsembleLoss(PINNLoss(pde, get_engine("autograd")))


def test_the_ordinary_trainer_trains_each_member_as_alone_with_lr_decay():
    """The Trainer's one Adam loop (with its learning-rate decay) moves member k exactly as it
    moves that network alone: the summed loss has block-diagonal gradients."""
    pde = Heat()
    loss = PINNLoss(pde, get_engine("taylor"))
    g = [torch.Generator().manual_seed(10 + k) for k in range(2)]
    pts = [{w: pde.domain.sample(w, 64 if w == "interior" else 16, get_sampler("lhs"), generator=gk).double()
            for w in loss.point_sets} for gk in g]
    stacked = {w: torch.stack([p[w] for p in pts]) for w in pts[0]}
    ens = Ensemble([_mlp(0), _mlp(1)])
    stage = dict(steps=30, lr=2e-2, lr_decay=1e-3, log_every=10)
    Trainer([Adam(**stage)]).fit(ens, EnsembleLoss(loss), stacked)
    for k in range(2):
        alone = _mlp(k)
        Trainer([Adam(**stage)]).fit(alone, loss, pts[k])
        for a, b in zip(alone.parameters(), ens.member(k).parameters()):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-11)


def test_lr_decay_changes_an_ensemble_run_and_a_nan_rolls_it_back(tmp_path):
    """Issue 29: `ensemble.members=2 stages.adam.lr_decay=0.01` trained exactly as lr_decay=1 (the
    option was dropped by the ensemble's own loop); it is now the ordinary stage's."""
    plain = run_training(check_config(BASE), tmp_path / "plain")
    decayed = run_training(check_config([*BASE, "stages.adam.lr_decay=0.01"]), tmp_path / "decayed")
    assert decayed["rel_l2"] != plain["rel_l2"] and decayed["rel_l2_members"] != plain["rel_l2_members"]
    lr = [float(r.split(",")[-2]) for r in (tmp_path / "decayed" / "history.csv").read_text().splitlines()[1:]]
    assert lr[-1] == pytest.approx(1e-3 * 0.01 ** (60 / 1000), rel=1e-6)  # the configured lr, decayed
    rolled = run_training(check_config([*BASE, "trainer.nan_at=[25]"]), tmp_path / "nan")
    assert rolled["failures"] == 1 and rolled["adam_steps"] == 60 and np.isfinite(rolled["rel_l2"])

    def rows(d):
        return [line.split(",")[:-2] for line in (tmp_path / d / "history.csv").read_text().splitlines()]
    # rolled back to step 20 (the last row before the NaN at 25): the same rows up to there, then another path
    assert rows("nan")[:2] == rows("plain")[:2] and rows("nan")[2:] != rows("plain")[2:]


def test_an_ensemble_job_draws_each_members_points_from_its_own_generator():
    job = build(check_config([*BASE, "ensemble.members=3", "seed=4"]))
    assert isinstance(job.model, Ensemble) and job.model.size == 3
    points = job.sample_points()
    assert points["interior"].shape == (3, 200, 2)
    single = build(check_config([*BASE, "ensemble.members=1", "seed=5"]))
    assert torch.equal(points["interior"][1], single.sample_points()["interior"])


def _script(name):
    return str(Path(sys.executable).parent / name)


ARGS = [*BASE, "stages.adam.steps=40", "stages.adam.log_every=5", "checkpoint.every=5", "checkpoint.keep=2",
        "stages.adam.lr_decay=0.1"]


@pytest.mark.slow
def test_an_ensemble_killed_mid_adam_and_resumed_is_bit_identical(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    ref = subprocess.run([_script("pinn-train"), f"hydra.run.dir={tmp_path / 'ref'}", *ARGS], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300, env=env)
    assert ref.returncode == 0, ref.stderr[-2000:]
    run_dir = tmp_path / "run"
    proc = subprocess.Popen([_script("pinn-train"), f"hydra.run.dir={run_dir}", *ARGS], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 240
    try:
        while not sorted((run_dir / "checkpoints").glob("step-*.pt")) or \
                int(sorted((run_dir / "checkpoints").glob("step-*.pt"))[-1].stem.split("-")[1]) < 15:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the run ended before step 15: {proc.communicate()[1][-2000:]}")
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert not (run_dir / "metrics.json").exists()
    out = subprocess.run([_script("pinn-train"), f"resume={run_dir}"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "resuming heat at step" in out.stderr
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (run_dir, tmp_path / "ref"))
    for key in ("rel_l2", "rel_l2_members", "final_loss", "adam_steps", "failures"):
        assert a[key] == b[key], key
    for name in ("predictions.npz", "ensemble.npz"):
        with np.load(run_dir / name) as pa, np.load(tmp_path / "ref" / name) as pb:
            for key in pa.files:
                np.testing.assert_array_equal(pa[key], pb[key])

    def hist(d):
        return [line.split(",")[:-1] for line in (d / "history.csv").read_text().splitlines()]
    assert hist(run_dir) == hist(tmp_path / "ref")
