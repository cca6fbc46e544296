"""Export for ParaView and VisIt: each format reads back with meshio (or csv) with the same values."""

import csv

import meshio
import numpy as np
import pytest

from pinn.io.export import export


def _steady(nx=5, ny=4):
    x, y = np.linspace(0, 1, nx), np.linspace(-1, 1, ny)
    X, Y = np.meshgrid(x, y, indexing="ij")
    ref = np.stack([np.sin(X) * Y, X + Y, X * Y], axis=-1)
    pred = ref + 0.01
    pred[0, 0, 1] = np.nan  # a point outside a shape
    return {"x": x, "y": y}, pred, ref, {"momentum": np.abs(X - Y), "continuity": X * 0 + 2.0}


def test_a_steady_2d_system_is_a_quad_mesh_with_every_array(tmp_path):
    grid, pred, ref, res = _steady()
    (vtu,) = export(tmp_path / "s", "vtk", grid, pred, ref, fields=("u", "v", "p"), residuals=res)
    m = meshio.read(vtu)
    assert m.points.shape == (20, 3) and m.cells[0].type == "quad" and len(m.cells[0].data) == 4 * 3
    np.testing.assert_array_equal(m.points[:, :2], np.stack(np.meshgrid(*grid.values(), indexing="ij"), -1).reshape(-1, 2))
    for i, f in enumerate("uvp"):
        np.testing.assert_array_equal(m.point_data[f"{f}_pred"], pred[..., i].reshape(-1))
        np.testing.assert_array_equal(m.point_data[f"{f}_ref"], ref[..., i].reshape(-1))
        np.testing.assert_allclose(m.point_data[f"{f}_error"], np.abs(pred - ref)[..., i].reshape(-1))
    assert np.isnan(m.point_data["v_pred"][0])
    np.testing.assert_array_equal(m.point_data["residual_momentum"], res["momentum"].reshape(-1))
    # every quad's corners are neighbours on the grid (no crossed cells): each has area 1/4 * 2/3
    pts = m.points[m.cells[0].data]
    d1, d2 = pts[:, 2, :2] - pts[:, 0, :2], pts[:, 3, :2] - pts[:, 1, :2]
    area = 0.5 * np.abs(d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0])
    np.testing.assert_allclose(area, 0.25 * 2 / 3)


def test_a_time_dependent_pde_is_a_time_series_in_vtk_xdmf_and_csv(tmp_path):
    x, t = np.linspace(-1, 1, 7), np.linspace(0, 1, 3)
    X, T = np.meshgrid(x, t, indexing="ij")
    ref, pred = np.sin(X) * T, np.sin(X) * T + X * 1e-3
    res = {"residual": np.abs(X * T)}
    grid = {"x": x, "t": t}
    files = export(tmp_path / "h", "vtk", grid, pred, ref, residuals=res, time="t")
    assert files[0].suffix == ".pvd" and len(files) == 4
    assert [f.name for f in files[1:]] == ["h_0000.vtu", "h_0001.vtu", "h_0002.vtu"]
    assert 'timestep="0.5" file="h_0001.vtu"' in files[0].read_text()
    m = meshio.read(files[2])
    assert m.cells[0].type == "line" and m.points.shape == (7, 3)
    np.testing.assert_array_equal(m.point_data["u_pred"], pred[:, 1])
    (xdmf,) = export(tmp_path / "h", "xdmf", grid, pred, ref, residuals=res, time="t")
    with meshio.xdmf.TimeSeriesReader(xdmf) as r:
        points, _ = r.read_points_cells()
        assert r.num_steps == 3
        for k in range(3):
            tk, data, _ = r.read_data(k)
            assert tk == pytest.approx(t[k])
            np.testing.assert_allclose(data["u_ref"], ref[:, k], rtol=1e-15)
            np.testing.assert_allclose(data["residual_residual"], res["residual"][:, k], rtol=1e-15)
    (c,) = export(tmp_path / "h", "csv", grid, pred, ref, residuals=res, time="t")
    with open(c) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 21 and list(rows[0]) == ["x", "t", "u_pred", "u_ref", "u_error", "residual_residual"]
    assert float(rows[4]["t"]) == t[1] and float(rows[4]["x"]) == x[1]  # C order: t fastest
    assert float(rows[4]["u_pred"]) == pytest.approx(pred[1, 1], rel=1e-15)


def test_nodes_and_five_dimensions_are_point_clouds_with_every_coordinate(tmp_path):
    g = np.random.default_rng(0)
    nodes = {"x": g.random(30), "y": g.random(30)}
    u = nodes["x"] * nodes["y"]
    (vtu,) = export(tmp_path / "n", "vtk", nodes, u + 1, u, layout="nodes")
    m = meshio.read(vtu)
    assert m.cells[0].type == "vertex" and len(m.cells[0].data) == 30
    np.testing.assert_array_equal(m.points[:, 0], nodes["x"])
    np.testing.assert_allclose(m.point_data["u_error"], np.ones(30), rtol=1e-15)
    axes = {f"x{i}": np.linspace(0, 1, 3) for i in range(1, 6)}
    ref = np.zeros((3,) * 5)
    (vtu,) = export(tmp_path / "p", "vtk", axes, ref, ref)
    m = meshio.read(vtu)
    assert m.points.shape == (243, 3) and m.cells[0].type == "vertex"
    assert {"x4", "x5"} <= set(m.point_data)  # beyond three, every coordinate is an array


def test_bad_formats_say_which_exist(tmp_path):
    grid, pred, ref, _ = _steady()
    with pytest.raises(ValueError, match="vtk, xdmf, csv"):
        export(tmp_path / "s", "vtp", grid, pred, ref, fields=("u", "v", "p"))
