"""NTK weights: per-point parameter gradients by vmap(grad) against a plain loop of autograd.grad,
the traces and weights they give, and the weighting inside training."""

import pytest
import torch

from pinn import MLP, Burgers, Kovasznay, PINNLoss, get_engine
from pinn.training.ntk import NTKWeighting, ntk_traces, per_point_gradients
from pinn.training.weighting import WeightingContext
from pinn.training.loss_extras import DataMisfit


def _net(pde, outputs=1):
    return MLP(pde.domain.lower, pde.domain.upper, width=8, depth=2, outputs=outputs,
               generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def _points(pde, n=13, seed=1):
    g = torch.Generator().manual_seed(seed)
    lo, hi = pde.domain.lower.double(), pde.domain.upper.double()
    x = lo + (hi - lo) * torch.rand(n, lo.numel(), generator=g, dtype=torch.float64)
    return {"interior": x, "initial": x.flip(0), "boundary": x[:7], "data": x[:5],
            "data_values": torch.zeros(5, dtype=torch.float64)}


def _loop(net, loss, name, x):
    """One autograd.grad per point, through the batched autograd engine on a one-point batch."""
    params = [p for p in net.parameters()]
    rows = []
    for i in range(x.shape[0]):
        pts = {"interior": x[i:i + 1], "initial": x[i:i + 1], "boundary": x[i:i + 1], "data": x[i:i + 1],
               "data_values": torch.zeros(1, dtype=torch.float64)}
        if name == "data":
            r = net(pts["data"]).reshape(-1)[loss.data_column]
        else:
            r = loss.residuals(net, pts)[name][0]
        grads = torch.autograd.grad(r, params, allow_unused=True)
        rows.append([torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)])
    return [torch.stack([row[k] for row in rows]) for k in range(len(params))]


@pytest.mark.parametrize("case", ["burgers", "burgers-data", "kovasznay"])
def test_per_point_gradients_match_a_loop_of_autograd_grad(case):
    pde = Kovasznay() if case == "kovasznay" else Burgers()
    net = _net(pde, outputs=len(pde.fields))
    loss = PINNLoss(pde, get_engine("autograd"), extras=[DataMisfit()] if case == "burgers-data" else [])
    x = _points(pde)["interior"]
    names = loss.term_names if case != "burgers" else ("residual", "initial")
    for name in names:
        got = per_point_gradients(net, loss, name, x, chunk_size=4)
        want = _loop(net, loss, name, x)
        assert list(got) == [n for n, _ in net.named_parameters()]
        for g, w in zip(got.values(), want):
            assert g.shape == w.shape
            torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-12)
        assert max(float(g.abs().max()) for g in got.values()) > 1e-3  # not trivially zero


def test_traces_and_weights_are_the_definition():
    pde = Burgers()
    net = _net(pde)
    loss = PINNLoss(pde, get_engine("autograd"))
    pts = _points(pde, n=40)
    names = loss.term_names
    per = {}
    for name in names:
        x = pts[{"residual": "interior", "initial": "initial", "boundary": "boundary"}[name]]
        per[name] = torch.stack([sum((g ** 2).sum() for g in row) for row in zip(*_loop(net, loss, name, x))])
    means = ntk_traces(net, loss, pts, names, points_per_term=0)
    sums = ntk_traces(net, loss, pts, names, points_per_term=0, reduce="sum")
    for name in names:
        assert means[name] == pytest.approx(float(per[name].mean()), rel=1e-10)
        assert sums[name] == pytest.approx(float(per[name].sum()), rel=1e-10)
    # every k-th point when the set is larger than points_per_term
    sub = ntk_traces(net, loss, pts, ["residual"], points_per_term=10)
    assert sub["residual"] == pytest.approx(float(per["residual"][::4][:10].mean()), rel=1e-10)
    w = NTKWeighting(every=1, points_per_term=0).update(dict(loss.weights), {}, list(net.parameters()),
                                                         context=WeightingContext(net, loss, pts))
    total = sum(means.values())
    for name in names:
        assert w[name] == pytest.approx(total / means[name], rel=1e-10)
    # the moving average
    w2 = NTKWeighting(every=1, alpha=0.5, points_per_term=0).update(
        {n: 2.0 for n in names}, {}, [], context=WeightingContext(net, loss, pts))
    for name in names:
        assert w2[name] == pytest.approx(1.0 + 0.5 * total / means[name], rel=1e-10)


def test_ntk_weighting_sets_the_weights_in_training_and_they_are_checkpointed():
    from pinn.training.loop import Trainer
    from pinn.training.stages import Adam
    pde = Burgers()
    net = _net(pde)
    loss = PINNLoss(pde, get_engine("autograd"))
    pts = {k: v for k, v in _points(pde, n=50).items() if not k.startswith("data")}
    trainer = Trainer([Adam(steps=6, lr=1e-3, log_every=1)], weighting=NTKWeighting(every=3, points_per_term=0))
    snaps = []
    trainer.fit(net, loss, pts, checkpoint=snaps.append, checkpoint_every=6)
    saved = snaps[-1]["trainer"]["loss_weights"]
    assert saved is not None and set(saved) == set(loss.term_names)
    assert loss.weights == saved and len({round(v, 6) for v in saved.values()}) == 3


def test_bad_ntk_options_say_how_to_fix_them():
    with pytest.raises(ValueError, match="every must be"):
        NTKWeighting(every=0)
    with pytest.raises(ValueError, match="alpha must"):
        NTKWeighting(alpha=1.0)
    with pytest.raises(ValueError, match="reduce must"):
        NTKWeighting(reduce="max")
    pde = Burgers()
    with pytest.raises(ValueError, match="no loss term 'nope'"):
        per_point_gradients(_net(pde), PINNLoss(pde, get_engine("autograd")), "nope", torch.zeros(2, 2))
