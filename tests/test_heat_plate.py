"""Heat2d-CG (issue 31): Robin conditions on named parts of a perforated plate, and the finite-element
reference, checked against the closed-form series solution on a rectangle."""

import math

import numpy as np
import pytest
import torch

from pinn.geometry import Perforated
from pinn.physics.normals import robin
from pinn.physics.shape_domain import ShapeDomain

pytest.importorskip("skfem")
pytest.importorskip("gmsh")


def _roots(a: float, transfer: float, n: int) -> np.ndarray:
    """The first ``n`` roots ``mu`` of ``mu tan(mu) = transfer a``, one in each ``(j pi, j pi + pi/2)``."""
    from scipy.optimize import brentq

    return np.array([brentq(lambda m: m * math.tan(m) - transfer * a, j * math.pi + 1e-12,
                            j * math.pi + math.pi / 2 - 1e-12) for j in range(n)])


def _series(x, t, a: float, transfer: float, k: float, n: int = 200):
    """``(X, X_x, X_xx, X_t)``: the 1-D solution of ``X_t = k X_xx`` on ``[-a, a]``, ``dX/dn = -transfer
    X`` at both ends, ``X = 1`` at ``t = 0`` (Carslaw and Jaeger, sec. 3.10), and its derivatives."""
    mu = _roots(a, transfer, n)
    lam = mu / a
    c = 2 * np.sin(mu) / (mu + np.sin(mu) * np.cos(mu))
    decay = c * np.exp(-k * lam**2 * np.asarray(t, dtype=np.float64)[..., None])
    phase = np.multiply.outer(np.asarray(x, dtype=np.float64), lam)
    cos, sin = np.cos(phase), np.sin(phase)
    return ((decay * cos).sum(-1), (-decay * lam * sin).sum(-1), (-decay * lam**2 * cos).sum(-1),
            (-k * decay * lam**2 * cos).sum(-1))


def _exact(x, y, t, *, a=1.0, b=1.5, transfer=2.0, k=0.5, g=1.0):
    """``u = g (1 - X(x) Y(y))`` on ``[-a, a] x [-b, b]``: ``u_t = k Lap(u)``, ``du/dn = transfer (g - u)``
    on the sides, ``u = 0`` at ``t = 0``; ``{u, u_x, u_y, u_xx, u_yy, u_t}``."""
    X, Xx, Xxx, Xt = _series(x, t, a, transfer, k)
    Y, Yy, Yyy, Yt = _series(y, t, b, transfer, k)
    return {"u": g * (1 - X * Y), "u_x": -g * Xx * Y, "u_y": -g * X * Yy, "u_xx": -g * Xxx * Y,
            "u_yy": -g * X * Yyy, "u_t": -g * (Xt * Y + X * Yt)}


def test_the_heat_plate_residual_and_robin_terms_vanish_on_the_series_solution():
    from pinn.pdes import HeatPlate
    from pinn.physics.sampling import get_sampler

    pde = HeatPlate(geometry=Perforated([-1, -1.5], [1, 1.5]), robin={"outer": 1.0}, transfer=2.0, diffusivity=0.5,
                    t=(0.0, 0.5))
    gen = torch.Generator().manual_seed(0)
    sampler = get_sampler("uniform")
    for which, term in (("interior", None), *((t.points, t) for t in pde.conditions() if t.name != "initial")):
        pts = pde.domain.sample(which, 200, sampler, generator=gen).numpy()
        t = np.maximum(pts[:, 2], 0.05)  # the series converges slowly at t = 0
        coords = {"x": torch.from_numpy(pts[:, 0]), "y": torch.from_numpy(pts[:, 1]), "t": torch.from_numpy(t)}
        fields = {k: torch.from_numpy(v) for k, v in _exact(pts[:, 0], pts[:, 1], t).items()}
        r = pde.residual(fields, coords) if term is None else term.fn(fields, coords)
        assert r.abs().max() < 1e-9, which
        if term is not None:  # and a wrong solution does not satisfy the term
            fields["u"] = fields["u"] + 0.01
            assert term.fn(fields, coords).abs().min() > 1e-3


