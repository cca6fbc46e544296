"""What an ensemble run writes besides a single run's outputs: each member's error, their mean
and sample standard deviation, and every member's prediction.

An ensemble (``ensemble.members=K``, :class:`~pinn.training.ensemble.Ensemble`) trains and is
scored like any run by :func:`pinn.train`: its ``predictions.npz`` and ``rel_l2`` are those of the
members' mean prediction.  :func:`member_outputs` adds ``rel_l2_members``, their mean and sample
standard deviation to the metrics, and writes ``ensemble.npz`` (every member's prediction and the
pointwise sample standard deviation).
"""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np

from pinn.evaluation.grid import evaluate
from pinn.io import files as io
from pinn.training.ensemble import Ensemble

__all__ = ["member_outputs", "ENSEMBLE"]

#: The file of every member's prediction and the pointwise spread.
ENSEMBLE = "ensemble.npz"


def member_outputs(model: Ensemble, pde, resolution, run_dir: str | Path, *, chunk_size: int) -> dict:
    """Evaluate every member of ``model`` as the run was evaluated, write ``ensemble.npz`` into
    ``run_dir`` and return the members' metrics."""
    evals = [evaluate(model.member(k), pde, resolution, chunk_size=chunk_size) for k in range(model.size)]
    members = np.stack([ev.compared()[0] for ev in evals])
    spread = members.std(axis=0, ddof=1) if model.size > 1 else np.zeros_like(members[0])
    io.atomic_write(Path(run_dir) / ENSEMBLE, lambda f: np.savez_compressed(f, u_members=members, u_std=spread))
    errors = [float(ev.metrics["rel_l2"]) for ev in evals]
    return {
        "members": model.size,
        "rel_l2_members": errors,
        "rel_l2_member_mean": statistics.fmean(errors),
        "rel_l2_member_sample_std": statistics.stdev(errors) if len(errors) > 1 else 0.0,
    }
