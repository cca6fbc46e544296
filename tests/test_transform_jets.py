"""Hard constraints on the jet engines (``taylor``, ``fused``): the constrained network's derivatives
pushed through its output transform (:mod:`pinn.diff.transform_jets`) against autograd of the
wrapped network itself, in float64, for every built-in PDE that has one; the affine coefficients
against the general chain rule; and the fused step compiled with distance functions inside."""

import shutil

import pytest
import torch

from pinn import MLP, HardConstraint, PINNLoss, get_engine, get_sampler
from pinn import pdes as P
from pinn.diff import jets
from pinn.diff.transform_jets import AffineJets, affine_jets, through
from pinn.training.fused_step import FusedStep

HAS_CXX = any(shutil.which(c) for c in ("g++", "c++", "clang++"))
BACKEND = "inductor" if HAS_CXX else "aot_eager"

#: every built-in PDE with a hard constraint and derivatives up to second order (KS reads fourth)
CONSTRAINED = ["AllenCahn", "Burgers", "GrayScott", "Heat", "Heat2D", "HeatInverse", "HeatLongTime", "HeatVaryingCoef",
               "LidDrivenCavity", "Poisson", "PoissonHoles", "PoissonInverse", "Schrodinger", "Wave", "Wave2D"]


def _setup(pde, *, n=40, seed=3, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    net = MLP(pde.domain.lower, pde.domain.upper, width=10, depth=3, generator=g, dtype=dtype,
              outputs=len(pde.fields))
    model = HardConstraint(net, pde)
    sets = PINNLoss(pde, get_engine("autograd"), exact=pde.hard_terms).point_sets
    points = {w: pde.domain.sample(w, n, get_sampler("sobol"), generator=g).to(dtype) for w in sets}
    return model, points


def _relative(a, b):
    a, b = a.detach(), b.detach()
    return float((a - b).abs().max()) / max(float(b.abs().max()), 1e-30)


@pytest.mark.parametrize("name", CONSTRAINED)
def test_constrained_residuals_and_gradients_on_the_jet_engines_are_autograds(name):
    """Residuals (taylor engine), loss, parts and every parameter's gradient (the fused step, run
    eagerly: the maths) against the autograd engine differentiating the constrained network."""
    pde = getattr(P, name)()
    model, points = _setup(pde)
    reference = PINNLoss(pde, get_engine("autograd"), exact=pde.hard_terms)
    expected = reference.residuals(model, points)
    mine = PINNLoss(pde, get_engine("taylor"), exact=pde.hard_terms).residuals(model, points)
    assert set(mine) == set(expected)
    for k in expected:
        assert _relative(mine[k], expected[k]) < 1e-12, k
    loss, parts = reference(model, points)
    grads = torch.autograd.grad(loss, list(model.parameters()))
    fused = FusedStep(PINNLoss(pde, get_engine("fused"), exact=pde.hard_terms), model, backend=None)
    f_loss, f_parts = fused.loss_and_grad(model, points)
    assert fused._data_found[0]  # every built-in constraint is affine in the network's output: its coefficients
    assert _relative(f_loss, loss.detach()) < 1e-12
    for p, g in zip(model.parameters(), grads):
        assert g.abs().max() > 0
        assert _relative(p.grad, g) < 1e-10


def _mixing(raw, x):
    """A transform neither affine nor per field: the chain rule's every term is exercised."""
    u, v = raw.unbind(-1)
    s = torch.sin(x[:, 0] * x[:, 1]) + x[:, 2] ** 2
    return torch.stack([u * v * s + torch.exp(x[:, 0]), torch.tanh(u) * x[:, 2] + v * s * s], dim=-1)


def _affine(raw, x):
    """Affine in the output, with fields mixed by a matrix of the coordinates."""
    u, v = raw.unbind(-1)
    return torch.stack([torch.cos(x[:, 0]) + x[:, 1] * x[:, 2] * u + torch.sin(x[:, 2]) * v,
                        x[:, 0] ** 3 * u + torch.exp(-x[:, 1]) * v], dim=-1)


def _by_autograd(fn, x, index):
    x = x.clone().requires_grad_(True)
    out = fn(x)
    cols = []
    for f in range(out.shape[1]):
        d = out[:, f]
        for j in index:
            d = torch.autograd.grad(d.sum(), x, create_graph=True)[0][:, j]
        cols.append(d)
    return torch.stack(cols, dim=-1)


@pytest.mark.parametrize("transform", [_mixing, _affine], ids=["nonlinear", "affine"])
def test_the_chain_rule_through_a_transform_gives_autograds_mixed_derivatives(transform):
    g = torch.Generator().manual_seed(1)
    net = MLP(torch.tensor([-1.0, 0.0, 2.0]), torch.tensor([1.0, 3.0, 5.0]), width=7, depth=3, generator=g,
              dtype=torch.float64, outputs=2)
    requests = [(torch.rand(9, 3, generator=g, dtype=torch.float64) * 2 + 1, {(0, 1), (2, 2), (1,)}),
                (torch.rand(5, 3, generator=g, dtype=torch.float64) * 2 + 1, set())]
    closed = [(p, jets.closed(i)) for p, i in requests]
    plan = jets.make_plan([(p.shape[0], i) for p, i in closed])
    layers = net.trunk.layers
    out = jets.forward([la.weight for la in layers], [la.bias for la in layers], net.trunk.activations,
                       net.scaling.center, net.scaling.half_width, plan, jets.stack(closed, plan))
    raw = jets.split(out, plan, 2)
    found = affine_jets(transform, closed, 2)
    assert (found is None) == (transform is _mixing)
    for k, (points, wanted) in enumerate(requests):
        general = through(transform, points, raw[k], 2, wanted)
        assert set(general) == set(wanted) | {()}
        for index, value in general.items():
            expected = _by_autograd(lambda x: transform(net(x), x), points, index)
            torch.testing.assert_close(value, expected, rtol=0, atol=1e-12, msg=str(index))
            if found is not None:
                torch.testing.assert_close(found.apply(k, raw[k], 2, wanted)[index], expected, rtol=0, atol=1e-12)
    if found is not None:  # the flat form the compiled graph takes, and back
        again = AffineJets.from_tensors(found.layout, found.tensors())
        assert all(a is b for a, b in zip(again.tensors(), found.tensors()))


@pytest.mark.parametrize("backend", ["aot_eager", pytest.param("inductor", marks=pytest.mark.skipif(
    not HAS_CXX, reason="inductor needs a C++ compiler"))])
def test_the_compiled_fused_step_with_distance_functions_follows_refilled_points(backend):
    """Poisson on a plate with holes, both conditions exact through distance functions: the step
    compiles (no eager fallback) and gives the eager loss; after the points are refilled in place (as
    resampling does) the coefficients follow them."""
    pde = P.PoissonHoles()
    model, points = _setup(pde, n=64)
    fused = FusedStep(PINNLoss(pde, get_engine("fused"), exact=pde.hard_terms), model, backend=backend)
    reference = PINNLoss(pde, get_engine("autograd"), exact=pde.hard_terms)
    for seed in (0, 1):
        if seed:  # in place, as RAR-D's refill
            fresh = pde.domain.sample("interior", 64, get_sampler("sobol"), generator=torch.Generator().manual_seed(9))
            points["interior"].copy_(fresh.to(points["interior"].dtype))
        f_loss, _ = fused.loss_and_grad(model, points)
        loss, _ = reference(model, points)
        assert fused.failed is None, fused.failed
        assert _relative(f_loss, loss.detach()) < 1e-10


def test_a_network_inside_a_hard_constraint_is_still_an_mlp():
    from pinn.nets.per_field import PerFieldMLP

    pde = P.Heat()
    inner = PerFieldMLP(pde.domain.lower, pde.domain.upper, generator=torch.Generator().manual_seed(0), width=8, depth=2)
    own = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))  # the user's layers
    for engine in ("taylor", "fused"):
        get_engine(engine).check(HardConstraint(inner, pde))  # one network per field is taken
        with pytest.raises(ValueError, match="an MLP .pinn.MLP itself, or pinn.nets.per_field.PerFieldMLP. inside a hard "
                                             "constraint, got Sequential"):
            get_engine(engine).check(HardConstraint(own, pde))