def test_a_robin_condition_on_a_hole_takes_the_normal_into_the_hole():
    """``u = r^2`` about a hole's centre: ``du/dn = -2 r`` with ``n`` pointing into the hole."""
    plate = Perforated([-2, -2], [2, 2], {"ring": [[0.0, 0.0, 0.5]]})
    domain = ShapeDomain(plate, (0.0, 1.0), names=("x", "y"))
    assert plate.parts == ("outer", "ring") and plate.hole_parts == ("ring",)
    term = robin(domain, "ring", 3.0, transfer=2.0)
    assert term.name == "ring" and term.points == "boundary:ring" and term.fields == ("u", "u_x", "u_y")
    from pinn.physics.sampling import get_sampler

    pts = domain.sample("boundary:ring", 64, get_sampler("uniform"), generator=torch.Generator().manual_seed(1))
    x, y, t = pts.unbind(1)
    r = torch.hypot(x, y)
    assert torch.allclose(r, torch.full_like(r, 0.5), atol=1e-12)
    got = term.fn({"u": r**2, "u_x": 2 * x, "u_y": 2 * y}, {"x": x, "y": y, "t": t})
    torch.testing.assert_close(got, -2 * r - 2.0 * (3.0 - r**2), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match=r"no boundary part 'hole'.*\['outer', 'ring'\]"):
        robin(domain, "hole", 1.0)


def test_the_finite_element_solution_converges_to_the_series_on_a_rectangle():
    from pinn.pdes._fem import heat_robin

    plate = Perforated([-1, -1.5], [1, 1.5])
    pts = np.random.default_rng(0).uniform([-1, -1.5], [1, 1.5], size=(300, 2))
    errors = []
    for h, dt in ((0.4, 0.01), (0.2, 0.005)):
        times, u = heat_robin(plate, {"outer": 1.0}, pts, transfer=2.0, diffusivity=0.5, h=h, dt=dt, t_end=0.5)
        np.testing.assert_allclose(times, np.arange(6) * 0.1, atol=1e-12)
        assert np.all(u[0] == 0.0)
        exact = np.stack([_exact(pts[:, 0], pts[:, 1], np.full(len(pts), s))["u"] for s in times[1:]])
        errors.append(np.linalg.norm(u[1:] - exact) / np.linalg.norm(exact))
    assert errors[1] < 4e-4 and errors[0] / errors[1] > 3, errors  # BDF2 and P2: about 4x per halving


def test_the_reference_is_cached_and_keyed_by_what_it_depends_on(tmp_path, monkeypatch):
    from pinn.pdes import heat_plate

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    plate = Perforated([-1, -1], [1, 1], {"big": [[0.0, 0.0, 0.3]]})
    pts = np.array([[0.5, 0.5], [-0.9, 0.0], [0.0, 0.3]])  # the last on the circle
    ref = heat_plate.reference(plate, {"outer": 0.0, "big": 1.0}, pts, t_end=0.2, h=0.2, dt=0.01)
    assert ref["u"].shape == (3, 3) and len(list((tmp_path / "pinn").glob("heat2d_cg_*.npz"))) == 1
    # heat flows in from the hot circle: warmest on it, every point warming
    assert np.all(ref["u"][2] > ref["u"][1]) and ref["u"][2, 2] > ref["u"][2, 0] > 0
    again = heat_plate.reference(plate, {"outer": 0.0, "big": 1.0}, pts, t_end=0.2, h=0.2, dt=0.01)
    np.testing.assert_array_equal(again["u"], ref["u"])
    heat_plate.reference(plate, {"outer": 0.0, "big": 2.0}, pts, t_end=0.2, h=0.2, dt=0.01)
    assert len(list((tmp_path / "pinn").glob("heat2d_cg_*.npz"))) == 2


