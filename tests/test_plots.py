"""What the plots show: losses apart from the learning rate and learned coefficients, stage markers,
titles with the PDE and its errors."""

import numpy as np

from pinn.io.plotting import loss_figure, run_title, solution_figure


def _history():
    rows = []
    for step, stage in ((100, "adam"), (200, "adam"), (225, "lbfgs"), (250, "lbfgs")):
        rows.append({"step": step, "stage": stage, "loss": 1.0 / step, "residual": 0.5 / step, "data": 0.1 / step,
                     "alpha": 0.2 + step / 1000, "lr": 1e-3 if stage == "adam" else 1.0, "seconds": step / 10})
    return rows


def test_loss_figure_keeps_lr_and_coefficients_off_the_loss_axis_and_marks_the_stage_switch():
    fig = loss_figure(_history(), coefficients=["alpha"])
    losses, lr, coef = fig.axes[:3]
    labels = [line.get_label() for line in losses.get_lines()]
    assert labels[:3] == ["loss", "residual", "data"] and "lr" not in labels and "alpha" not in labels
    assert "lbfgs starts" in labels
    marker = [line for line in losses.get_lines() if line.get_label() == "lbfgs starts"][0]
    assert marker.get_xdata()[0] == 200  # the last row of the stage before
    assert lr.get_ylabel() == "learning rate" and lr.get_yscale() == "log"
    assert [line.get_label() for line in coef.get_lines() if not line.get_label().startswith("_")] == ["alpha"]
    # a column not named as a coefficient is a loss term: two axes, losses and lr
    fig = loss_figure(_history())
    assert len(fig.axes) == 2 and "alpha" in [line.get_label() for line in fig.axes[0].get_lines()]


def test_run_title_names_the_pde_its_parameters_and_the_error():
    assert run_title("burgers", {"_target_": "x.Y", "nu": 0.0031831, "modes": [1, 2]}, 1.5e-5) == \
        "burgers (nu = 0.00318), rel. L2 1.50e-05"
    assert run_title("heat") == "heat"
    assert len(run_title("p", {f"k{i}": i for i in range(100)})) <= 110


def test_solution_figure_gives_each_fields_error_and_the_title():
    x, t = np.linspace(0, 1, 5), np.linspace(0, 1, 4)
    ref = np.stack([np.outer(x, t) + 1, np.outer(x, t) + 2], axis=-1)
    pred = ref.copy()
    pred[..., 0] *= 1.1  # u off by 10%
    fig = solution_figure({"x": x, "t": t}, pred, ref, fields=("u", "v"), title="demo, rel. L2 x")
    titles = [ax.get_title() for ax in fig.axes]
    assert any(t.startswith("u: |prediction - reference|, rel. L2 1.00e-01") for t in titles), titles
    assert any(t.startswith("v: |prediction - reference|, rel. L2 0.00e+00") for t in titles), titles
    assert fig._suptitle.get_text() == "demo, rel. L2 x"


def test_two_space_dimensions_and_time_get_xy_snapshots_that_say_where_they_are(tmp_path):
    """Issue 34, item 7: a 2-D problem in time was drawn only as an x-t plane at one y.  snapshots.png
    shows the x-y plane at a few times, each panel naming its time; the slices name their y."""
    from pinn.io.plotting import plot_run, snapshot_figure

    grid = {"x": np.linspace(0, 1, 11), "y": np.linspace(0, 2, 9), "t": np.linspace(0, 1, 7)}
    X, Y, T = np.meshgrid(grid["x"], grid["y"], grid["t"], indexing="ij")
    u = np.sin(np.pi * X) * np.cos(Y) * np.exp(-T)
    fig = snapshot_figure(grid, u, u + 0.01, count=3)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert [t for t in titles if t.startswith("prediction")] == [f"prediction at t = {v:.3g}" for v in (0, 0.5, 1)]
    image = fig.axes[0].get_images()[0].get_array()
    np.testing.assert_allclose(image, u[:, :, 0])  # the x-y plane at t = 0, x down the rows
    paths = plot_run(tmp_path, grid, u, u, [{"step": 1, "stage": "adam", "loss": 1.0}])
    assert tmp_path / "snapshots.png" in paths
    two_d = plot_run(tmp_path / "xt", {"x": grid["x"], "t": grid["t"]}, u[:, 0], u[:, 0],
                     [{"step": 1, "stage": "adam", "loss": 1.0}])
    assert not any(p.name == "snapshots.png" for p in two_d)
