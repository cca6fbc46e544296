"""Poisson3d-CG (issue 31): the cube minus four balls, two materials, and the P2 tetrahedral reference,
checked against manufactured solutions (the polyhedral spheres included) and converged."""

import math

import numpy as np
import pytest
import torch

pytest.importorskip("skfem")
pytest.importorskip("gmsh")


def _radial(center, radius, width):
    """``u = g((r - radius) / width)``, ``g(s) = (1 - s^2)^3`` on ``[0, 1]`` and 0 beyond: ``du/dn = 0``
    on the sphere ``r = radius`` (``g'(0) = 0``), C2, zero near the cube's faces; ``(u, Lap u)``."""
    c = np.asarray(center)

    def fields(x, y, z):
        r = np.sqrt((x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2)
        s = (r - radius) / width
        inside = s < 1
        s = np.clip(s, 0.0, 1.0)
        g = (1 - s * s) ** 3
        dg = -6 * s * (1 - s * s) ** 2
        d2g = np.where(inside, -6 * (1 - s * s) ** 2 + 24 * s * s * (1 - s * s), 0.0)
        return g, d2g / width**2 + 2 / r * dg / width
    return fields


def _kappa(x, y, z):
    return np.where(z < 0.5, 4.0, 9.0)


def _unit(x, y, z):
    return np.ones_like(x)


@pytest.mark.parametrize("case", ["ball", "box"])
def test_the_p2_solve_converges_to_manufactured_solutions_across_the_interface(case):
    """-Lap(u) + kappa u = f with kappa jumping at z = 1/2 and du/dn = 0 on every wall: a radial
    solution about a ball (its Neumann condition on the polyhedral sphere: second order) and
    cos(pi x) cos(pi y) cos(pi z) in the plain cube (third order, P2's own)."""
    from pinn.pdes._fem3d import reaction_diffusion

    rng = np.random.default_rng(0)
    x = rng.random((1500, 3))
    if case == "ball":
        center, radius = (0.5, 0.5, 0.5), 0.2
        x = x[((x - center) ** 2).sum(axis=1) > radius**2]
        fields = _radial(center, radius, 0.25)
        balls = [(*center, radius)]
        sizes, order = (0.2, 0.1, 0.05), 1.8
    else:
        def fields(x, y, z):
            u = np.cos(math.pi * x) * np.cos(math.pi * y) * np.cos(math.pi * z)
            return u, -3 * math.pi**2 * u
        balls, sizes, order = [], (0.25, 0.125, 0.0625), 2.5  # 2.6, 2.85: towards 3

    def source(x, y, z):
        u, lap = fields(x, y, z)
        return -lap + _kappa(x, y, z) * u

    exact = fields(*x.T)[0]
    errors = []
    for h in sizes:
        u = reaction_diffusion((0, 0, 0), (1, 1, 1), balls, x, mu=_unit, kappa=_kappa, source=source, h=h,
                               planes_z=(0.5,))
        errors.append(np.linalg.norm(u - exact) / np.linalg.norm(exact))
    rates = [math.log2(a / b) for a, b in zip(errors, errors[1:])]
    assert min(rates) > order, (errors, rates)
    assert errors[-1] < (0.05 if case == "ball" else 2e-3), errors


def test_the_probe_is_exact_on_quadratics_and_agrees_with_scikit_fem():
    import skfem

    from pinn.pdes._fem3d import box_minus_balls_mesh, p2_probe
    from pinn.pdes.poisson_balls import PINNACLE_BALLS

    p, t = box_minus_balls_mesh((0, 0, 0), (1, 1, 1), PINNACLE_BALLS, 0.1, planes_z=(0.5,))
    a, b, c, d = (p[:, t[i]] for i in range(4))
    assert (np.einsum("ij,ij->j", np.cross(b - a, c - a, axis=0), d - a) > 0).all()  # oriented
    assert np.isclose(p[2], 0.5).sum() > 50  # the interface is a plane of the mesh
    mesh = skfem.MeshTet(p, t)
    basis = skfem.Basis(mesh, skfem.ElementTetP2())
    rng = np.random.default_rng(1)
    x = rng.random((2000, 3))
    for cx, cy, cz, r in PINNACLE_BALLS:
        x = x[((x - (cx, cy, cz)) ** 2).sum(axis=1) > r * r]
    probe = p2_probe(mesh, basis, x)

    def q(x, y, z):
        return 1 + x - 2 * y + 3 * z + x * y - y * z + 2 * z * z - x * x

    np.testing.assert_allclose(probe @ q(*basis.doflocs), q(*x.T), atol=1e-12)
    values = np.sin(3 * basis.doflocs[0]) * np.cos(5 * basis.doflocs[1]) + basis.doflocs[2] ** 2
    np.testing.assert_allclose(probe[:200] @ values, basis.probes(x[:200].T) @ values, atol=1e-12)
    with pytest.raises(ValueError, match="outside the mesh"):
        p2_probe(mesh, basis, np.array([[1.5, 0.5, 0.5]]))
    with pytest.raises(ValueError, match="planes_z"):
        box_minus_balls_mesh((0, 0, 0), (1, 1, 1), (), 0.2, planes_z=(1.0,))


def test_the_residual_is_pinnacles_equation_and_the_walls_are_neumann():
    from pinn.pdes import PoissonBalls
    from pinn.pdes.poisson_balls import source
    from pinn.physics.sampling import get_sampler

    pde = PoissonBalls(reference_h=0.08)
    g = torch.Generator().manual_seed(0)
    pts = pde.domain.sample("interior", 500, get_sampler("uniform"), generator=g)
    x, y, z = pts.unbind(1)
    assert (x.min() >= 0) and (x.max() <= 1) and (z.min() >= 0) and (z.max() <= 1)
    for cx, cy, cz, r in pde.balls:  # nothing inside a ball
        assert float(((pts - torch.tensor([cx, cy, cz], dtype=pts.dtype)) ** 2).sum(1).min()) > r * r - 1e-12
    # f as PINNacle writes it, at one point by hand
    p = (0.3, 0.45, 0.8)
    r2 = sum(v * v for v in p)
    f = (20 * math.exp(math.sin(math.pi * 0.3) + math.sin(10 * math.pi * 0.45) + math.sin(5 * math.pi * 0.8))
         * (r2 - 1) / (r2 + 1) + 100 * math.sin(math.pi * 0.3) * math.sin(10 * math.pi * 0.45) * math.sin(4 * math.pi))
    assert math.isclose(float(source(*(torch.tensor(v, dtype=torch.float64) for v in p))), f, rel_tol=1e-12)
    fields = {n: torch.randn(len(x), generator=g, dtype=torch.float64) for n in pde.residual_fields}
    k2 = torch.where(z < 0.5, 64.0, 100.0).to(x)
    raw = -(fields["u_xx"] + fields["u_yy"] + fields["u_zz"]) + k2 * fields["u"] - source(x, y, z)
    torch.testing.assert_close(pde.residual(fields, {"x": x, "y": y, "z": z}), raw / k2)
    unscaled = PoissonBalls(scaled=False, reference_h=0.08)
    torch.testing.assert_close(unscaled.residual(fields, {"x": x, "y": y, "z": z}), raw)
    # the one condition: du/dn = 0 on the cube's faces and the spheres, n the domain's outward normal
    (term,) = pde.conditions()
    b = pde.domain.sample(term.points, 400, get_sampler("uniform"), generator=g)
    coords = dict(zip("xyz", b.unbind(1)))
    normal = pde.domain.normal(coords)
    grad = {f"u_{n}": torch.randn(len(b), generator=g, dtype=torch.float64) for n in "xyz"}
    expected = sum(grad[f"u_{n}"] * normal[n] for n in "xyz")
    torch.testing.assert_close(term.fn({"u": grad["u_x"], **grad}, coords), expected)
    on_ball = torch.zeros(len(b), dtype=torch.bool)
    for cx, cy, cz, r in pde.balls:  # on a sphere the outward normal points to its centre
        d = b - torch.tensor([cx, cy, cz], dtype=b.dtype)
        near = (d.norm(dim=1) - r).abs() < 1e-9
        inward = -d[near] / r
        got = torch.stack([normal[n][near] for n in "xyz"], dim=1)
        torch.testing.assert_close(got, inward)
        on_ball |= near
    assert 0 < int(on_ball.sum()) < len(b)
    for bad, match in (({"k": (8.0,)}, "two values"), ({"mu": (1.0, -1.0)}, "mu must be > 0"),
                       ({"scaled": "yes"}, "scaled must be true or false")):
        with pytest.raises(ValueError, match=match):
            PoissonBalls(**bad)  # type: ignore[arg-type]


def test_it_trains_from_the_command_line_and_is_scored_on_the_reference(tmp_path, monkeypatch):
    """A few steps of pde=poisson3d_cg on a coarse reference, scored at its grid."""
    from pinn.cli.build import build, run_training
    from pinn.cli.train import check_config

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cfg = check_config(["pde=poisson3d_cg", "pde.reference_h=0.1", "pde.grid=0.1", "model.width=8",
                        "model.depth=2", "points.interior=300", "points.boundary=100", "stages.adam.steps=5",
                        "stages.quasi_newton.steps=0", "plots=false"])
    metrics = run_training(cfg, tmp_path / "run", job=build(cfg))
    assert 0.5 < metrics["rel_l2"] < 5.0 and metrics["resolution"] == "reference nodes"
