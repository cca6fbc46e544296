"""Data-parallel training: torchrun with 2 gloo processes against one process on the union."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pinn.training import distributed
from pinn.cli.build import build
from pinn.training.run import _resumed_points
from pinn.cli.train import check_config

ARGS = ["pde=heat", "precision=float64", "stages.adam.steps=6", "stages.quasi_newton.steps=6", "stages.quasi_newton.chunk=3",
        "stages.adam.log_every=2", "points.interior=128", "points.initial=32", "points.boundary=32", "model.width=16",
        "model.depth=3", "evaluation.resolution=[21,11]", "checkpoint.every=4", "plots=false"]


def _torchrun(run_dir, *extra, cwd, nproc=2):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [str(Path(sys.executable).parent / "torchrun"), f"--nproc_per_node={nproc}", "--standalone",
           "-m", "pinn.cli.train", f"hydra.run.dir={run_dir}", *ARGS, *extra]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=180, env=env)


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ddp")
    out = _torchrun(tmp / "run", cwd=tmp)
    assert out.returncode == 0, out.stderr[-3000:]
    return tmp / "run", out


@pytest.mark.slow
def test_two_gloo_ranks_match_one_process_on_the_union(ddp_run):
    run_dir, _ = ddp_run
    ckpt = torch.load(sorted((run_dir / "checkpoints").glob("step-*.pt"))[0], weights_only=True)
    shards = ckpt["shards"]
    assert len(shards) == 2
    # each rank drew its own points
    assert not torch.allclose(shards[0]["interior"], shards[1]["interior"])
    union = {k: torch.cat([s[k] for s in shards]) for k in shards[0]}
    b = build(check_config(ARGS))
    b.trainer.fit(b.model, b.loss, union)
    ddp = torch.load(run_dir / "checkpoint.pt", weights_only=True)["model"]
    one = b.model.state_dict()
    assert ddp.keys() == one.keys()
    for k in one:
        torch.testing.assert_close(ddp[k], one[k], rtol=0, atol=1e-6, msg=k)
    # and training moved the parameters: the comparison is not of two initial states
    fresh = build(check_config(ARGS)).model.state_dict()
    assert max(float((fresh[k] - one[k]).abs().max()) for k in one) > 1e-3


@pytest.mark.slow
def test_rank_zero_alone_writes(ddp_run):
    run_dir, out = ddp_run
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(
        [".hydra", ".lock", "checkpoint.pt", "checkpoints", "error_in_time.csv", "history.csv", "metrics.json",
         "predictions.npz",
         "train.log"])
    assert (out.stdout + out.stderr).count("heat finished") == 1
    assert not (run_dir.parent / "runs").exists()


@pytest.mark.slow
def test_a_two_rank_checkpoint_refuses_a_one_process_resume(ddp_run, tmp_path):
    run_dir, _ = ddp_run
    ckpt = torch.load(sorted((run_dir / "checkpoints").glob("step-*.pt"))[0], weights_only=True)
    with pytest.raises(ValueError, match="torchrun --nproc_per_node=2"):
        _resumed_points(ckpt, 1, 0)
    assert _resumed_points(ckpt, 2, 1) is ckpt["shards"][1]


@pytest.mark.slow
def test_unsupported_settings_name_the_fix(tmp_path):
    out = _torchrun(tmp_path / "run", "derivatives=taylor", cwd=tmp_path)
    assert out.returncode != 0
    assert "needs derivatives=autograd" in out.stderr
    out = _torchrun(tmp_path / "run2", "-m", "seed=0,1", cwd=tmp_path)
    assert out.returncode != 0 and "cannot run under torchrun" in out.stderr


def test_shard_generators_are_independent_and_reproducible():
    a = torch.rand(5, generator=distributed.shard_generator(0, 1))
    assert torch.equal(a, torch.rand(5, generator=distributed.shard_generator(0, 1)))
    assert not torch.equal(a, torch.rand(5, generator=distributed.shard_generator(0, 2)))
    assert not torch.equal(a, torch.rand(5, generator=distributed.shard_generator(1, 1)))
    with pytest.raises(ValueError, match="rank"):
        distributed.shard_generator(0, -1)


def test_without_a_process_group_everything_is_one_rank():
    assert distributed.world_size() == 1 and distributed.rank() == 0
    assert distributed.any_rank(True) and not distributed.any_rank(False)
    with pytest.raises(TypeError, match="DistributedDataParallel"):
        distributed.GlobalLoss(lambda m, p: None, torch.nn.Linear(1, 1))
