"""A run of K ensemble members trained at once (:func:`pinn.training.ensemble.train_ensemble`), with
each member's error, the ensemble mean's, and their spread written like a single run's outputs.

Member ``k`` is the job built with seed ``seed + k`` (its own initial weights and points).  The
outputs: ``metrics.json`` (``rel_l2`` of the members' mean prediction, ``rel_l2_members``, their
mean and sample standard deviation), ``predictions.npz`` (the mean prediction), ``ensemble.npz``
(every member's prediction and the pointwise sample std), ``history.csv`` (the summed loss and
each member's), ``checkpoint.pt`` (every member's weights) and the plots.
"""

from __future__ import annotations

import logging
import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from pinn.io import files as io
from pinn.evaluation.grid import evaluate, relative_l2, max_abs_error
from pinn.io.plotting import plot_run, run_title
from pinn.training.ensemble import train_ensemble
from pinn.training.job import Job
from pinn.training.run import run_facts

__all__ = ["train_ensemble_run", "ENSEMBLE"]

log = logging.getLogger(__name__)

#: The file of every member's prediction and the pointwise spread.
ENSEMBLE = "ensemble.npz"


def train_ensemble_run(jobs: Sequence[Job], run_dir: str | Path, *, steps: int, lr: float, impl: str = "foreach",
                       log_every: int = 100, plots: bool = True, callback: Callable[[dict], None] | None = None,
                       metadata: Mapping | None = None) -> dict:
    """Train the members of ``jobs`` (one per member, same architecture) with Adam for ``steps``
    steps, evaluate each and their mean, and write the outputs into ``run_dir``; return the metrics."""
    if len(jobs) < 2:
        raise ValueError("an ensemble needs at least 2 members (ensemble.members >= 2)")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    first = jobs[0]
    points = [job.sample_points() for job in jobs]

    def row_of(r: dict) -> dict:
        row = {"step": r["step"], "stage": "adam", "loss": r["loss"]}
        row.update({f"loss_member_{k}": v for k, v in enumerate(r["member_losses"])})
        row.update({"lr": lr, "seconds": r["seconds"]})
        return row

    rows = []

    def record(r: dict) -> None:
        rows.append(row_of(r))
        if callback is not None:
            callback(rows[-1])

    result = train_ensemble([job.model for job in jobs], first.loss, points, steps=steps, lr=lr, adam_impl=impl,
                            log_every=log_every, callback=record)
    for job, trained in zip(jobs, result.models):
        job.model.load_state_dict(trained.state_dict())
    start = time.perf_counter()
    evals = [evaluate(job.model, first.pde, first.resolution, chunk_size=first.chunk_size) for job in jobs]
    compared = [ev.compared() for ev in evals]
    members = np.stack([p for p, _ in compared])
    ref = compared[0][1]
    mean = members.mean(axis=0)
    spread = members.std(axis=0, ddof=1)
    member_errors = [float(ev.metrics["rel_l2"]) for ev in evals]
    eval_seconds = time.perf_counter() - start
    io.write_history(run_dir / io.HISTORY, rows)
    ev0 = evals[0]
    io.write_predictions(run_dir / io.PREDICTIONS, ev0.grid, mean, ref, fields=ev0.fields, layout=ev0.layout)

    io.atomic_write(run_dir / ENSEMBLE, lambda f: np.savez_compressed(f, u_members=members, u_std=spread))
    io.save_checkpoint(run_dir / io.CHECKPOINT, {"members": [job.model.state_dict() for job in jobs],
                                                  "pde": first.pde.name})
    ens_error = relative_l2(mean, ref)
    if plots:
        plot_run(run_dir / "plots", ev0.grid, mean, ref, rows, fields=ev0.fields, layout=ev0.layout,
                 title=run_title(first.pde.name, first.record, ens_error) + f" (mean of {len(jobs)} members)")
    metrics = {
        "rel_l2": ens_error,
        "max_abs_error": max_abs_error(mean, ref),
        "members": len(jobs),
        "rel_l2_members": member_errors,
        "rel_l2_member_mean": statistics.fmean(member_errors),
        "rel_l2_member_sample_std": statistics.stdev(member_errors),
        "pde": first.pde.name,
        "train_seconds": result.seconds,
        "eval_seconds": eval_seconds,
        "adam_steps": steps,
        "lbfgs_steps": 0,
        "quasi_newton": None,
        "final_loss": rows[-1]["loss"] if rows else math.nan,
        "failures": 0,
        **run_facts(first, metadata),
    }
    io.write_metrics(run_dir, metrics)
    return metrics
