"""Every experiment preset, shortened: it composes, trains, and reaches a loose bound.

The full-length runs and their recorded errors come from ``scripts/reproduce.py``
(``experiments/RESULTS.md``); these runs only catch an accuracy regression in CI.
"""

import math
from pathlib import Path

import pytest
import torch

from pinn.cli.build import build, run_training
from pinn.evaluation.grid import evaluate
from pinn.cli.train import check_config

PRESETS = Path(__file__).resolve().parents[1] / "experiments"
QUIET = ["plots=false", "checkpoint.every=0"]

# preset: (shortening overrides, bound on rel. L2, bounds on the learned coefficients' errors in %).
# Measured on 2 cores (seed 0): allen_cahn 4.9e-2 (0.33 with 200 BFGS iterations and no redraw),
# burgers 1.7e-3, burgers_inverse 2.8e-3 (a 0.035 %, nu 1.1 %), heat 8.1e-6, heat2d_ms 6.3e-2,
# poisson 4.7e-2 (float32 L-BFGS: 0.14), wave 1.6e-2, kovasznay 8.6e-3.  Each bound is checked to lie 5x below both
# the untrained network's error and u = 0's (1.0) in the test itself.
CASES = {
    "burgers": (["points.interior=2000", "stages.adam.steps=300", "stages.quasi_newton.steps=600", "resampler.lbfgs_every=200"],
                1e-2, None),
    "heat": (["stages.adam.steps=200", "stages.quasi_newton.steps=300"], 1e-4, None),
    # The wave needs about 2,000 points and 600 ssbfgs iterations to train at all: 1,000 + 600 on
    # 1,000 points stays untrained (1.09), 1,000 + 300 on 2,000 reaches 0.26; the 64-wide L-BFGS
    # form of the previous preset, 1,000 + 1,000 on 2,000 points, 1.02.  This run: 1.6e-2 in 107 s.
    "wave": (["points.interior=2000", "stages.adam.steps=1000", "stages.quasi_newton.steps=600",
              "evaluation.resolution=[101,101]"], 0.2, None),
    # 2.7 untrained; 200 + 100 on 1,000 points reached 0.26, 400 + 200 0.33; this run 6.3e-2 in 97 s.
    "heat2d_ms": (["points.interior=2000", "stages.adam.steps=800", "stages.quasi_newton.steps=300",
                   "evaluation.resolution=[41,21,11]"], 0.2, None),
    "burgers_inverse": (["points.interior=1000", "data.samples=1000", "stages.adam.steps=500",
                         "stages.quasi_newton.steps=500"], 0.03, {"a": 0.5, "nu": 10.0}),
    # 0.97 untrained (the initial condition is held exactly): 0.2 would not be 5x below it.
    "allen_cahn": (["points.interior=1000", "stages.adam.steps=300", "stages.quasi_newton.steps=400",
                    "resampler.lbfgs_every=200"], 0.15, None),
    # 1.02 untrained; 500 Adam + 300 ssbfgs on 1,000 points: 8.6e-3 in 26 s.
    "kovasznay": (["points.interior=1000", "points.boundary=200", "stages.adam.steps=500",
                   "stages.quasi_newton.steps=300", "evaluation.resolution=[31,41]"], 0.05, None),
    # 500 + 300 on 1,000 interior and 500 boundary points: 1.9e-3 in 16 s.
    "pnd": (["points.interior=1000", "points.boundary=500", "stages.adam.steps=300", "stages.quasi_newton.steps=200"],
            0.02, None),
    "poisson": (["points.interior=500", "stages.adam.steps=300", "stages.quasi_newton.steps=300",
                 "evaluation.resolution=[41,41]"], 0.1, None),
    "hnd": (["points.interior=1000", "points.initial=300", "points.boundary=300", "stages.adam.steps=300",
             "stages.quasi_newton.steps=200", "evaluation.resolution=[7,7,7,7,7,4]"], 0.05, None),
    "poisson2d_c": (["model.width=20", "model.depth=3", "points.interior=800", "stages.adam.steps=200",
                     "stages.quasi_newton.steps=200"], 0.02, None),
    "ns2d_c": (["points.interior=1000", "points.boundary=300", "stages.adam.steps=300",
                "stages.quasi_newton.steps=300"], 0.2, None),
    "schrodinger": (["model.width=32", "model.depth=3", "points.interior=1000", "stages.adam.steps=500",
                     "stages.quasi_newton.steps=600", "evaluation.resolution=[65,51]"], 0.15, None),
    "taylor_green": (["points.interior=1000", "points.initial=200", "points.boundary=300", "stages.adam.steps=300",
                      "stages.quasi_newton.steps=600", "evaluation.resolution=[21,21,6]"], 0.1, None),
    # Bounded on u alone (1.4 untrained; this run 0.14): a starts near its truth (2 on the boundary,
    # held exactly), so a bound 5x below its untrained error would lie below what the full preset
    # reaches (6e-2, experiments/RESULTS.md).
    "hinv": (["model.width=20", "model.depth=3", "points.interior=1000",
              "stages.adam.steps=300", "stages.quasi_newton.steps=300", "evaluation.resolution=[21,21,6]"],
             {"u": 0.2}, None),
    # Bounded on u (1.35 untrained; a starts near its truth, 7.5e-2, held on the boundary).  500 + 500
    # on 1,000 points: u 2.6e-2, a 3.3e-2 in 20 s (300 + 300: u 9.1e-2, too near the bound).
    "pinv": (["points.interior=1000", "stages.adam.steps=500", "stages.quasi_newton.steps=500",
              "evaluation.resolution=[41,41]"], {"u": 0.1}, None),
    # Against a coarse reference (h 0.4: computed in 4 s, 9.5e-4 from the preset's).  The full preset
    # reaches 1.1e-2 in 23 minutes; 800 + 500 steps reach 0.19 (201 s alone on 2 cores: the eager
    # engine differentiates the layers twice every step), against 0.74 untrained (the layers in the
    # constraint are most of the way): bounded on the loss, 25x below the untrained network's (3.96;
    # this run 4.4e-2), and the error below 0.5.
    "heat2d_cg": (["pde.reference_h=0.4", "pde.reference_dt=0.02", "model.width=32", "model.depth=3",
                   "points.interior=1500", "points.boundary=600", "stages.adam.steps=800", "stages.adam.lr=5e-3",
                   "stages.quasi_newton.steps=500"], {"loss": 0.04, "": 0.5}, None),
    # The full preset reaches 0.38 (target 5e-2 not met), so no short run is 5x below the untrained
    # error (1.0): bounded on its loss instead, 5x below the untrained network's (2.27; this run 0.25,
    # the full preset 0.20), and its error below 0.8 (u = 0: 1).
    "poisson2d_ms": (["model.width=32", "model.depth=3", "points.interior=2000", "points.boundary=400",
                      "stages.adam.steps=1000", "stages.quasi_newton.steps=500"], {"loss": 0.2, "": 0.8}, None),
    # On a coarse reference (h = 0.1) at a grid of 0.05: 1.24 untrained; this run 0.13 in 35 s
    # (500 + 300 steps: 0.18).
    "poisson3d_cg": (["pde.reference_h=0.1", "pde.grid=0.05", "model.width=32", "model.depth=3",
                      "points.interior=1500", "points.boundary=500", "stages.adam.steps=800",
                      "stages.quasi_newton.steps=700"], 0.2, None),
    # The marched presets on a short interval, two windows each.  gs: bounded pooled, 6.5e-2 in 25 s
    # (v alone 0.33: its spot needs the preset's schedule; 600 + 300 steps made it 0.36); wave2d_ms
    # in 27 s.
    "gs": (["pde.t=[0,10]", "marching.width=5", "model.width=32", "model.depth=3", "points.interior=1000",
            "stages.adam.steps=300", "stages.quasi_newton.steps=100", "resampler.every=100"], 0.1, None),
    "wave2d_ms": (["pde.t=[0,1]", "trainer.max_seconds=null", "points.interior=1000", "points.initial=300",
                   "stages.adam.steps=200", "stages.quasi_newton.steps=300", "evaluation.resolution=[21,21,21]"],
                  0.2, None),
}


