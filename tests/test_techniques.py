"""Accuracy techniques: Fourier features, causal weighting, the Burgers identification coefficient."""

import math

import pytest
import torch

from pinn import MLP, Burgers, Heat, PINNLoss, Poisson, get_engine, get_sampler
from pinn.cli.train import check_config
from pinn.nets.parts import FourierFeatures, ModifiedTrunk, PlainTrunk
from pinn.training.losses import PINNLoss as _Loss
from pinn.training.stages import Adam, QuasiNewton
from pinn.training.weighting import GradNorm
from pinn.training.loss_extras import CausalWeighting


def _net(pde, **kw):
    return MLP(pde.domain.lower, pde.domain.upper, width=10, depth=2, generator=torch.Generator().manual_seed(0),
               dtype=torch.float64, **kw)


def test_fourier_features_are_the_documented_map_and_reproducible():
    pde = Heat()
    net = _net(pde, fourier_features=4, fourier_scale=3.0)
    fourier = net.part(FourierFeatures)
    assert fourier.b.shape == (2, 4) and net.trunk.layers[0].in_features == 2 + 8
    assert fourier.b.std() > 0.5  # drawn with scale 3, not 1
    again = _net(pde, fourier_features=4, fourier_scale=3.0)
    assert torch.equal(fourier.b, again.part(FourierFeatures).b)
    x = torch.rand(5, 2, dtype=torch.float64)
    h = (x - net.scaling.center) / net.scaling.half_width
    z = math.pi * h @ fourier.b
    feats = torch.cat([h, torch.cos(z), torch.sin(z)], 1)
    expected = net.trunk.layers[0](feats)
    got = {}
    net.trunk.layers[0].register_forward_hook(lambda m, i, o: got.setdefault("out", o))
    net(x)
    torch.testing.assert_close(got["out"], expected)
    assert "embeddings.0.b" in net.state_dict()


def test_a_one_class_mlps_state_dict_loads_into_the_composed_network():
    """Checkpoints written before the network was composed of parts (keys ``center``, ``fourier_b``,
    ``layers.k``, ``encoders.k``, ``activations.k``) load, and give the same function."""
    pde = Heat(bc="periodic")
    for kw in ({}, {"fourier_features": 3}, {"periodic": (0,), "fourier_features": 3},
               {"modified": True, "adaptive": "layer"}):
        net = _net(pde, **kw)
        old = {}
        for key, value in net.state_dict().items():
            key = key.replace("scaling.", "").replace("trunk.", "")
            old["fourier_b" if key.startswith("embeddings.") else key] = value
        fresh = MLP(pde.domain.lower, pde.domain.upper, width=10, depth=2, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(9), **kw)
        fresh.load_state_dict(old)
        x = torch.rand(6, 2, dtype=torch.float64)
        assert torch.equal(fresh(x), net(x)), kw


def _engines_agree(pde, net):
    """Assert the autograd, func and taylor engines give the same residuals for ``net``; return the points."""
    g = torch.Generator().manual_seed(1)
    pts = {w: pde.domain.sample(w, 32, get_sampler("sobol"), generator=g) for w in pde.domain.point_sets}
    ra = PINNLoss(pde, get_engine("autograd")).residuals(net, pts)
    for engine in ("func", "taylor"):
        rf = PINNLoss(pde, get_engine(engine)).residuals(net, pts)
        for k in ra:
            torch.testing.assert_close(ra[k], rf[k], rtol=0, atol=1e-10, msg=f"{engine} {k}")
    return pts


def test_fourier_feature_networks_agree_across_engines():
    pde = Burgers()
    net = _net(pde, fourier_features=3)
    _engines_agree(pde, net)
    check_config(["model.fourier_features=8", "derivatives=taylor"])
    with pytest.raises(ValueError, match="fourier_scale must be a finite number > 0"):
        check_config(["model.fourier_features=8", "model.fourier_scale=0"])


def _points(pde, n=400):
    g = torch.Generator().manual_seed(2)
    return {w: pde.domain.sample(w, n, get_sampler("lhs"), generator=g) for w in pde.domain.point_sets}


def test_causal_weighting_matches_its_formula():
    pde = Heat()
    net, pts = _net(pde), _points(pde)
    plain = PINNLoss(pde, get_engine("autograd"))
    causal = PINNLoss(pde, get_engine("autograd"), extras=[CausalWeighting(4, 10.0)])
    r = plain.residuals(net, pts)["residual"].detach()
    t = pts["interior"][:, 1]
    slab = (t * 4).long().clamp(0, 3)
    per = torch.stack([(r[slab == k] ** 2).mean() for k in range(4)])
    w = torch.exp(-10.0 * torch.cat([torch.zeros(1, dtype=per.dtype), torch.cumsum(per, 0)[:-1]]))
    total, parts = causal(net, pts)
    expected = (w * per).mean() + parts["initial"].detach() + parts["boundary"].detach()
    torch.testing.assert_close(total.detach(), expected, rtol=1e-12, atol=0)
    assert float(parts["causal_min_weight"]) == pytest.approx(float(w.min()))
    assert float(parts["residual"].detach()) == pytest.approx(float((r**2).mean()))  # the plain residual is reported
    # the weights carry no gradient: d total / d theta = sum_k w_k dL_k / M
    g_causal = torch.autograd.grad(total, list(net.parameters()))
    ref = (w * torch.stack([(causal.residuals(net, pts)["residual"][slab == k] ** 2).mean() for k in range(4)])).mean()
    cond = sum(causal.weights[n] * (causal.residuals(net, pts)[n] ** 2).mean() for n in ("initial", "boundary"))
    g_ref = torch.autograd.grad(ref + cond, list(net.parameters()))
    for a, b in zip(g_causal, g_ref):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-14)


