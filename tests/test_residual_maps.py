"""Residual maps: |residual| per equation over an evaluation's points, in any grad mode, chunked,
written to predictions.npz, drawn, and reported by pinn-eval."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from pinn import MLP, Burgers, Kovasznay, get_engine
from pinn.io import files as io
from pinn.evaluation.grid import evaluate_grid
from pinn.evaluation.residual_maps import evaluation_maps, points_of, residual_maps, residual_metrics


class _Product(nn.Module):
    """``u = sin(pi x) t``; Burgers residual ``s + t^2 pi s c + nu pi^2 t s`` (s, c = sin, cos(pi x))."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones((), dtype=torch.float64))

    def forward(self, p):
        return (self.scale * torch.sin(math.pi * p[:, 0]) * p[:, 1]).unsqueeze(1)


MODES = {"grad": torch.enable_grad, "no_grad": torch.no_grad, "inference_mode": torch.inference_mode}


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("engine", ["autograd", "func"])
def test_maps_are_the_closed_form_in_every_grad_mode_and_chunking(mode, engine):
    pde = Burgers()
    g = torch.Generator().manual_seed(0)
    pts = (torch.rand(103, 2, generator=g, dtype=torch.float64) * torch.tensor([2.0, 1.0]) - torch.tensor([1.0, 0.0])).numpy()
    x, t = pts[:, 0], pts[:, 1]
    s, c = np.sin(math.pi * x), np.cos(math.pi * x)
    want = np.abs(s + t ** 2 * math.pi * s * c + pde.nu * math.pi ** 2 * t * s)
    model = _Product()
    with MODES[mode]():
        got = residual_maps(model, pde, get_engine(engine), pts, chunk_size=10)["residual"]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    assert model.scale.grad is None  # evaluation leaves the parameters alone
    assert model.training  # and the model's mode


def test_every_equation_of_a_system_is_mapped_and_nan_points_stay_nan():
    pde = Kovasznay()
    net = MLP(pde.domain.lower, pde.domain.upper, width=8, depth=2, outputs=3,
              generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    pts = points_of(pde.domain.grid([7, 6]), "grid")
    pts[3] = np.nan
    maps = residual_maps(net, pde, get_engine("autograd"), pts, chunk_size=5)
    assert list(maps) == list(pde.equations) and all(m.shape == (42,) for m in maps.values())
    full = get_engine("autograd").residuals(net, torch.tensor(np.delete(pts, 3, axis=0)), pde.domain.coordinates,
                                             [t for t in pde.terms() if t.name in pde.equations], fields=pde.fields)
    for name, m in maps.items():
        assert np.isnan(m[3]) and not np.isnan(np.delete(m, 3)).any()
        np.testing.assert_allclose(np.delete(m, 3), full[name].detach().abs().numpy(), rtol=1e-13, atol=1e-15)
    rms = residual_metrics(maps)
    assert set(rms) == {f"residual_rms_{e}" for e in pde.equations} | {"residual_points", "residual_points_left_out"}
    assert rms["residual_points"] == 41 and rms["residual_points_left_out"] == 1
    assert rms["residual_rms_momentum_x"] == pytest.approx(float(np.sqrt(np.nanmean(maps["momentum_x"] ** 2))))


def test_maps_follow_the_evaluation_grid_and_round_trip_through_predictions(tmp_path):
    pde = Burgers()
    model = _Product()
    ev = evaluate_grid(model, pde, [9, 5])
    maps = evaluation_maps(ev, model, pde, get_engine("autograd"))
    assert maps["residual"].shape == (9, 5)
    xg, tg = np.meshgrid(ev.grid["x"], ev.grid["t"], indexing="ij")
    s, c = np.sin(math.pi * xg), np.cos(math.pi * xg)
    want = np.abs(s + tg ** 2 * math.pi * s * c + pde.nu * math.pi ** 2 * tg * s)
    want[[0, -1]] = np.nan  # x = -1 and x = 1: the boundary, where a condition holds, is left out
    np.testing.assert_allclose(maps["residual"], want, rtol=1e-12, atol=1e-14)
    path = io.write_predictions(tmp_path / "p.npz", ev.grid, ev.u_pred, ev.u_ref, residuals=maps)
    back = io.read_residuals(path)
    assert list(back) == ["residual"] and np.array_equal(back["residual"], maps["residual"], equal_nan=True)
    assert io.read_residuals(io.write_predictions(tmp_path / "q.npz", ev.grid, ev.u_pred, ev.u_ref)) == {}
    with pytest.raises(ValueError, match="residual_"):
        io.write_predictions(tmp_path / "r.npz", {"residual_x": ev.grid["x"]}, ev.u_pred, ev.u_ref)


def test_residuals_are_reported_over_interior_points_and_say_how_many_were_left_out():
    """Issue 34, item 3: under an exact boundary condition the residual is undefined (NaN) on the
    boundary and huge beside it; it was folded into residual_rms.  The maps now leave out the
    points within BOUNDARY_BAND of the boundary, and the metrics count them."""
    from pinn.evaluation.residual_maps import BOUNDARY_BAND, interior
    from pinn.pdes import Poisson
    from pinn.geometry.primitives import Disk

    pde = Poisson(geometry=Disk((0.5, 0.5), 0.5))
    pts = np.array([[0.5, 0.5], [1.0, 0.5], [0.5, 1.0 - 0.5 * BOUNDARY_BAND], [0.9, 0.5], [0.0, 0.0], [np.nan, 0.2]])
    assert interior(pde, pts).tolist() == [True, False, False, True, False, False]

    class _Sqrt(torch.nn.Module):  # sqrt(distance to the circle): infinite slope on it, as an ADF's root
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones((), dtype=torch.float64))

        def forward(self, x):
            r2 = ((x - 0.5) ** 2).sum(dim=1, keepdim=True)
            return self.scale * torch.sqrt((0.25 - r2).clamp(min=0))

    ev = evaluate_grid(_Sqrt(), pde, [21, 21])
    maps = evaluation_maps(ev, _Sqrt(), pde, get_engine("autograd"))
    metrics = residual_metrics(maps)
    assert np.isfinite(metrics["residual_rms_residual"])  # the boundary's infinite residuals are left out
    inside = interior(pde, points_of(ev.grid, "grid"))
    assert metrics["residual_points"] == int(inside.sum()) and metrics["residual_points_left_out"] == 21 * 21 - int(
        inside.sum())
    assert 0 < metrics["residual_points_left_out"] < 21 * 21
