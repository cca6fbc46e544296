"""A coefficient field learned beside the solution (PINNacle's HInv): observations of one field
of a system, absolute noise, the residual on the exact pair, and the config checks."""

import numpy as np
import pytest
import torch

from pinn import PINNLoss, get_engine, get_sampler
from pinn.physics.observations import load_observations, sample_observations
from pinn.pdes import HeatInverse
from pinn.training.loss_extras import DataMisfit


class _Exact(torch.nn.Module):
    def __init__(self, pde, scale_a=1.0):
        super().__init__()
        self.pde, self.scale_a = pde, scale_a
        self.dummy = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

    def forward(self, x):
        s = self.pde.solution({"x": x[:, 0], "y": x[:, 1], "t": x[:, 2]})
        return torch.stack([s["u"], self.scale_a * s["a"]], dim=1) + 0 * self.dummy


def _points(pde, n=300):
    g = torch.Generator().manual_seed(0)
    return {w: pde.domain.sample(w, n, get_sampler("uniform"), generator=g) for w in pde.domain.point_sets}


def test_residual_vanishes_on_the_exact_pair_and_sees_a_wrong_coefficient():
    pde = HeatInverse()
    loss = PINNLoss(pde, get_engine("autograd"))
    res = loss.residuals(_Exact(pde), _points(pde))
    assert max(float(r.detach().abs().max()) for r in res.values()) < 1e-12
    assert float(loss.residuals(_Exact(pde, 1.1), _points(pde))["residual"].detach().abs().max()) > 0.1


def test_observations_of_one_field_of_a_system_are_fitted_to_that_field(tmp_path):
    pde = HeatInverse()
    g = torch.Generator().manual_seed(0)
    obs = sample_observations(pde, 500, noise_std=0.1, sampler=get_sampler("uniform"), generator=g, field="u")
    assert obs.field == "u" and obs.points.shape == (500, 3)
    clean = pde.solution(dict(zip(("x", "y", "t"), obs.points.numpy().T)))["u"]
    noise = obs.values.numpy() - clean
    assert 0.09 < noise.std() < 0.11 and abs(noise.mean()) < 0.02  # absolute std 0.1, PINNacle's convention
    loss = PINNLoss(pde, get_engine("autograd"), extras=[DataMisfit("u")])
    pts = {**_points(pde), "data": obs.points, "data_values": torch.as_tensor(clean)}
    _, parts = loss(_Exact(pde), pts)
    assert float(parts["data"].detach()) < 1e-28  # the u column is compared, not a
    wrong = PINNLoss(pde, get_engine("autograd"), extras=[DataMisfit("a")])
    assert float(wrong(_Exact(pde), pts)[1]["data"].detach()) > 1.0
    with pytest.raises(ValueError, match=r"data.field 'w' is not a field of heat_inverse; its fields are \['u', 'a'\]"):
        sample_observations(pde, 5, sampler=get_sampler("uniform"), generator=g, field="w")
    with pytest.raises(ValueError, match="not both"):
        sample_observations(pde, 5, noise=0.1, noise_std=0.1, sampler=get_sampler("uniform"), generator=g)
    # from a file: the column named after the field
    np.savez(tmp_path / "obs.npz", x=np.zeros(3), y=np.zeros(3), t=np.zeros(3), a=np.full(3, 2.0))
    got = load_observations(tmp_path / "obs.npz", ("x", "y", "t"), field="a")
    assert got.field == "a" and got.values.tolist() == [2.0, 2.0, 2.0]


def test_the_preset_composes_and_a_typo_in_the_field_fails_at_start_up():
    from pinn.cli.build import build
    from pinn.cli.compose import compose_config

    job = build(compose_config(["experiment=hinv", "model.width=8", "model.depth=2", "data.at=null",
                                "data.samples=100"]))
    assert job.observations.field == "u" and job.loss.data_column == 0
    assert job.loss.term_names == ("residual", "steady_a", "data")  # boundary_a is held by the hard constraint
    with pytest.raises(ValueError, match="data.field 'b' is not a field of heat_inverse"):
        build(compose_config(["experiment=hinv", "data.field=b"]))


def test_a_constant_added_to_u_is_invisible_to_the_physics_the_floor_of_the_u_target():
    """u + c solves the same problem with the same a for every constant c (no term of the residual
    or of the conditions reads u itself), so only the 2,500 noisy values pin c: an unbiased estimate
    has std 0.1 / sqrt(2500) = 2e-3, which is 6.1e-3 of u's rms on the evaluation grid, above the
    issue's 5e-3 target for u before any other unpinned mode is counted (docs/accuracy.md)."""
    pde = HeatInverse()

    class _Shifted(_Exact):
        def forward(self, x):
            return super().forward(x) + torch.tensor([0.3, 0.0], dtype=torch.float64)

    loss = PINNLoss(pde, get_engine("autograd"))
    res = loss.residuals(_Shifted(pde), _points(pde))
    assert max(float(r.detach().abs().max()) for r in res.values()) < 1e-12
    grid = np.meshgrid(np.linspace(-1, 1, 51), np.linspace(-1, 1, 51), np.linspace(0, 1, 11), indexing="ij")
    rms = np.sqrt(np.mean(pde.solution(dict(zip("xyt", grid)))["u"] ** 2))
    assert 0.1 / np.sqrt(2500) / rms > 6e-3
