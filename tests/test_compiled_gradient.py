"""The compiled loss-and-gradient (``trainer.compile_gradient``): the same numbers as the eager
autograd engine, training that moves the parameters (a compiled step that silently stops
updating is caught), the fallback, and the option's wiring."""

import logging

import pytest
import torch

from pinn import MLP, Burgers, Heat, Kovasznay, PINNLoss, Wave, get_engine, get_sampler
from pinn.training.compiling import CompiledGradient

PDES = [Burgers(), Heat(), Wave(), Heat(bc="neumann", modes=[0, 2], amplitudes=[0.5, 1.0]), Kovasznay()]


def _setup(pde, activation="tanh", seed=3, n=64):
    g = torch.Generator().manual_seed(seed)
    model = MLP(pde.domain.lower, pde.domain.upper, width=12, depth=3, activation=activation, generator=g,
                dtype=torch.float64, outputs=len(pde.fields))
    sampler = get_sampler("sobol")
    points = {w: pde.domain.sample(w, n, sampler, generator=g) for w in PINNLoss(pde, get_engine("taylor")).point_sets}
    return model, points


@pytest.mark.parametrize("activation", ["tanh", "sin", "softplus"])
@pytest.mark.parametrize("pde", PDES, ids=lambda p: p.name)
def test_the_compiled_gradient_is_the_autograd_engines_in_float64(pde, activation):
    model, points = _setup(pde, activation)
    eager = PINNLoss(pde, get_engine("autograd"))
    loss, parts = eager(model, points)
    grads = torch.autograd.grad(loss, list(model.parameters()))
    compiled = CompiledGradient(PINNLoss(pde, get_engine("taylor")), model, backend="aot_eager")
    c_loss, c_parts = compiled.loss_and_grad(model, points)
    assert compiled.failed is None
    torch.testing.assert_close(c_loss, loss.detach(), rtol=1e-12, atol=1e-12)
    assert set(c_parts) == set(parts)
    for k in parts:
        torch.testing.assert_close(c_parts[k], parts[k].detach(), rtol=1e-12, atol=1e-12, msg=k)
    for p, g in zip(model.parameters(), grads):
        torch.testing.assert_close(p.grad, g, rtol=0, atol=1e-10)
        assert g.abs().max() > 1e-8


def _adam(model, loss, points, steps, compiled=None):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        if compiled is None:
            value, _ = loss(model, points)
            value.backward()
        else:
            value, _ = compiled.loss_and_grad(model, points)
        opt.step()
        losses.append(float(value.detach()))
    return losses


@pytest.mark.parametrize("backend", ["aot_eager", "inductor"])
def test_fifty_compiled_steps_match_the_eager_steps_and_move_the_parameters(backend):
    pde = Burgers()
    a, points = _setup(pde)
    b, _ = _setup(pde)
    start = [p.detach().clone() for p in b.parameters()]
    eager = _adam(a, PINNLoss(pde, get_engine("autograd")), points, 50)
    compiled = CompiledGradient(PINNLoss(pde, get_engine("taylor")), b, backend=backend)
    fused = _adam(b, None, points, 50, compiled)
    assert compiled.failed is None
    # the trap of compiling a whole step naively: the loss stays at its first value and nothing moves
    assert fused[-1] < 0.9 * fused[0]
    assert all((p.detach() - s).abs().max() > 1e-4 for p, s in zip(b.parameters(), start))
    torch.testing.assert_close(torch.tensor(fused), torch.tensor(eager), rtol=1e-6, atol=0)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)


def test_a_loss_it_cannot_compile_runs_eagerly_with_one_warning(caplog):
    pde = Heat()
    model, points = _setup(pde)
    # the autograd engine calls torch.autograd.grad inside the loss: torch.func.grad cannot trace it
    compiled = CompiledGradient(PINNLoss(pde, get_engine("autograd")), model, backend="aot_eager")
    with caplog.at_level(logging.WARNING, logger="pinn.training.compiling"):
        losses = _adam(model, None, points, 5, compiled)
    assert compiled.failed is not None
    assert sum("running them eagerly" in r.getMessage() for r in caplog.records) == 1
    assert losses[-1] < losses[0]
    model2, _ = _setup(pde)
    assert _adam(model2, PINNLoss(pde, get_engine("autograd")), points, 5) == losses
