"""Speed paths keep the arithmetic: Adam implementations, guarded compile, vmap ensembles."""

import logging

import pytest
import torch

from pinn import MLP, Burgers, Heat, PINNLoss, get_engine, get_sampler
from pinn.training.compiling import GuardedCompile
from pinn.training.ensemble import train_ensemble
from pinn.training.loop import Trainer
from pinn.training.stages import ADAM_IMPLS, Adam, adam


def _member(pde, seed, dtype=torch.float64, n=200):
    g = torch.Generator().manual_seed(seed)
    model = MLP(pde.domain.lower, pde.domain.upper, width=12, depth=3, generator=g, dtype=dtype)
    pts = {w: pde.domain.sample(w, n if w == "interior" else 32, get_sampler("lhs"), generator=g).to(dtype)
           for w in pde.domain.point_sets}
    return model, pts


def _adam_run(model, loss, pts, steps, lr, impl="foreach"):
    opt = adam(model.parameters(), lr=lr, impl=impl)
    for _ in range(steps):
        opt.zero_grad()
        loss(model, pts)[0].backward()
        opt.step()
    return model


@pytest.mark.parametrize("impl", sorted(ADAM_IMPLS))
def test_adam_implementations_agree(impl):
    pde = Heat()
    loss = PINNLoss(pde, get_engine("autograd"))
    ref = _adam_run(_member(pde, 0)[0], loss, _member(pde, 0)[1], 10, 1e-2, "for-loop")
    got = _adam_run(_member(pde, 0)[0], loss, _member(pde, 0)[1], 10, 1e-2, impl)
    for a, b in zip(ref.parameters(), got.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_unknown_adam_implementation_lists_the_choices():
    with pytest.raises(ValueError, match="unknown impl 'fast'; choose one of: foreach, fused, for-loop"):
        Adam(impl="fast")


@pytest.mark.parametrize("engine", ["taylor", "func"])
def test_ensemble_members_follow_their_single_runs(engine):
    pde = Burgers()
    loss = PINNLoss(pde, get_engine(engine))
    members = [_member(pde, s) for s in range(3)]
    res = train_ensemble([m for m, _ in members], loss, [p for _, p in members], steps=8, lr=1e-2, log_every=4)
    for seed, trained in enumerate(res.models):
        model, pts = _member(pde, seed)
        alone = _adam_run(model, loss, pts, 8, 1e-2)
        for a, b in zip(alone.parameters(), trained.parameters()):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-10)
    # the inputs are left untouched, and training moved the members
    fresh = _member(pde, 0)[0]
    for a, b in zip(fresh.parameters(), members[0][0].parameters()):
        assert torch.equal(a, b)
    assert [r["step"] for r in res.history] == [4, 8]
    assert len(res.history[-1]["member_losses"]) == 3
    assert res.history[-1]["member_losses"][0] < float(loss(members[0][0], members[0][1])[0].detach())


def test_ensemble_with_shared_points():
    pde = Heat()
    loss = PINNLoss(pde, get_engine("taylor"))
    (m0, pts), (m1, _) = _member(pde, 0), _member(pde, 1)
    res = train_ensemble([m0, m1], loss, pts, steps=3, lr=1e-2)
    alone = _adam_run(_member(pde, 1)[0], loss, pts, 3, 1e-2)
    for a, b in zip(alone.parameters(), res.models[1].parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


def test_ensemble_errors_name_the_fix():
    pde = Heat()
    (m0, p0), (m1, p1) = _member(pde, 0), _member(pde, 1)
    with pytest.raises(ValueError, match="derivatives=taylor or derivatives=func"):
        train_ensemble([m0], PINNLoss(pde, get_engine("autograd")), [p0], steps=1)
    loss = PINNLoss(pde, get_engine("taylor"))
    with pytest.raises(ValueError, match="one point dict per member"):
        train_ensemble([m0, m1], loss, [p0], steps=1)
    with pytest.raises(ValueError, match="one architecture"):
        wide = MLP(pde.domain.lower, pde.domain.upper, width=13, depth=3, generator=torch.Generator(),
                   dtype=torch.float64)
        train_ensemble([m0, wide], loss, [p0, p1], steps=1)
    with pytest.raises(ValueError, match="positive integer"):
        train_ensemble([m0], loss, [p0], steps=0)


def _failing_backend(gm, example_inputs):
    raise RuntimeError("no compiler here")


def test_a_failed_compile_falls_back_to_eager_with_one_warning(caplog):
    calls = []

    def f(x):
        calls.append(1)
        return torch.sin(x) * 2

    g = GuardedCompile(f, what="the test function", backend=_failing_backend)
    x = torch.linspace(0, 1, 5)
    with caplog.at_level(logging.WARNING, logger="pinn.training.compiling"):
        torch.testing.assert_close(g(x), torch.sin(x) * 2)
        torch.testing.assert_close(g(x), torch.sin(x) * 2)
    warnings = [r for r in caplog.records if "torch.compile of the test function failed" in r.message]
    assert len(warnings) == 1 and "no compiler here" in warnings[0].getMessage()
    assert g.failed is not None


def test_a_working_compile_gives_the_eager_result():
    def f(x):
        return torch.tanh(x) ** 2

    g = GuardedCompile(f, backend="eager")
    x = torch.linspace(-1, 1, 7, dtype=torch.float64)
    torch.testing.assert_close(g(x), f(x))
    assert g.failed is None


@pytest.mark.slow
def test_trainer_with_compile_trains_like_eager():
    pde = Heat()
    loss = PINNLoss(pde, get_engine("taylor"))
    runs = []
    for compile_ in (False, True):
        model, pts = _member(pde, 0, dtype=torch.float32)
        Trainer([Adam(steps=5, lr=1e-2)]).fit(model, GuardedCompile(loss) if compile_ else loss, pts)
        runs.append(model)
    for a, b in zip(*(m.parameters() for m in runs)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
