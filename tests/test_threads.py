"""threads=auto: OMP_NUM_THREADS when set, else the cores the process may use (affinity capped by
the cgroup quota) shared by the ranks on the machine."""

import logging

import pytest
import torch

from pinn.training.threads import available_cores, resolve_threads


def test_auto_follows_omp_num_threads_then_the_cores_and_the_local_ranks():
    assert resolve_threads("auto", environ={"OMP_NUM_THREADS": "3"}, cores=16) == (3, "OMP_NUM_THREADS")
    assert resolve_threads("auto", environ={}, cores=16)[0] == 16
    assert resolve_threads("auto", environ={"LOCAL_WORLD_SIZE": "4"}, cores=16) == (
        4, "16 core(s) available shared by 4 ranks")
    assert resolve_threads("auto", environ={"LOCAL_WORLD_SIZE": "8"}, cores=2)[0] == 1
    assert resolve_threads(5, environ={"OMP_NUM_THREADS": "3"}) == (5, "as set")
    for bad in (0, -1, "many", 1.5, True):
        with pytest.raises(ValueError, match="threads must be a positive integer or 'auto'"):
            resolve_threads(bad)


def test_the_cgroup_quota_caps_the_affinity(tmp_path):
    v2 = tmp_path / "cpu.max"
    v1 = (tmp_path / "quota", tmp_path / "period")
    v2.write_text("150000 100000\n")
    assert available_cores(v2=v2, v1=v1) == 1  # 1.5 cores of quota
    v2.write_text("max 100000\n")
    assert available_cores(v2=v2, v1=v1) >= 1
    v2.unlink()
    v1[0].write_text("200000\n")
    v1[1].write_text("100000\n")
    assert available_cores(v2=v2, v1=v1) == min(2, available_cores(v2=v2, v1=(tmp_path / "none", tmp_path / "none")))


def test_a_run_sets_and_logs_its_threads(tmp_path, caplog):
    from pinn.cli.build import run_training
    from pinn.cli.train import check_config

    before = torch.get_num_threads()
    try:
        cfg = check_config(["pde=heat", "threads=1", "stages.adam.steps=2", "stages.quasi_newton.steps=0",
                            "points.interior=32", "points.initial=8", "points.boundary=8", "model.width=4",
                            "model.depth=1", "plots=false", "evaluation.resolution=[5,5]"])
        with caplog.at_level(logging.INFO, logger="pinn"):
            metrics = run_training(cfg, tmp_path / "run")
        assert torch.get_num_threads() == 1 and metrics["threads"] == 1
        assert "using 1 thread(s) (as set)" in caplog.text
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError, match="threads must be a positive integer or 'auto'"):
        check_config(["threads=0"])
