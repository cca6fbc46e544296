"""One operator, many shapes (issue 29): Poisson and 2-D heat take their shape from the config
group ``geometry``, with no new class; the exact solution holds on every shape."""

import math
import sys

import pytest
import torch

from pinn.cli.build import build, run_training
from pinn.cli.compose import compose_config
from pinn.cli.train import check_config
from pinn.cli import train as train_cli
from pinn.evaluation.grid import evaluate
from pinn.physics.sampling import get_sampler

SHAPES = ["disk", "l_shape", "plate_with_holes", "square"]


def _exact_residuals(pde, n=400):
    """The PDE's residual and boundary term evaluated on its exact solution, by autograd in float64."""
    g = torch.Generator().manual_seed(0)
    x = pde.domain.sample("interior", n, get_sampler("sobol"), generator=g).requires_grad_(True)
    coords = dict(zip(pde.domain.coordinates, x.unbind(-1)))
    u = pde.solution(coords)
    (grad,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    fields = {"u": u}
    for i, name in enumerate(pde.domain.coordinates):
        fields[f"u_{name}"] = grad[:, i]
        if name in ("x", "y"):
            (second,) = torch.autograd.grad(grad[:, i].sum(), x, create_graph=True)
            fields[f"u_{name}{name}"] = second[:, i]
    residual = pde.residual(fields, coords)
    edge = pde.domain.sample("boundary", n, get_sampler("sobol"), generator=g)
    ecoords = dict(zip(pde.domain.coordinates, edge.unbind(-1)))
    (term,) = [t for t in pde.conditions() if t.name == "boundary"]
    return residual.detach(), term.fn({"u": pde.solution(ecoords)}, ecoords)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("pde_args", [["pde=poisson"], ["pde=heat2d", "pde.kx=0.1", "pde.ky=0.2",
                                                        "pde.modes=[[1,2]]", "pde.t=[0,1]"]])
def test_the_exact_solution_solves_the_operator_on_every_shape(pde_args, shape):
    cfg = compose_config([*pde_args, f"geometry={shape}"])
    from pinn.cli.build import build_pde

    pde = build_pde(cfg)
    assert pde.geometry is not None and type(pde.domain).__name__ == "ShapeDomain"
    residual, boundary = _exact_residuals(pde)
    assert residual.dtype == torch.float64 and float(residual.abs().max()) < 1e-9
    assert float(boundary.abs().max()) == 0


@pytest.mark.parametrize("shape", ["disk", "l_shape", "plate_with_holes"])
def test_the_grid_evaluation_masks_the_outside_of_the_shape(shape):
    job = build(check_config(["pde=poisson", f"geometry={shape}", "model.width=8", "model.depth=2",
                              "evaluation.resolution=[41,41]"]))
    ev = evaluate(job.model, job.pde, job.resolution)
    outside = torch.isnan(torch.as_tensor(ev.u_ref))
    assert 0 < int(outside.sum()) < outside.numel()


def test_a_pde_with_a_fixed_domain_names_the_operators_that_take_a_shape(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["pinn-train", "pde=burgers", "geometry=disk"])
    with pytest.raises(SystemExit) as info:
        train_cli.main()
    err = capsys.readouterr().err.strip()
    assert info.value.code == 2 and len(err.splitlines()) == 1
    assert "pde=burgers has a fixed domain" in err and "poisson, heat2d" in err


def test_the_box_default_is_unchanged():
    """Without a geometry the operators keep their box and their exact zero boundary condition."""
    from pinn.pdes import Heat2D, Poisson

    for pde in (Poisson(), Heat2D()):
        assert pde.geometry is None and type(pde.domain).__name__ == "Domain"


SHORT = ["model.width=16", "model.depth=3", "stages.adam.steps=600", "stages.adam.lr=3e-3",
         "stages.quasi_newton.steps=300", "points.interior=800", "points.boundary=200", "points.initial=200",
         "evaluation.resolution=[41,41]", "plots=false", "checkpoint.every=0", "threads=1"]


@pytest.mark.slow
@pytest.mark.parametrize("args", [["pde=poisson", "pde.ky=1", "geometry=disk"],
                                  ["pde=poisson", "pde.ky=1", "geometry=l_shape"],
                                  ["pde=heat2d", "pde.kx=0.1", "pde.ky=0.1", "pde.modes=[[1,1]]", "pde.t=[0,1]",
                                   "geometry=disk", "evaluation.resolution=[31,31,11]"],
                                  ["pde=heat2d", "pde.kx=0.1", "pde.ky=0.1", "pde.modes=[[1,1]]", "pde.t=[0,1]",
                                   "geometry=plate_with_holes", "evaluation.resolution=[31,31,11]"]],
                         ids=["poisson-disk", "poisson-l", "heat2d-disk", "heat2d-plate"])
def test_a_short_run_trains_on_the_shape(tmp_path, args):
    """Untrained, the error is near 1 (the network's output is small against the solution); the
    bound is at least 5x below it."""
    cfg = check_config([*SHORT, *args])
    untrained = evaluate(build(cfg).model, build(cfg).pde, [31, 31] if "poisson" in args[0] else [31, 31, 11])
    metrics = run_training(cfg, tmp_path / "run")
    assert untrained.metrics["rel_l2"] > 0.5
    assert metrics["rel_l2"] < untrained.metrics["rel_l2"] / 5, (metrics["rel_l2"], untrained.metrics["rel_l2"])
    assert math.isfinite(metrics["rel_l2"])


@pytest.mark.parametrize("shape", [None, "disk", "plate_with_holes"])
def test_poisson_holds_its_boundary_values_exactly_on_any_shape(shape):
    """One domain interface: the box's faces have distance functions too, so the same hard
    constraint serves the square and every shape (experiment=poisson2d_c pde=poisson geometry=...)."""
    from pinn.cli.build_model import build_geometry
    from pinn.pdes import Poisson

    geometry = None if shape is None else build_geometry(compose_config([f"geometry={shape}"]))
    pde = Poisson(geometry=geometry)
    pts = pde.domain.sample("boundary", 300, get_sampler("lhs"), generator=torch.Generator().manual_seed(0))
    coords = {"x": pts[:, 0], "y": pts[:, 1]}
    raw = torch.randn(300, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 3
    torch.testing.assert_close(pde.constrain(raw, coords), pde.solution(coords), rtol=0, atol=1e-9)
    inside = pde.domain.sample("interior", 50, get_sampler("lhs"), generator=torch.Generator().manual_seed(2))
    c_in = {"x": inside[:, 0], "y": inside[:, 1]}
    assert not torch.allclose(pde.constrain(raw[:50], c_in), pde.solution(c_in))  # the network acts inside


# --- Poisson2d-C is the poisson operator with values per part (issue 29: one operator) ---------

def test_poisson2d_c_is_the_poisson_operator_on_the_pinnacle_plate():
    """pde=poisson2d_c and pde=poisson geometry=pinnacle_plate with the same values and table build
    the same problem: the same class, point sets, terms, draws, hard constraint and nodes."""
    from pinn.cli.build_model import build_pde
    from pinn.pdes import Poisson, PoissonHoles

    a = build_pde(check_config(["pde=poisson2d_c"]))
    b = build_pde(check_config(["pde=poisson", "geometry=pinnacle_plate", "+pde.values={outer:1.0,holes:0.0}",
                                "+pde.table=poisson1_cg_data.dat"]))
    c = PoissonHoles()
    for pde in (a, b, c):
        assert type(pde) is Poisson and pde.hard_terms == ("outer", "holes")
        assert [(t.name, t.points) for t in pde.terms()] == [("residual", "interior"), ("outer", "boundary:outer"),
                                                             ("holes", "boundary:holes")]
    for which in a.domain.point_sets:
        draws = [p.domain.sample(which, 200, get_sampler("sobol"), generator=torch.Generator().manual_seed(4))
                 for p in (a, b, c)]
        assert torch.equal(draws[0], draws[1]) and torch.equal(draws[0], draws[2]), which
    pts = a.domain.sample("boundary:holes", 100, get_sampler("lhs"), generator=torch.Generator().manual_seed(0))
    coords = {"x": pts[:, 0], "y": pts[:, 1]}
    raw = torch.randn(100, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(a.constrain(raw, coords), torch.zeros(100, dtype=torch.float64), rtol=0, atol=1e-9)
    (na, va), (nb, vb) = a.nodes(), b.nodes()
    assert va.shape == (1246,) and (va == vb).all() and all((na[k] == nb[k]).all() for k in na)
    with pytest.raises(NotImplementedError, match="no closed-form solution"):
        a.solution(coords)


@pytest.mark.parametrize("overrides, message", [
    (["pde=poisson2d_c", "geometry=disk"], r"pde.values must give exactly the shape's boundary parts \['boundary'\]; "
                                           r"unknown: \['holes', 'outer'\]"),
    (["pde=poisson", "geometry=plate_with_holes", "+pde.values={outer:1}", "+pde.table=poisson1_cg_data.dat"],
     r"missing: \['holes'\]"),
    (["pde=poisson", "geometry=disk", "+pde.values={boundary:1}"], "no closed form: name its reference table"),
    (["pde=poisson", "+pde.table=poisson1_cg_data.dat"], "the manufactured problem has its exact solution"),
    (["pde=poisson", "geometry=disk", "+pde.values={boundary:1}", "+pde.table=../../../etc/passwd"],
     "pde.table must name a reference table shipped with pinn, one of: .*poisson1_cg_data.dat"),
    (["pde=poisson", "geometry=disk", "+pde.values={boundary:nan}", "+pde.table=poisson1_cg_data.dat"],
     "values.boundary must be finite"),
])
def test_poisson_values_per_part_are_checked(overrides, message):
    from pinn.cli.build_model import build_pde

    with pytest.raises(ValueError, match=message):
        build_pde(check_config(overrides))