def test_heat2d_cg_is_pinnacles_plate_and_refuses_bad_input():
    from pinn.geometry import Ball
    from pinn.pdes import HeatPlate

    pde = HeatPlate()
    assert pde.plate.parts == ("outer", "big", "small") and len(pde.plate.holes) == 17
    assert [t.name for t in pde.conditions()] == ["initial", "outer", "big", "small"]
    assert pde.robin == {"outer": 0.1, "big": 5.0, "small": 1.0}
    xy = pde.scoring_points()
    assert len(xy) > 5000 and (pde.plate.sdf(torch.from_numpy(xy)) <= 0).all()
    with pytest.raises(ValueError, match=r"robin must give g for each boundary part \['outer', 'big', 'small'\]"):
        HeatPlate(robin={"outer": 0.1})
    with pytest.raises(ValueError, match="plate with holes"):
        HeatPlate(geometry=Ball([0.0, 0.0], 1.0))
    with pytest.raises(ValueError, match="multiple of 0.1"):
        HeatPlate(t=(0.0, 0.25))
    with pytest.raises(ValueError, match="reference_dt must divide 0.1"):
        HeatPlate(reference_dt=0.03)
    with pytest.raises(ValueError, match="reference_h"):
        HeatPlate(reference_h=0.0)
    from pinn.pdes._fem import perforated_mesh

    for h, refine in ((0.0, 4.0), (float("nan"), 4.0), (0.1, 0.5)):
        with pytest.raises(ValueError, match="must be a"):
            perforated_mesh(pde.plate, h, refine=refine)
    with pytest.raises(ValueError, match="names other than 'outer'"):
        Perforated([-1, -1], [1, 1], {"outer": [[0, 0, 0.1]]})


def test_the_wall_layer_solves_the_half_space_robin_problem():
    """``w_t = k w_dd``, ``-w_d = h (1 - w)`` at ``d = 0``, ``w = 0`` at ``t = 0``: autograd in float64."""
    from pinn.pdes.heat_plate import wall_layer

    g = torch.Generator().manual_seed(0)
    d = (2 * torch.rand(64, generator=g, dtype=torch.float64)).requires_grad_()
    t = (3 * torch.rand(64, generator=g, dtype=torch.float64) + 1e-3).requires_grad_()
    w = wall_layer(d, t, diffusivity=0.7, transfer=1.3)
    w_d, w_t = torch.autograd.grad(w.sum(), (d, t), create_graph=True)
    (w_dd,) = torch.autograd.grad(w_d.sum(), d)
    assert (w_t - 0.7 * w_dd).abs().max() < 1e-12
    wall = torch.zeros(64, dtype=torch.float64, requires_grad=True)
    w0 = wall_layer(wall, t, diffusivity=0.7, transfer=1.3)
    (w0_d,) = torch.autograd.grad(w0.sum(), wall)
    assert (-w0_d - 1.3 * (1 - w0)).abs().max() < 1e-12
    assert 0.1 < float(w0.detach().min()) and float(w0.detach().max()) < 1  # the wall heats up towards g = 1, not past it
    zero = wall_layer(torch.tensor([0.0, 0.5, 3.0]), torch.zeros(3))
    assert torch.equal(zero, torch.zeros(3))  # nothing at t = 0, not NaN
    assert wall_layer(d.detach(), t.detach(), transfer=0.0).abs().max() < 1e-14  # no flux, no layer


def test_with_layers_the_robin_terms_hold_from_the_first_instant():
    """The constrained zero network meets every hole's Robin condition at t = 1e-4 (the other pieces'
    layers are exp(-2500) away), where u0 + tau u alone misses it by g."""
    from pinn.pdes import HeatPlate
    from pinn.physics.sampling import get_sampler

    plain, layered = HeatPlate(), HeatPlate(layers=True)
    assert plain.layers is False
    for part in ("big", "small"):
        pts = plain.domain.sample(f"boundary:{part}", 100, get_sampler("uniform"),
                                  generator=torch.Generator().manual_seed(2))
        x, y = (pts[:, i].clone().requires_grad_() for i in (0, 1))
        t = torch.full_like(x, 1e-4)
        term = next(c for c in layered.conditions() if c.name == part)
        for pde, small in ((layered, True), (plain, False)):
            u = pde.constrain(0 * (x + y), {"x": x, "y": y, "t": t})  # the zero network
            u_x, u_y = torch.autograd.grad(u.sum(), (x, y))
            r = term.fn({"u": u, "u_x": u_x, "u_y": u_y}, {"x": x, "y": y, "t": t})
            if small:
                assert r.abs().max() < 1e-9, part
            else:
                assert r.abs().min() > 0.9 * plain.robin[part], part
    x0 = torch.tensor([0.0, 2.0, -7.5]), torch.tensor([1.0, 0.0, 11.9])
    at_start = layered.constrain(torch.ones(3), {"x": x0[0], "y": x0[1], "t": torch.zeros(3)})
    assert torch.equal(at_start, torch.zeros(3))  # u = u0 at t = 0, layers or not
    with pytest.raises(ValueError, match="layers must be true or false"):
        HeatPlate(layers=1)  # type: ignore[arg-type]
