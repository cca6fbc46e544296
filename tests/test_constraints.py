"""Hard constraints: the transformed network meets its PDE's conditions exactly, for any weights."""

import pytest
import torch
from omegaconf import OmegaConf

from pinn import MLP, Burgers, HardConstraint, Heat, Heat2D, PINNLoss, Wave, get_engine, get_sampler
from pinn.pdes import Wave2D
from pinn.cli.train import check_config

CASES = {
    "burgers": (Burgers(), ("initial", "boundary")),
    "heat": (Heat(modes=[1, 3], amplitudes=[1.0, -0.5], x=[0.5, 2.0], t=[0.2, 1.0]), ("initial", "boundary")),
    "heat_neumann": (Heat(bc="neumann", modes=[0, 2], amplitudes=[0.3, 1.0]), ("initial",)),
    "wave": (Wave(x=[-1.0, 2.0], t=[0.5, 1.5]), ("initial", "initial_velocity", "boundary")),
    "heat2d": (Heat2D(modes=[[2, 1], [1, 3]], amplitudes=[1.0, 0.5], x=[0, 2], y=[-1, 1], t=[0, 3]),
               ("initial", "boundary")),
    "wave2d": (Wave2D(modes=[[1, 1], [3, 2]], amplitudes=[1.0, -0.5], x=[0, 2], y=[-1, 1], t=[1, 3]),
               ("initial", "initial_velocity", "boundary")),
}


def _model(pde, seed=0):
    net = MLP(pde.domain.lower, pde.domain.upper, width=12, depth=3, generator=torch.Generator().manual_seed(seed),
              dtype=torch.float64)
    with torch.no_grad():  # large output, so that an inexact transform could not hide
        net.trunk.layers[-1].weight.mul_(10.0)
        net.trunk.layers[-1].bias.fill_(3.0)
    return HardConstraint(net, pde)


def _points(pde, n=200):
    g = torch.Generator().manual_seed(3)
    return {w: pde.domain.sample(w, n, get_sampler("uniform"), generator=g) for w in pde.domain.point_sets}


@pytest.mark.parametrize("name", list(CASES))
def test_the_constrained_network_meets_its_conditions_exactly(name):
    pde, held = CASES[name]
    assert pde.hard_terms == held
    model = _model(pde)
    res = PINNLoss(pde, get_engine("autograd")).residuals(model, _points(pde))
    for term in held:
        assert res[term].abs().max() < 1e-12, term
    # ... and is not trivially so: the interior output moves with the weights
    interior = _points(pde)["interior"]
    assert (model(interior) - _model(pde, seed=1)(interior)).abs().max() > 1e-2


@pytest.mark.parametrize("name", ["burgers", "wave", "heat2d", "wave2d"])
def test_constrained_residuals_agree_across_engines(name):
    pde, _ = CASES[name]
    model, pts = _model(pde), _points(pde, 40)
    ra = PINNLoss(pde, get_engine("autograd")).residuals(model, pts)
    rf = PINNLoss(pde, get_engine("func")).residuals(model, pts)
    for k in ra:
        torch.testing.assert_close(ra[k], rf[k], rtol=0, atol=1e-9)


def test_the_loss_drops_the_held_terms_and_their_point_sets():
    pde = Wave()
    loss = PINNLoss(pde, get_engine("autograd"), exact=pde.hard_terms)
    assert loss.term_names == ("residual",) and loss.point_sets == ("interior",)
    total, parts = loss(_model(pde), {"interior": _points(pde)["interior"]})
    assert set(parts) == {"residual"} and total == parts["residual"]
    with pytest.raises(ValueError, match="held exactly by the hard constraint"):
        PINNLoss(pde, get_engine("autograd"), exact=pde.hard_terms, weights={"initial": 10.0})
    with pytest.raises(ValueError, match="are not conditions of wave"):
        PINNLoss(pde, get_engine("autograd"), exact=("residual",))


def test_a_pde_without_a_constraint_is_refused_with_the_fix():
    pde = Heat()
    pde.hard_terms = ()  # as a PDE that defines no constraint
    net = MLP(pde.domain.lower, pde.domain.upper, generator=torch.Generator())
    with pytest.raises(ValueError, match="defines no hard constraint.*hard_constraints=false"):
        HardConstraint(net, pde)


def test_config_wires_hard_constraints_on_every_engine_the_network_allows():
    from pinn.cli.build import build

    b = build(check_config(["pde=wave", "hard_constraints=true"]))
    assert isinstance(b.model, HardConstraint)
    assert b.points == {"interior": 5000} and b.loss.term_names == ("residual",)
    b = build(check_config(["pde=heat", "pde.bc=neumann", "hard_constraints=true"]))
    assert set(b.points) == {"interior", "boundary"}
    check_config(["hard_constraints=true", "derivatives=taylor"])  # the jets pass through the constraint
    check_config(["hard_constraints=true", "derivatives=taylor", "model.modified=true"])
    check_config(["hard_constraints=true", "derivatives=taylor", "model=per_field"])  # one network per field too


def test_a_constrained_run_reevaluates_from_its_checkpoint(tmp_path):
    from pinn.cli.build import run_training
    from pinn.cli.evaluate import evaluate_run

    cfg = check_config(["pde=wave", "hard_constraints=true", "model.modified=true", "model.width=8",
                        "model.depth=2", "points.interior=200", "stages.adam.steps=20", "stages.quasi_newton.steps=5",
                        "plots=false", "evaluation.resolution=[21,21]"])
    m = run_training(cfg, tmp_path)
    (tmp_path / ".hydra").mkdir()
    OmegaConf.save(cfg, tmp_path / ".hydra" / "config.yaml")  # as pinn-train's Hydra wrapper does
    again = evaluate_run(tmp_path)
    assert again["rel_l2"] == pytest.approx(m["rel_l2"], rel=1e-6)
