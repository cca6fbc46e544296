"""Sweeps: pinn-train -m runs every job, a failed job does not stop the sweep, pinn-compare summarises."""

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from pinn.cli import compare as compare_cli

TINY = ["stages.adam.steps=6", "stages.quasi_newton.steps=4", "stages.quasi_newton.chunk=2", "points.interior=64",
        "points.initial=16", "points.boundary=16", "model.width=8", "model.depth=2", "evaluation.resolution=[21,11]",
        "checkpoint.every=0"]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep")
    out = subprocess.run([str(Path(sys.executable).parent / "pinn-train"), "-m", "pde=heat", "pde.alpha=0.2,0.4",
                          "seed=0,1", "stages.adam.lr=1e-3,1e30", f"hydra.sweep.dir={tmp / 'sw'}", *TINY],
                         cwd=tmp, capture_output=True, text=True, timeout=600)
    # the sweep goes past its failed jobs, then says so on one line and exits 1
    assert out.returncode == 1, out.stderr[-3000:]
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("pinn-train: error: 4 sweep job(s) failed, each marked FAILED"), last
    return tmp / "sw"


def test_failed_jobs_do_not_stop_the_sweep(sweep):
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert len(jobs) == 8
    failed = [j for j in jobs if (j / "FAILED").exists()]
    finished = [j for j in jobs if (j / "metrics.json").exists()]
    assert len(failed) == 4 and len(finished) == 4  # every lr=1e30 job diverges


def test_compare_tabulates_and_plots(sweep, tmp_path, capsys):
    compare_cli.main([str(sweep), "--out", str(tmp_path / "cmp")])
    text = capsys.readouterr().out
    assert "4 of 8 runs finished" in text and text.count("failed:") == 4 and "non-finite" in text
    with open(tmp_path / "cmp" / "runs.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 8 and {"pde.alpha", "seed", "stages.adam.lr", "status", "rel_l2"} <= set(rows[0])
    with open(tmp_path / "cmp" / "summary.csv") as f:
        summary = list(csv.DictReader(f))
    assert sorted((r["pde.alpha"], r["stages.adam.lr"], r["runs"]) for r in summary) == [("0.2", "0.001", "2"),
                                                                                     ("0.4", "0.001", "2")]
    by_run = {(r["pde.alpha"], r["seed"]): float(r["rel_l2"]) for r in rows if r["status"] == "finished"}
    for r in summary:  # the sample std (n - 1) of the group's two seeds, named as such
        errs = [v for (alpha, _), v in by_run.items() if alpha == r["pde.alpha"]]
        assert float(r["rel_l2_sample_std"]) == pytest.approx(abs(errs[0] - errs[1]) / 2 ** 0.5, rel=1e-3)
    for name in ("error_vs_pde.alpha.png", "losses.png", "solutions.png", "runs.md", "summary.md"):
        assert (tmp_path / "cmp" / name).stat().st_size > 100


def test_compare_rejects_what_is_not_a_sweep(tmp_path, capsys):
    for target in (tmp_path / "missing", tmp_path):
        with pytest.raises(SystemExit) as info:
            compare_cli.main([str(target)])
        assert info.value.code == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("pinn-compare: error:")
