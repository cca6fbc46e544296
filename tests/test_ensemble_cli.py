"""Ensembles from the command line: ensemble.members=K trains K networks at once, each member as
its seed's single run, with per-member errors and their mean and sample std."""

import statistics

import numpy as np
import pytest
from omegaconf import OmegaConf

from pinn.cli import evaluate as eval_cli
from pinn.cli.build import run_training
from pinn.cli.train import check_config
from pinn.evaluation.grid import relative_l2

BASE = ["pde=heat", "derivatives=taylor", "stages.quasi_newton.steps=0", "stages.adam.steps=60",
        "stages.adam.log_every=20", "points.interior=200", "points.initial=32", "points.boundary=32", "model.width=12",
        "model.depth=2", "evaluation.resolution=[21,11]", "plots=false", "checkpoint.every=0", "threads=1",
        "evaluation.residual_maps=false"]


def test_members_are_their_seeds_single_runs_and_the_summary_is_right(tmp_path, capsys):
    cfg = check_config([*BASE, "ensemble.members=3", "seed=5"])
    m = run_training(cfg, tmp_path / "ens")
    assert m["members"] == 3 and len(m["rel_l2_members"]) == 3
    assert m["rel_l2_member_mean"] == pytest.approx(statistics.fmean(m["rel_l2_members"]), rel=1e-12)
    assert m["rel_l2_member_sample_std"] == pytest.approx(statistics.stdev(m["rel_l2_members"]), rel=1e-12)
    with np.load(tmp_path / "ens" / "ensemble.npz") as e, np.load(tmp_path / "ens" / "predictions.npz") as p:
        assert e["u_members"].shape == (3, 21, 11)
        # the run's prediction is the ensemble model's mean (taken in float32, the networks' dtype)
        np.testing.assert_allclose(p["u_pred"], e["u_members"].mean(axis=0), rtol=1e-6)
        np.testing.assert_allclose(e["u_std"], e["u_members"].std(axis=0, ddof=1), rtol=1e-12)
        assert m["rel_l2"] == pytest.approx(relative_l2(p["u_pred"], p["u_ref"]), rel=1e-12)
        for k in range(3):
            assert m["rel_l2_members"][k] == pytest.approx(relative_l2(e["u_members"][k], p["u_ref"]), rel=1e-12)
    # member 1 is the single run with seed 6 (its own weights and points), up to float32 rounding
    single = run_training(check_config([*BASE, "seed=6"]), tmp_path / "single")
    assert m["rel_l2_members"][1] == pytest.approx(single["rel_l2"], rel=1e-3)
    assert len(set(round(e, 6) for e in m["rel_l2_members"])) == 3  # three different members
    history = (tmp_path / "ens" / "history.csv").read_text().splitlines()[0].split(",")
    assert history[:3] == ["step", "stage", "loss"] and "loss_member_2" in history
    # pinn-eval says it is an ensemble, in one line
    (tmp_path / "ens" / ".hydra").mkdir()
    OmegaConf.save(cfg, tmp_path / "ens" / ".hydra" / "config.yaml")
    with pytest.raises(SystemExit):
        eval_cli.main([str(tmp_path / "ens")])
    assert "is an ensemble run" in capsys.readouterr().err


@pytest.mark.parametrize("extra,message", [
    (["stages.quasi_newton.steps=5"], "stages.quasi_newton.steps=0"),
    (["derivatives=autograd"], "derivatives=taylor or derivatives=func"),
    (["resampler=rard", "resampler.every=10"], "set resampler=null"),
    (["ensemble.members=0"], "ensemble.members must be an integer from 1 to 1024"),
    (["ensemble.members=100000"], "ensemble.members must be an integer from 1 to 1024"),
])
def test_what_an_ensemble_cannot_do_is_refused_before_training(extra, message):
    members = [] if any(e.startswith("ensemble.") for e in extra) else ["ensemble.members=2"]
    with pytest.raises(ValueError, match=message):
        check_config([*BASE, *members, *extra])
