"""The job is built once per run (issue 29): the up-front check's job is the one trained, for a
fresh run and for a resume."""

import sys

import pytest

import pinn.cli.build as build_module
from pinn.cli import train as train_cli
from pinn.cli._watch import StopFlag

TINY = ["pde=heat", "stages.adam.steps=6", "stages.quasi_newton.steps=0", "stages.adam.log_every=3",
        "points.interior=64", "points.initial=16", "points.boundary=16", "model.width=8", "model.depth=2",
        "evaluation.resolution=[21,11]", "plots=false", "threads=1", "checkpoint.every=3"]


def _count_builds(monkeypatch) -> list:
    """Count every build of a job, wherever it is called from."""
    calls: list = []
    real = build_module.build

    def build(cfg):
        calls.append(cfg)
        return real(cfg)

    monkeypatch.setattr(build_module, "build", build)
    monkeypatch.setattr(train_cli, "build", build)
    return calls


def test_a_run_builds_its_job_once(tmp_path, monkeypatch):
    calls = _count_builds(monkeypatch)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["pinn-train", *TINY, f"hydra.run.dir={tmp_path / 'run'}"])
    train_cli.main()
    assert (tmp_path / "run" / "metrics.json").exists()
    assert len(calls) == 1


def test_a_resume_builds_its_job_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    polls = {"n": 0}

    def stop_after_four_steps(self):  # a stop request, as SIGTERM makes one
        polls["n"] += 1
        return polls["n"] >= 4

    with monkeypatch.context() as m:
        m.setattr(StopFlag, "__call__", stop_after_four_steps)
        m.setattr(sys, "argv", ["pinn-train", *TINY, f"hydra.run.dir={run}"])
        with pytest.raises(SystemExit) as info:
            train_cli.main()
    assert info.value.code == 130 and not (run / "metrics.json").exists()
    calls = _count_builds(monkeypatch)
    monkeypatch.setattr(sys, "argv", ["pinn-train", f"resume={run}"])
    train_cli.main()
    assert (run / "metrics.json").exists() and len(calls) == 1