def test_causal_weighting_of_several_equations_shares_the_slabs_weights():
    from pinn import MLP
    from pinn.pdes import TaylorGreen

    pde = TaylorGreen()
    net = MLP(pde.domain.lower, pde.domain.upper, width=8, depth=2, outputs=3,
              generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    pts = _points(pde, 300)
    causal = PINNLoss(pde, get_engine("autograd"), extras=[CausalWeighting(3, 2.0)])
    r = {k: v.detach() for k, v in causal.residuals(net, pts).items()}
    slab = (pts["interior"][:, 2] * 3).long().clamp(0, 2)
    per = {e: torch.stack([(r[e][slab == k] ** 2).mean() for k in range(3)]) for e in pde.equations}
    total_per = sum(per.values())
    w = torch.exp(-2.0 * torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(total_per, 0)[:-1]]))
    total, parts = causal(net, pts)
    conditions = sum(parts[n].detach() for n in causal.term_names if n not in pde.equations)
    expected = sum((w * per[e]).mean() for e in pde.equations) + conditions
    torch.testing.assert_close(total.detach(), expected, rtol=1e-12, atol=0)
    assert float(parts["causal_min_weight"]) == pytest.approx(float(w.min()))


def test_causal_weighting_checks_its_settings():
    with pytest.raises(ValueError, match="causal_chunks must be a positive integer"):
        CausalWeighting(-1)
    with pytest.raises(ValueError, match="causal_eps must be a finite number > 0"):
        CausalWeighting(4, 0.0)
    with pytest.raises(ValueError, match="needs a time coordinate"):
        _Loss(Poisson(), get_engine("autograd"), extras=[CausalWeighting(4)])
    with pytest.raises(ValueError, match="needs a time coordinate"):
        check_config(["pde=poisson", "loss.causal_chunks=8"])


def test_burgers_convection_coefficient_is_learnable():
    cfg = check_config(["pde.learn=[a,nu]", "pde.learn_init=[0.0,0.0]", "data.samples=50"])
    from pinn.cli.build import build

    b = build(cfg)
    assert set(b.model.coefficients) == {"a", "nu"}
    assert b.pde.a == 1.0  # the truth keeps its value


def _heat_run(**kw):
    pde = Heat()
    g = torch.Generator().manual_seed(0)
    model = MLP(pde.domain.lower, pde.domain.upper, width=8, depth=2, generator=g, dtype=torch.float64)
    pts = {w: pde.domain.sample(w, 64, get_sampler("lhs"), generator=g) for w in pde.domain.point_sets}
    return pde, model, pts, PINNLoss(pde, get_engine("autograd"))


def test_gradient_norm_balancing_sets_the_documented_weights():
    from pinn import Trainer

    pde, model, pts, loss = _heat_run()
    params = list(model.parameters())
    _, parts = loss(model, pts)
    norms = {n: math.sqrt(sum(float((g * g).sum()) for g in torch.autograd.grad(
        parts[n], params, retain_graph=True, allow_unused=True) if g is not None)) for n in loss.term_names}
    total = sum(norms.values())
    res = Trainer([Adam(steps=1)], weighting=GradNorm(every=1, alpha=0.0)).fit(model, loss, pts)
    for n in loss.term_names:
        assert loss.weights[n] == pytest.approx(total / norms[n], rel=1e-12)
    assert res.history  # trained


def test_gradient_norm_balancing_resumes_bit_identically():
    from pinn.training.loop import Trainer, TrainState

    snaps = []
    pde, model, pts, loss = _heat_run()
    trainer = Trainer([Adam(steps=12, log_every=2), QuasiNewton(steps=4, chunk=2)],
                      weighting=GradNorm(every=3, alpha=0.5))
    full = trainer.fit(model, loss, pts, checkpoint=lambda s: snaps.append(
        {"model": {k: v.clone() for k, v in s["model"].items()}, "trainer": __import__("copy").deepcopy(s["trainer"])}),
        checkpoint_every=4)
    mid = next(s for s in snaps if s["trainer"]["adam_steps"] == 8)
    assert mid["trainer"]["loss_weights"] is not None
    _, model2, pts2, loss2 = _heat_run()
    model2.load_state_dict(mid["model"])
    again = trainer.fit(model2, loss2, pts2, state=TrainState.from_dict(mid["trainer"]))
    assert again.final_loss == full.final_loss
    for a, b in zip(model.parameters(), model2.parameters()):
        assert torch.equal(a, b)
    assert loss2.weights == loss.weights


