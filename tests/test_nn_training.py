import math

import pytest
import torch

from pinn import MLP, Heat, PINNLoss, Trainer, get_engine, get_sampler
from pinn.training.stages import Adam, QuasiNewton


def _net(seed=0, dtype=torch.float32, **kw):
    g = torch.Generator().manual_seed(seed)
    return MLP(torch.tensor([-1.0, 0.0]), torch.tensor([1.0, 2.0]), generator=g, dtype=dtype, **kw)


def test_inputs_are_scaled_to_unit_box():
    net = _net(width=4, depth=1)
    corners = torch.tensor([[-1.0, 0.0], [1.0, 2.0], [0.0, 1.0]])
    h = (corners - net.scaling.center) / net.scaling.half_width
    torch.testing.assert_close(h, torch.tensor([[-1.0, -1.0], [1.0, 1.0], [0.0, 0.0]]))


def test_shape_width_depth_and_initialisation_are_reproducible():
    net = _net(width=7, depth=3)
    assert [layer.weight.shape for layer in net.trunk.layers] == [(7, 2), (7, 7), (7, 7), (1, 7)]
    assert net(torch.zeros(5, 2)).shape == (5, 1)
    same, other = _net(width=7, depth=3), _net(seed=1, width=7, depth=3)
    for a, b in zip(net.parameters(), same.parameters()):
        assert torch.equal(a, b)
    assert not all(torch.equal(a, c) for a, c in zip(net.parameters(), other.parameters()))
    assert all((layer.bias == 0).all() for layer in net.trunk.layers)


@pytest.mark.parametrize("kw,match", [({"width": 0}, "width"), ({"depth": -1}, "depth"), ({"width": 2.5}, "width"),
                                      ({"activation": "relu"}, "unknown activation")])
def test_bad_network_settings(kw, match):
    with pytest.raises(ValueError, match=match):
        _net(**kw)


def test_float64_network():
    net = _net(dtype=torch.float64, width=4, depth=2)
    assert all(p.dtype == torch.float64 for p in net.parameters())


def _heat_problem(seed=0, dtype=torch.float32):
    pde = Heat()
    g = torch.Generator().manual_seed(seed)
    net = MLP(pde.domain.lower, pde.domain.upper, width=16, depth=2, generator=g, dtype=dtype)
    s = get_sampler("lhs")
    pts = {w: pde.domain.sample(w, 256, s, generator=g).to(dtype) for w in pde.domain.point_sets}
    return pde, net, pts


def test_training_lowers_the_loss_and_records_history():
    pde, net, pts = _heat_problem()
    loss_fn = PINNLoss(pde, get_engine("autograd"))
    before = float(loss_fn(net, pts)[0].detach())
    res = Trainer([Adam(steps=60, log_every=20), QuasiNewton(steps=40, chunk=10)]).fit(net, loss_fn, pts)
    assert res.final_loss < before / 10
    assert res.adam_steps == 60 and 0 < res.lbfgs_steps <= 40
    assert [r["step"] for r in res.history if r["stage"] == "adam"] == [20, 40, 60]
    assert {"step", "stage", "loss", "residual", "initial", "boundary", "seconds"} <= set(res.history[0])
    assert res.history[-1]["stage"] == "lbfgs"
    assert math.isclose(res.history[-1]["loss"], res.final_loss, rel_tol=1e-6)
    assert "state" in res.optimizer_state


def test_training_is_deterministic_for_a_seed():
    out = []
    for _ in range(2):
        pde, net, pts = _heat_problem(seed=4)
        res = Trainer([Adam(steps=20), QuasiNewton(steps=10, chunk=5)]).fit(
            net, PINNLoss(pde, get_engine("autograd")), pts)
        out.append((res.final_loss, [p.detach().clone() for p in net.parameters()]))
    assert out[0][0] == out[1][0]
    assert all(torch.equal(a, b) for a, b in zip(out[0][1], out[1][1]))


def test_loss_weights():
    pde, net, pts = _heat_problem(dtype=torch.float64)
    plain = PINNLoss(pde, get_engine("autograd"))
    weighted = PINNLoss(pde, get_engine("autograd"), weights={"initial": 10.0})
    total, parts = plain(net, pts)
    wtotal, _ = weighted(net, pts)
    torch.testing.assert_close(wtotal, total + 9 * parts["initial"])
    with pytest.raises(ValueError, match="unknown terms"):
        PINNLoss(pde, get_engine("autograd"), weights={"initail": 1.0})
    with pytest.raises(ValueError, match=">= 0"):
        PINNLoss(pde, get_engine("autograd"), weights={"initial": -1.0})


@pytest.mark.parametrize("stage,kw,message", [
    (Adam, {"steps": -1}, "steps must be an integer >= 0"), (QuasiNewton, {"steps": -5}, "steps must be an integer >= 0"),
    (Adam, {"lr": 0}, "lr must be a finite number > 0"), (Adam, {"lr": float("nan")}, "lr must be a finite number > 0"),
    (Adam, {"steps": 1.5}, "steps must be an integer >= 0"), (QuasiNewton, {"chunk": 0}, "chunk must be a positive")])
def test_bad_stage_settings_name_the_parameter(stage, kw, message):
    with pytest.raises(ValueError, match=message):
        stage(**kw)


def test_trainer_takes_stages_and_checks_its_own_settings():
    with pytest.raises(TypeError, match="stages must be pinn.training.stages.Stage objects"):
        Trainer([object()])
    with pytest.raises(ValueError, match="failure_lr_factor must be < 1"):
        Trainer(failure_lr_factor=2.0)
    assert Trainer().describe() == "500 Adam + 2000 L-BFGS"


def test_non_finite_loss_in_adam_is_reported():
    pde, net, pts = _heat_problem()
    pts = dict(pts, interior=pts["interior"].clone())
    pts["interior"][0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        Trainer([Adam(steps=3)]).fit(net, PINNLoss(pde, get_engine("autograd")), pts)
