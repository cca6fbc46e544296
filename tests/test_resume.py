"""Resuming from any checkpoint ends bit-identical to the uninterrupted run; NaNs roll back."""

import io as _io
import math

import pytest
import torch

from pinn import MLP, Heat, PINNLoss, get_engine, get_sampler
from pinn.training.loop import DivergenceError, Trainer, TrainingInterrupted, TrainState
from pinn.training.stages import Adam, QuasiNewton


def _trainer(*, float64=False, method="lbfgs", **kw):
    """10 Adam steps (a row every 4), then 9 quasi-Newton iterations in chunks of 3."""
    return Trainer([Adam(steps=10, log_every=4), QuasiNewton(steps=9, chunk=3, float64=float64, method=method)],
                   **kw)


def _problem():
    pde = Heat()
    g = torch.Generator().manual_seed(0)
    net = MLP(pde.domain.lower, pde.domain.upper, width=8, depth=2, generator=g)
    s = get_sampler("lhs")
    pts = {w: pde.domain.sample(w, 64, s, generator=g).float() for w in pde.domain.point_sets}
    return net, PINNLoss(pde, get_engine("autograd")), pts


def _disk_roundtrip(snapshot):
    buf = _io.BytesIO()
    torch.save(snapshot, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def _reference(**kw):
    net, loss_fn, pts = _problem()
    snaps = []
    res = _trainer(**kw).fit(net, loss_fn, pts, checkpoint=lambda s: snaps.append(_disk_roundtrip(s)),
                            checkpoint_every=1)
    return res, [p.detach().clone() for p in net.parameters()], snaps


def _resume(snapshot, **kw):
    net, loss_fn, pts = _problem()
    if snapshot["trainer"]["float64"]:
        net.double()
    net.load_state_dict(snapshot["model"])
    state = TrainState.from_dict(snapshot["trainer"])
    res = _trainer(**kw).fit(net, loss_fn, pts, state=state)
    return res, [p.detach().clone() for p in net.parameters()]


def test_checkpoints_cover_both_stages_and_the_switch():
    res, _, snaps = _reference()
    stages = [(s["trainer"]["stage"], s["trainer"]["adam_steps"], s["trainer"]["lbfgs_steps"]) for s in snaps]
    assert ("adam", 5, 0) in stages
    assert ("lbfgs", 10, 0) in stages  # right after the switch
    assert any(st == "lbfgs" and lb > 0 for st, _, lb in stages)


@pytest.mark.parametrize("kw", [{}, {"float64": True}, {"float64": True, "method": "ssbfgs"}],
                         ids=["float32", "lbfgs-float64", "ssbfgs-float64"])
def test_resume_from_every_checkpoint_is_bit_identical(kw):
    res, params, snaps = _reference(**kw)
    assert len(snaps) >= 10
    assert all(p.dtype == (torch.float64 if kw else torch.float32) for p in params)
    for snap in snaps:
        again, p2 = _resume(snap, **kw)
        where = (snap["trainer"]["stage"], snap["trainer"]["adam_steps"], snap["trainer"]["lbfgs_steps"])
        assert again.final_loss == res.final_loss, where
        assert all(torch.equal(a, b) for a, b in zip(params, p2)), where
        assert [r["loss"] for r in again.history] == [r["loss"] for r in res.history], where
        assert (again.adam_steps, again.lbfgs_steps) == (res.adam_steps, res.lbfgs_steps)


def test_stop_request_checkpoints_then_interrupts():
    net, loss_fn, pts = _problem()
    calls = {"n": 0}
    saved = []

    def should_stop():
        calls["n"] += 1
        return calls["n"] >= 7

    with pytest.raises(TrainingInterrupted) as info:
        _trainer().fit(net, loss_fn, pts, checkpoint=lambda s: saved.append(_disk_roundtrip(s)),
                          should_stop=should_stop)
    assert saved and saved[-1]["trainer"]["adam_steps"] == info.value.step == 7
    res, params, _ = _reference()
    again, p2 = _resume(saved[-1])
    assert again.final_loss == res.final_loss and all(torch.equal(a, b) for a, b in zip(params, p2))


@pytest.mark.parametrize("step", [3, 9, 11, 16])
def test_injected_nan_rolls_back_and_training_finishes(step, caplog):
    net, loss_fn, pts = _problem()
    res = _trainer(nan_at=[step]).fit(net, loss_fn, pts)
    assert res.failures == 1
    assert math.isfinite(res.final_loss) and res.adam_steps == 10 and res.lbfgs_steps > 0
    assert "rolled back" in caplog.text
    clean = _trainer().fit(*_problem())
    assert res.final_loss < 10 * clean.final_loss + 1e-3


def test_too_many_failures_stop_with_a_clear_message():
    net, loss_fn, pts = _problem()
    with pytest.raises(DivergenceError, match="non-finite 3 times.*raise max_failures"):
        _trainer(nan_at=[2, 3, 4], max_failures=2).fit(net, loss_fn, pts)


def test_state_rejects_unknown_fields():
    with pytest.raises(ValueError, match="unknown trainer fields"):
        TrainState.from_dict({"stage": "adam", "bogus": 1})


def test_stages_pay_their_one_time_costs_before_the_clock():
    """The first torch.optim.Adam of a process imports dynamo (1.7 s): Trainer.fit has the stages
    prepare before the session's clock starts, so that this is not counted as training time."""
    import subprocess
    import sys

    code = ("import sys, torch; from pinn.training.stages import Adam; "
            "import pinn.training.session as S; seen = []; real = S.Session.__init__\n"
            "def spy(self, *a, **k):\n    seen.append('torch._dynamo.eval_frame' in sys.modules); real(self, *a, **k)\n"
            "S.Session.__init__ = spy\n"
            "from pinn.training.loop import Trainer\n"
            "from pinn import MLP, Heat, PINNLoss, get_engine, get_sampler\n"
            "pde = Heat(); g = torch.Generator().manual_seed(0)\n"
            "net = MLP(pde.domain.lower, pde.domain.upper, width=4, depth=1, generator=g)\n"
            "pts = {w: pde.domain.sample(w, 8, get_sampler('lhs'), generator=g).float() for w in pde.domain.point_sets}\n"
            "Trainer([Adam(steps=1)]).fit(net, PINNLoss(pde, get_engine('autograd')), pts)\n"
            "print(seen)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[True]"