def test_balancing_settings_are_checked():
    with pytest.raises(ValueError, match="alpha must lie in"):
        GradNorm(alpha=1.0)
    with pytest.raises(ValueError, match="every must be a positive integer"):
        GradNorm(every=-2)
    from pinn.cli.train import check_config

    with pytest.raises(ValueError, match="weighting.alpha must lie in"):
        check_config(["weighting=gradnorm", "weighting.alpha=1.0"])
    with pytest.raises(ValueError, match="weighting.every must be a positive integer"):
        check_config(["weighting=gradnorm", "weighting.every=-2"])


def test_modified_mlp_is_the_documented_gated_network():
    pde = Heat()
    net = _net(pde, modified=True)
    trunk = net.trunk
    assert isinstance(trunk, ModifiedTrunk) and len(trunk.encoders) == 2
    x = torch.rand(7, 2, dtype=torch.float64)
    h = (x - net.scaling.center) / net.scaling.half_width
    u, v = torch.tanh(trunk.encoders[0](h)), torch.tanh(trunk.encoders[1](h))
    for layer in trunk.layers[:-1]:
        z = torch.tanh(layer(h))
        h = (1 - z) * u + z * v
    torch.testing.assert_close(net(x), trunk.layers[-1](h), rtol=0, atol=1e-14)
    plain = _net(pde)
    assert isinstance(plain.trunk, PlainTrunk) and not hasattr(plain.trunk, "encoders")
    assert sum(p.numel() for p in net.parameters()) == sum(p.numel() for p in plain.parameters()) + 2 * (2 * 10 + 10)


def test_modified_mlp_agrees_across_engines():
    pde = Burgers()
    _engines_agree(pde, _net(pde, modified=True, fourier_features=2))
    _engines_agree(pde, _net(pde, modified=True))
    check_config(["model.modified=true", "derivatives=taylor"])
    with pytest.raises(ValueError, match="modified must be true or false"):
        _net(pde, modified=1)


def test_fourier_scale_can_be_set_per_input():
    pde = Burgers()
    net = _net(pde, fourier_features=6, fourier_scale=[4.0, 0.0])
    assert net.part(FourierFeatures).b[1].abs().max() == 0 and net.part(FourierFeatures).b[0].abs().max() > 1  # only x gets frequencies
    same = _net(pde, fourier_features=6, fourier_scale=[4.0, 4.0])
    torch.testing.assert_close(same.part(FourierFeatures).b[0], net.part(FourierFeatures).b[0])  # the same draw, scaled per input
    for bad in ([1.0, 2.0, 3.0], [0.0, 0.0], [1.0, -1.0], "big"):
        with pytest.raises(ValueError, match="fourier_scale must be a finite number > 0, or 2 numbers >= 0"):
            _net(pde, fourier_features=2, fourier_scale=bad)
    from pinn.cli.build import build

    b = build(check_config(["pde=heat2d", "model.fourier_features=4", "model.fourier_scale=[10,0,0]"]))
    assert b.model.part(FourierFeatures).b[1:].abs().max() == 0


def test_the_loss_options_are_objects_that_say_what_they_support():
    """Issue 29: PINNLoss's options are extras; each checks itself and says whether the fused step runs
    it and whether a line search must switch it off.  The 0.2 keywords still work, with a warning."""
    from pinn.training.fused_step import fused_step_support
    from pinn.training.loss_extras import DataMisfit, GradientEnhanced, PointClip, SlopeRecovery

    pde = Heat()
    assert CausalWeighting(4).fused and not GradientEnhanced(1.0).fused and DataMisfit().fused
    assert PointClip(2.0).exact_gradient and not SlopeRecovery(1.0).exact_gradient
    model = MLP(pde.domain.lower, pde.domain.upper, width=8, depth=2, generator=torch.Generator())
    fused = get_engine("fused")
    assert fused_step_support(PINNLoss(pde, fused, extras=[CausalWeighting(4), PointClip(2.0)]), model) is None
    assert "loss.gradient_weight" in fused_step_support(PINNLoss(pde, fused, extras=[GradientEnhanced(1.0)]), model)
    loss = PINNLoss(pde, get_engine("autograd"), extras=[PointClip(2.0)])
    with loss.exact_gradients():
        assert loss.point_clip == 0.0
    assert loss.point_clip == 2.0
    with pytest.raises(ValueError, match="at most one PointClip"):
        PINNLoss(pde, get_engine("autograd"), extras=[PointClip(2.0), PointClip(3.0)])
    with pytest.raises(TypeError, match="extras must be pinn.training.loss_extras objects"):
        PINNLoss(pde, get_engine("autograd"), extras=["causal"])
    with pytest.warns(DeprecationWarning, match=r"pass extras=\[CausalWeighting\(...\), PointClip\(...\)\]"):
        old = PINNLoss(pde, get_engine("autograd"), causal_chunks=4, causal_eps=2.0, point_clip=2.0)
    assert old.causal_chunks == 4 and old.causal_eps == 2.0 and old.point_clip == 2.0
