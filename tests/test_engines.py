"""The autograd and torch.func engines give the same residuals and parameter gradients."""

import pytest
import torch

from pinn import MLP, Burgers, Heat, PINNLoss, Wave, get_engine, get_sampler

PDES = [Burgers(), Heat(), Wave(), Heat(alpha=0.1, modes=[1, 3], amplitudes=[1.0, -0.2]),
        Heat(bc="neumann", modes=[0, 2], amplitudes=[0.5, 1.0])]


@pytest.mark.parametrize("activation", ["tanh", "sin", "softplus"])
@pytest.mark.parametrize("pde", PDES, ids=lambda p: p.name)
def test_engines_agree_in_float64(pde, activation):
    g = torch.Generator().manual_seed(3)
    model = MLP(pde.domain.lower, pde.domain.upper, width=12, depth=3, activation=activation,
                generator=g, dtype=torch.float64)
    sampler = get_sampler("sobol")
    points = {w: pde.domain.sample(w, 64, sampler, generator=g) for w in pde.domain.point_sets}
    results = {}
    for name in ("autograd", "func", "taylor"):
        loss_fn = PINNLoss(pde, get_engine(name))
        residuals = loss_fn.residuals(model, points)
        total, _ = loss_fn(model, points)
        grads = torch.autograd.grad(total, list(model.parameters()))
        results[name] = residuals, grads
    ra, ga = results["autograd"]
    for other in ("func", "taylor"):
        rf, gf = results[other]
        assert set(ra) == set(rf) == {t.name for t in pde.terms()}
        for key in ra:
            torch.testing.assert_close(ra[key], rf[key], rtol=0, atol=1e-10, msg=f"{other} {key}")
            assert ra[key].abs().max() > 1e-6  # a random network does not satisfy the PDE
        for a, f in zip(ga, gf):
            torch.testing.assert_close(a, f, rtol=0, atol=1e-10, msg=other)


def test_taylor_engine_refuses_what_it_cannot_do():
    from pinn.diff.taylor import taylor_fields

    pde = Heat()
    net = MLP(pde.domain.lower, pde.domain.upper, width=4, depth=1, generator=torch.Generator(), dtype=torch.float64)
    with pytest.raises(ValueError, match="up to second order"):
        taylor_fields(net, torch.zeros(3, 2, dtype=torch.float64), [(0, 0, 0)])
    with pytest.raises(ValueError, match=r"differentiates an MLP \(pinn.MLP itself, or pinn.nets.per_field.PerFieldMLP\), "
                                         r"got Linear"):
        taylor_fields(torch.nn.Linear(2, 1), torch.zeros(3, 2), [(0,)])


def test_unknown_engine_lists_choices():
    with pytest.raises(ValueError, match="choose one of: autograd, func, fused, taylor"):
        get_engine("jet")
