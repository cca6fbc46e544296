"""Jets through every MLP (:mod:`pinn.diff.network_jets`): periodic inputs, Fourier features, the
modified trunk, adaptive slopes and one network per field, on the ``taylor`` engine and the fused step's vjp path, against
autograd of the network itself in float64; and the fused step compiled on them without falling
back to eager."""

import shutil

import pytest
import torch

from pinn import MLP, HardConstraint, PINNLoss, get_engine, get_sampler
from pinn import pdes as P
from pinn.diff import jets, network_jets
from pinn.nets.per_field import PerFieldMLP
from pinn.training.fused_step import FusedStep

HAS_CXX = any(shutil.which(c) for c in ("g++", "c++", "clang++"))

NETWORKS = [  # (PDE, the network's options, hard constraint)
    ("Heat", {"fourier_features": 4}, False),
    ("Burgers", {"modified": True, "fourier_features": 2}, False),
    ("Wave", {"modified": True}, True),
    ("AllenCahn", {"modified": True, "periodic": (0,)}, True),
    ("Kovasznay", {"adaptive": "layer"}, False),
    ("Schrodinger", {"modified": True, "periodic": (0,), "fourier_features": 3, "adaptive": "global"}, True),
    # one network per field: side by side, a field that sees only some coordinates, inside a constraint
    ("Kovasznay", {"per_field": {}, "modified": True}, False),
    ("PoissonInverse", {"per_field": {"a": ["y"]}, "fourier_features": 2}, True),
    ("Schrodinger", {"per_field": {}, "periodic": (0,), "adaptive": "layer"}, True),
]


def _setup(name, kwargs, hard, *, n=30, seed=0):
    pde = getattr(P, name)()
    g = torch.Generator().manual_seed(seed)
    kwargs = dict(kwargs)
    inputs = kwargs.pop("per_field", None)
    if inputs is None:
        net = MLP(pde.domain.lower, pde.domain.upper, width=10, depth=3, generator=g, dtype=torch.float64,
                  outputs=len(pde.fields), **kwargs)
    else:
        net = PerFieldMLP(pde.domain.lower, pde.domain.upper, width=8, depth=3, generator=g, dtype=torch.float64,
                          outputs=len(pde.fields), inputs=inputs, coordinates=pde.domain.coordinates,
                          fields=pde.fields, **kwargs)
    model = HardConstraint(net, pde) if hard else net
    exact = pde.hard_terms if hard else ()
    sets = PINNLoss(pde, get_engine("autograd"), exact=exact).point_sets
    points = {w: pde.domain.sample(w, n, get_sampler("sobol"), generator=g).double() for w in sets}
    return pde, model, exact, points


def _relative(a, b):
    a, b = a.detach(), b.detach()
    return float((a - b).abs().max()) / max(float(b.abs().max()), 1e-30)


@pytest.mark.parametrize("name,kwargs,hard", NETWORKS, ids=lambda v: v if isinstance(v, str) else None)
def test_every_network_on_the_jet_engines_is_autograds(name, kwargs, hard):
    """Residuals (taylor), loss and every parameter's gradient (taylor by autograd, the fused step's vjp
    path run eagerly) against the autograd engine; the slopes and encoders get theirs too."""
    pde, model, exact, points = _setup(name, kwargs, hard)
    reference = PINNLoss(pde, get_engine("autograd"), exact=exact)
    expected = reference.residuals(model, points)
    mine = PINNLoss(pde, get_engine("taylor"), exact=exact).residuals(model, points)
    for k in expected:
        assert _relative(mine[k], expected[k]) < 1e-12, k
    loss, _ = reference(model, points)
    grads = torch.autograd.grad(loss, list(model.parameters()))
    fused = FusedStep(PINNLoss(pde, get_engine("fused"), exact=exact), model, backend=None)
    assert not fused.adjoint  # the vjp path
    before = list(model.parameters())
    f_loss, _ = fused.loss_and_grad(model, points)
    # the network keeps its own parameters (a shared slope swapped and restored under every name would not)
    assert all(p is q for p, q in zip(model.parameters(), before)) and len(list(model.parameters())) == len(before)
    assert _relative(f_loss, loss) < 1e-12
    for (pname, p), g in zip(model.named_parameters(), grads):
        # every parameter moves the loss, but the output bias of a field network whose constant the loss
        # does not see (Kovasznay's pressure, read through its derivatives; PInv's constrained u)
        assert g.abs().max() > 0 or "per_field" in kwargs and pname.endswith("layers.3.bias"), pname
        assert _relative(p.grad, g) < 1e-10 if g.abs().max() > 0 else p.grad.abs().max() == 0, pname


def test_the_input_jets_are_the_embeddings_derivatives():
    """E, E_i and E_ij of a periodic-and-Fourier embedding against autograd, on the rows of a plan
    with a set that reads derivatives beside one that does not."""
    pde = P.Schrodinger()
    g = torch.Generator().manual_seed(2)
    net = MLP(pde.domain.lower, pde.domain.upper, width=6, depth=2, generator=g, dtype=torch.float64,
              periodic=(0,), fourier_features=3)
    requests = [(7, jets.closed({(0, 1), (0, 0)})), (5, frozenset())]
    plan = jets.make_plan(requests)
    x = pde.domain.sample("interior", plan.rows, get_sampler("sobol"), generator=g).double()
    embed = network_jets.embedder(net)
    got = network_jets.input_jets(embed, x, plan)
    n, m = plan.rows, plan.stream_rows
    assert got.shape == (n + m * plan.streams, 2 + 1 + 6)
    torch.testing.assert_close(got[:n], embed(x), rtol=0, atol=0)
    xs = x[:m].clone().requires_grad_(True)
    e = embed(xs)
    streams = got[n:].split(m)
    for s, index in zip(streams, [(j,) for j in plan.firsts] + list(plan.seconds)):
        for f in range(e.shape[1]):
            d = e[:, f]
            for j in index:
                d = torch.autograd.grad(d.sum(), xs, create_graph=True)[0][:, j]
            torch.testing.assert_close(s[:, f], d, rtol=0, atol=1e-12, msg=f"{index} {f}")


@pytest.mark.parametrize("backend", ["aot_eager", pytest.param("inductor", marks=pytest.mark.skipif(
    not HAS_CXX, reason="inductor needs a C++ compiler"))])
def test_the_compiled_vjp_path_trains_and_follows_refilled_points(backend):
    """The modified, periodic, adaptive network inside a hard constraint: the step compiles (no eager
    fallback), gives the eager loss, its Adam steps lower it, and the input jets follow points
    refilled in place."""
    pde, model, exact, points = _setup(*NETWORKS[5])
    fused = FusedStep(PINNLoss(pde, get_engine("fused"), exact=exact), model, backend=backend)
    reference = PINNLoss(pde, get_engine("autograd"), exact=exact)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lr, one = torch.tensor(1e-3, dtype=torch.float64), torch.ones((), dtype=torch.float64)
    first, _, ok = fused.adam_step(opt, points, lr=lr, poison=one)
    for _ in range(20):
        last, _, ok = fused.adam_step(opt, points, lr=lr, poison=one)
    assert fused.failed is None, fused.failed
    assert bool(ok) and float(last) < float(first)
    fresh = pde.domain.sample("interior", 30, get_sampler("sobol"), generator=torch.Generator().manual_seed(9))
    points["interior"].copy_(fresh.double())
    f_loss, _ = fused.loss_and_grad(model, points)
    assert _relative(f_loss, reference(model, points)[0]) < 1e-10
