"""RAR-D: residual-based adaptive resampling of the interior points."""

import copy

import pytest
import torch
from torch import nn

from pinn import MLP, RARD, Heat, PINNLoss, Trainer, get_engine, get_sampler
from pinn.training.loop import TrainState
from pinn.training.stages import Adam, QuasiNewton


class _Bump(nn.Module):
    """``u = exp(-((x - 0.8)^2 + (t - 0.5)^2) / 0.005)``: its heat residual lives near (0.8, 0.5)."""

    def forward(self, p):
        return torch.exp(-((p[:, :1] - 0.8) ** 2 + (p[:, 1:] - 0.5) ** 2) / 0.005)


def _rar(loss, **kw):
    kw = {"every": 5, "candidates": 4000, "generator": torch.Generator().manual_seed(0), **kw}
    return RARD(loss, get_sampler("uniform"), **kw)


def _near(points):
    return float((((points[:, 0] - 0.8) ** 2 + (points[:, 1] - 0.5) ** 2) < 0.15**2).double().mean())


def test_points_gather_where_the_residual_is_large():
    pde = Heat()
    loss = PINNLoss(pde, get_engine("autograd"))
    interior = pde.domain.sample("interior", 500, get_sampler("uniform"), generator=torch.Generator().manual_seed(1))
    uniform_share = _near(interior)  # about pi 0.15^2 = 0.07
    out = _rar(loss, k=2.0, c=0.0, candidates=20000)(_Bump(), {"interior": interior, "initial": interior[:3]})
    assert out["interior"].shape == interior.shape and out["interior"].dtype == interior.dtype
    assert torch.equal(out["initial"], interior[:3])  # other sets untouched
    assert _near(out["interior"]) > 0.8 > 5 * uniform_share
    # c keeps a uniform share: the larger c, the closer to uniform
    spread = _rar(loss, k=2.0, c=100.0)(_Bump(), {"interior": interior})
    assert _near(spread["interior"]) < 0.2
    # the density is the documented formula
    cand = interior[:50]
    r = loss.engine.residuals(_Bump(), cand, pde.domain.coordinates, loss.terms[:1])["residual"].abs()
    torch.testing.assert_close(_rar(loss, k=1.5, c=0.5).density(_Bump(), cand), r**1.5 / (r**1.5).mean() + 0.5)


def test_the_draw_is_reproducible_from_the_generator():
    pde = Heat()
    loss = PINNLoss(pde, get_engine("autograd"))
    pts = {"interior": pde.domain.sample("interior", 100, get_sampler("lhs"), generator=torch.Generator())}
    a = _rar(loss)(_Bump(), pts)["interior"]
    b = _rar(loss)(_Bump(), pts)["interior"]
    c = _rar(loss, generator=torch.Generator().manual_seed(9))(_Bump(), pts)["interior"]
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_settings_are_checked():
    pde = Heat()
    loss = PINNLoss(pde, get_engine("autograd"))
    with pytest.raises(ValueError, match="every must be > 0 .* or lbfgs_every > 0"):
        _rar(loss, every=0)
    with pytest.raises(ValueError, match="lbfgs_every must be an integer >= 0"):
        _rar(loss, lbfgs_every=-1)
    with pytest.raises(ValueError, match="cannot both be 0"):
        _rar(loss, k=0, c=0)
    with pytest.raises(ValueError, match="k must be a finite number >= 0"):
        _rar(loss, k=-1.0)
    with pytest.raises(ValueError, match=r"candidates \(10\) must be at least the interior set's size \(100\)"):
        _rar(loss, candidates=10)(_Bump(), {"interior": torch.rand(100, 2)})
    from pinn.cli.train import check_config

    with pytest.raises(ValueError, match=r"resampler.candidates \(100\) must be at least .*\(points.interior\)"):
        check_config(["resampler=rard", "resampler.every=10", "resampler.candidates=100"])
    with pytest.raises(ValueError, match="resampler.k must be a finite number >= 0"):
        check_config(["resampler=rard", "resampler.k=-1"])


def _run():
    pde = Heat()
    g = torch.Generator().manual_seed(0)
    model = MLP(pde.domain.lower, pde.domain.upper, width=8, depth=2, generator=g, dtype=torch.float64)
    pts = {w: pde.domain.sample(w, 64, get_sampler("lhs"), generator=g) for w in pde.domain.point_sets}
    loss = PINNLoss(pde, get_engine("autograd"))
    return model, pts, loss, _rar(loss, every=4, candidates=256, generator=g)