def test_every_preset_has_a_short_run():
    assert sorted(CASES) == sorted(p.stem for p in PRESETS.glob("*.yaml"))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_preset_short_run(name, tmp_path):
    overrides, bound, coefficient_bounds = CASES[name]
    cfg = check_config([f"experiment={name}", *QUIET, *overrides])
    # A bound a failed training could meet proves nothing: it must lie 5x below the untrained
    # network's error and below 1/5 of u = 0's (rel. L2 exactly 1).
    job = build(cfg)
    before = evaluate(job.model, job.pde, job.resolution).metrics
    bounds = dict(bound) if isinstance(bound, dict) else {"": bound}  # per field, or over all fields
    loss_ratio = bounds.pop("loss", None)  # or: the final loss below this fraction of the untrained one
    for field, b in bounds.items():
        untrained = before[f"rel_l2_{field}" if field else "rel_l2"]
        assert (5 * b if loss_ratio is None else b) <= min(untrained, 1.0), (field, b, untrained)
    if loss_ratio is not None:
        assert loss_ratio <= 0.2
        untrained_loss = float(job.loss(job.model, job.sample_points(torch.Generator().manual_seed(0)))[0].detach())
    m = run_training(cfg, tmp_path)
    assert math.isfinite(m["final_loss"]), m
    for field, b in bounds.items():
        assert m[f"rel_l2_{field}" if field else "rel_l2"] < b, (field, m)
    if loss_ratio is not None:
        assert m["final_loss"] < loss_ratio * untrained_loss, (m["final_loss"], untrained_loss, m["rel_l2"])

    if coefficient_bounds is not None:
        assert sorted(m["learned"]) == sorted(coefficient_bounds)
        for key, value in m["learned"].items():
            truth = cfg.pde[key]
            assert 100 * abs(value - truth) / abs(truth) < coefficient_bounds[key], (key, value, truth)
