"""CUDA runs match CPU runs within float32 tolerance (skipped where there is no CUDA device)."""

import numpy as np
import pytest
import torch

from pinn.cli.build import run_training
from pinn.cli.train import check_config

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

SHORT = ["pde=heat", "stages.adam.steps=50", "stages.quasi_newton.steps=0", "points.interior=500", "model.depth=3",
         "plots=false", "evaluation.resolution=[41,41]", "checkpoint.every=0"]


@pytest.mark.parametrize("engine", ["autograd", "taylor"])
def test_cuda_training_matches_cpu(engine, tmp_path):
    cpu = run_training(check_config([*SHORT, f"derivatives={engine}", "device=cpu"]), tmp_path / "cpu")
    gpu = run_training(check_config([*SHORT, f"derivatives={engine}", "device=cuda"]), tmp_path / "gpu")
    assert gpu["final_loss"] == pytest.approx(cpu["final_loss"], rel=1e-3)
    with np.load(tmp_path / "cpu" / "predictions.npz") as a, np.load(tmp_path / "gpu" / "predictions.npz") as b:
        np.testing.assert_allclose(b["u_pred"], a["u_pred"], atol=1e-4)


def test_auto_device_picks_cuda(tmp_path):
    from pinn.cli.build import resolve_device

    assert resolve_device("auto").type == "cuda"
