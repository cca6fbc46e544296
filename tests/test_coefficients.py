import pytest
import torch

from pinn import MLP, Heat, PINNLoss, get_engine, get_sampler
from pinn.physics.coefficients import WithCoefficients, make_learnable
from pinn.physics.observations import sample_observations
from pinn.training.loss_extras import DataMisfit


def _net(pde):
    return MLP(pde.domain.lower, pde.domain.upper, width=8, depth=2, generator=torch.Generator().manual_seed(0),
               dtype=torch.float64)


def test_learned_coefficient_is_shared_by_the_residual_and_gets_gradients():
    truth, pde = Heat(alpha=0.4), Heat(alpha=0.4)
    model = make_learnable(pde, _net(pde), ["alpha"], [0.1])
    assert isinstance(model, WithCoefficients) and pde.alpha is model.coefficients["alpha"]
    assert model.values() == {"alpha": 0.1} and truth.alpha == 0.4
    g = torch.Generator().manual_seed(1)
    obs = sample_observations(truth, 50, sampler=get_sampler("uniform"), generator=g)
    pts = {w: pde.domain.sample(w, 30, get_sampler("uniform"), generator=g) for w in pde.domain.point_sets}
    pts.update(data=obs.points, data_values=obs.values)
    for engine in ("autograd", "func"):
        total, parts = PINNLoss(pde, get_engine(engine), extras=[DataMisfit()])(model, pts)
        (grad,) = torch.autograd.grad(total, [model.coefficients["alpha"]])
        assert grad.abs() > 0 and parts["alpha"] == 0.1
    assert "coefficients.alpha" in model.state_dict()


@pytest.mark.parametrize("names,init,match", [(["beta"], [1.0], "no coefficient 'beta'"),
                                              (["alpha"], [], "one initial guess"),
                                              (["alpha", "alpha"], [1.0, 2.0], "one initial guess"),
                                              (["alpha"], [float("nan")], "finite number")])
def test_bad_learn_settings(names, init, match):
    pde = Heat()
    with pytest.raises(ValueError, match=match):
        make_learnable(pde, _net(pde), names, init)


@pytest.mark.slow
def test_short_inverse_run_moves_the_coefficient_towards_the_truth(tmp_path):
    from pinn.cli.build import run_training
    from pinn.cli.train import check_config

    cfg = check_config(["pde=heat", "pde.learn=[alpha]", "pde.learn_init=[0.2]", "data.samples=500",
                        "points.interior=500", "model.depth=4", "stages.adam.steps=200", "stages.quasi_newton.steps=300",
                        "plots=false", "evaluation.resolution=[41,41]"])
    metrics = run_training(cfg, tmp_path)
    assert abs(metrics["learned"]["alpha"] - 0.4) < 0.01, metrics["learned"]
    header = (tmp_path / "history.csv").read_text().splitlines()[0].split(",")
    assert "alpha" in header and "data" in header
