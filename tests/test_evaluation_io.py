import json

import numpy as np
import pytest
import torch

from pinn import MLP, Burgers, Heat, evaluate_grid, max_abs_error, predict, relative_l2
from pinn.io import files as io


def test_metrics():
    ref = np.array([3.0, 4.0])
    assert relative_l2(ref, ref) == 0
    assert relative_l2(np.array([3.0, 5.0]), ref) == pytest.approx(1 / 5)
    assert max_abs_error(np.array([3.0, 5.5]), ref) == 1.5
    with pytest.raises(ValueError, match="shape"):
        relative_l2(np.zeros(3), np.ones(2))
    # a zero reference (a snapshot at a zero initial value), without numpy's 0/0 warning
    assert relative_l2(np.zeros(3), np.zeros(3)) == 0
    assert relative_l2(np.array([0.0, 1e-9, 0.0]), np.zeros(3)) == np.inf


class Exact(torch.nn.Module):
    """A 'model' that is the exact heat solution, to check evaluation end to end."""

    def __init__(self, pde):
        super().__init__()
        self.pde = pde
        self.dummy = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

    def forward(self, p):
        assert torch.is_inference_mode_enabled()
        return self.pde.solution({"x": p[:, 0], "t": p[:, 1]}).unsqueeze(-1) + self.dummy


def test_evaluate_grid_is_exact_for_the_exact_solution_and_chunking_is_invisible():
    pde = Heat(modes=[1, 3], amplitudes=[1.0, 0.5])
    model = Exact(pde)
    a = evaluate_grid(model, pde, [33, 17], chunk_size=7)
    b = evaluate_grid(model, pde, [33, 17], chunk_size=100000)
    assert a.u_pred.shape == (33, 17) and list(a.grid) == ["x", "t"]
    np.testing.assert_array_equal(a.u_pred, b.u_pred)
    assert a.metrics["rel_l2"] < 1e-15 and a.metrics["max_abs_error"] < 1e-15
    np.testing.assert_allclose(a.u_ref[:, 0], np.sin(np.pi * a.grid["x"]) + 0.5 * np.sin(3 * np.pi * a.grid["x"]), atol=1e-15)


def test_predict_restores_training_mode_and_matches_the_model():
    g = torch.Generator().manual_seed(0)
    net = MLP(torch.tensor([0.0, 0.0]), torch.tensor([1.0, 1.0]), width=5, depth=2, generator=g)
    pts = torch.rand(50, 2, generator=g)
    out = predict(net, pts, chunk_size=8)
    assert net.training and out.dtype == np.float64
    np.testing.assert_allclose(out, net(pts).detach().reshape(-1).numpy(), rtol=1e-6)


def test_burgers_evaluation_grid_reference():
    pde = Burgers()
    model = torch.nn.Linear(2, 1)
    ev = evaluate_grid(model, pde, [9, 5])
    np.testing.assert_allclose(ev.u_ref[:, 0], -np.sin(np.pi * ev.grid["x"]), atol=1e-15)


def test_outputs_round_trip(tmp_path):
    grid = {"x": np.linspace(0, 1, 4), "t": np.linspace(0, 2, 3)}
    u = np.arange(12.0).reshape(4, 3)
    io.write_predictions(tmp_path / "p.npz", grid, u, u + 1)
    g2, p2, r2 = io.read_predictions(tmp_path / "p.npz")
    assert list(g2) == ["x", "t"]
    np.testing.assert_array_equal(p2, u)
    np.testing.assert_array_equal(r2, u + 1)
    rows = [{"step": 1, "stage": "adam", "loss": 0.5, "seconds": 0.1}, {"step": 2, "stage": "lbfgs", "loss": 0.25, "seconds": 0.2}]
    io.write_history(tmp_path / "h.csv", rows)
    assert io.read_history(tmp_path / "h.csv") == rows
    io.write_metrics(tmp_path, {"rel_l2": 0.1})
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"rel_l2": 0.1}
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    def boom(f):
        f.write(b"partial")
        raise RuntimeError("crash mid-write")

    with pytest.raises(RuntimeError):
        io.atomic_write(tmp_path / "x.json", boom)
    assert list(tmp_path.iterdir()) == []


def test_checkpoints_load_weights_only(tmp_path):
    io.save_checkpoint(tmp_path / "c.pt", {"model": {"w": torch.ones(2)}, "step": 3})
    state = io.load_checkpoint(tmp_path / "c.pt")
    assert state["step"] == 3 and torch.equal(state["model"]["w"], torch.ones(2))

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"x": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(io.RunDirError, match="not a readable pinn checkpoint"):
        io.load_checkpoint(tmp_path / "evil.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(io.RunDirError, match="not a readable"):
        io.load_checkpoint(tmp_path / "junk.pt")


def test_check_run_dir(tmp_path):
    with pytest.raises(io.RunDirError, match="does not exist"):
        io.check_run_dir(tmp_path / "nope")
    with pytest.raises(io.RunDirError, match="not a finished pinn run: metrics.json, checkpoint.pt missing"):
        io.check_run_dir(tmp_path)
    (tmp_path / "metrics.json").write_text("{}")
    (tmp_path / "checkpoint.pt").write_text("")
    assert io.check_run_dir(tmp_path) == tmp_path
    io.mark_failed(tmp_path, "ValueError: boom")
    with pytest.raises(io.RunDirError, match="failed run"):
        io.check_run_dir(tmp_path)