def test_training_resamples_every_k_adam_steps_and_resumes_bit_identically():
    model, pts, loss, rar = _run()
    calls = []

    def counting(m, p):
        calls.append(1)
        return rar(m, p)

    counting.every = rar.every
    snaps = []
    trainer = Trainer([Adam(steps=12, log_every=2), QuasiNewton(steps=4, chunk=2)])
    full = trainer.fit(model, loss, pts, resampler=counting, checkpoint_every=6,
                       checkpoint=lambda s: snaps.append(copy.deepcopy(
                           {**s, "generator": rar.generator.get_state()})))
    assert len(calls) == 2  # after steps 4 and 8; not after the last Adam step
    mid = next(s for s in snaps if s["trainer"]["adam_steps"] == 6)
    assert not torch.equal(mid["points"]["interior"], pts["interior"])  # the snapshot holds the redrawn points
    assert torch.equal(mid["points"]["initial"], pts["initial"])
    model2, _, loss2, rar2 = _run()
    model2.load_state_dict(mid["model"])
    rar2.generator.set_state(mid["generator"])
    again = trainer.fit(model2, loss2, mid["points"], state=TrainState.from_dict(mid["trainer"]), resampler=rar2)
    assert again.final_loss == full.final_loss
    for a, b in zip(model.parameters(), model2.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("method", ["lbfgs", "ssbfgs"])
def test_quasi_newton_stage_resamples_at_chunk_boundaries_and_resumes_bit_identically(method):
    model, pts, loss, _ = _run()
    g = torch.Generator().manual_seed(3)
    rar = _rar(loss, every=0, lbfgs_every=5, candidates=256, generator=g)
    seen = []

    def recording(m, p):
        out = rar(m, p)
        seen.append(out["interior"])
        return out

    recording.every, recording.lbfgs_every = rar.every, rar.lbfgs_every
    snaps = []
    trainer = Trainer([Adam(steps=4, log_every=2), QuasiNewton(steps=16, chunk=2, method=method)])
    full = trainer.fit(model, loss, pts, resampler=recording, checkpoint_every=1,
                       checkpoint=lambda s: snaps.append(copy.deepcopy({**s, "generator": g.get_state()})))
    assert full.lbfgs_steps == 16
    assert len(seen) == 3  # at the chunk boundaries past 5, 10 and 15 (6, 10, 16 is the end: not redrawn)
    assert all(not torch.equal(a, b) for a, b in zip(seen, seen[1:]))
    mid = next(s for s in snaps if s["trainer"]["lbfgs_steps"] == 8)
    assert torch.equal(mid["points"]["interior"], seen[0])
    model2, _, loss2, _ = _run()
    model2.load_state_dict(mid["model"])
    g.set_state(mid["generator"])
    again = trainer.fit(model2, loss2, mid["points"], state=TrainState.from_dict(mid["trainer"]), resampler=rar)
    assert again.final_loss == full.final_loss
    for a, b in zip(model.parameters(), model2.parameters()):
        assert torch.equal(a, b)


def test_a_resampled_cli_run_resumes_bit_identically_from_a_checkpoint(tmp_path):
    from pinn.io import files as io
    from pinn.cli.build import run_training
    from pinn.cli.train import check_config

    cfg = check_config(["pde=heat", "model.width=8", "model.depth=2", "points.interior=200", "points.initial=20",
                        "points.boundary=20", "stages.adam.steps=30", "stages.quasi_newton.steps=10", "stages.adam.log_every=5",
                        "resampler=rard", "resampler.every=10", "resampler.candidates=1000", "checkpoint.every=15", "checkpoint.keep=10",
                        "plots=false", "evaluation.resolution=[21,21]"])
    full = run_training(cfg, tmp_path / "full")
    mid = io.load_checkpoint(tmp_path / "full" / "checkpoints" / "step-000000015.pt")
    drawn = mid["points"]["interior"]
    assert drawn.shape == (200, 2)
    again = run_training(cfg, tmp_path / "again", resume=mid)
    assert again["final_loss"] == full["final_loss"] and again["rel_l2"] == full["rel_l2"]
    last = io.load_checkpoint(tmp_path / "full" / "checkpoints" / "step-000000030.pt")["points"]["interior"]
    assert not torch.equal(last, drawn)  # redrawn again at step 20


def test_k_zero_is_uniform_resampling_without_residuals():
    pde = Heat()
    loss = PINNLoss(pde, get_engine("autograd"))

    class Exploding(nn.Module):
        def forward(self, p):
            raise AssertionError("k=0 must not evaluate the network")

    interior = torch.rand(300, 2, dtype=torch.float64)
    out = _rar(loss, k=0.0, candidates=3000)(Exploding(), {"interior": interior})["interior"]
    assert out.shape == interior.shape
    assert abs(_near(out) - 0.07) < 0.04  # no preference for the bump's region
