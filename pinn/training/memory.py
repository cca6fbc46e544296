"""Up-front memory estimates: refuse a run that cannot fit before it trains, naming the limit.

A run that outgrows the machine's memory is killed by the kernel without a word (the Linux
OOM killer sends SIGKILL), or fails at evaluation after all its training.  :func:`check_fits`
estimates the two peaks of a job and refuses, with a :class:`ValueError` that names the
setting to lower, when either exceeds the memory free now (``MemAvailable`` of
``/proc/meminfo`` on the CPU, ``torch.cuda.mem_get_info`` on a GPU).

The training step's estimate is calibrated on measured peaks (``scripts/bench_step.py
--memory``, docs/performance.md): a reverse-over-reverse step keeps about
``ACTIVATION_FACTOR`` numbers per point, derivative stream and hidden unit (2.2-2.5 measured
on Burgers from 8x20 at 2,000 points to 4x256 at 50,000), where the streams of a point set are
its network value and each derivative its terms read.  Parameters add their gradient and
the optimizer's state: two moments for Adam, ``2 * history`` vectors for L-BFGS, the
``n x n`` inverse Hessian of the dense methods.  It is an estimate, on the low side by design:
what it refuses cannot fit; what it passes may still not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

from pinn.physics.fields import parse
from pinn.evaluation.grid import check_grid_size

__all__ = [
    "ACTIVATION_FACTOR", "available_memory", "step_bytes", "evaluation_bytes", "check_fits",
    "check_evaluation_fits"
]

#: Numbers kept per point, derivative stream and hidden unit by one training step (measured 2.2-2.5).
ACTIVATION_FACTOR = 2.2


def available_memory(device: torch.device | str = "cpu") -> int | None:
    """Bytes free for a new allocation on ``device`` now; ``None`` where it cannot be read."""
    device = torch.device(device)
    if device.type == "cuda":
        try:
            return int(torch.cuda.mem_get_info(device)[0])
        except (RuntimeError, AssertionError):
            return None
    if device.type != "cpu":
        return None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _hidden_units(model: nn.Module) -> int:
    """Hidden outputs one point produces in a forward pass: every linear layer's outputs."""
    return sum(m.out_features for m in model.modules() if isinstance(m, nn.Linear))


def _streams(pde, terms, which: str) -> int:
    """The network value plus each distinct derivative the ``terms`` on point set ``which`` read."""
    coordinates, fields = pde.domain.coordinates, pde.fields
    indices = {parse(name, coordinates, fields)[1] for t in terms if t.points == which for name in t.fields}
    return 1 + len(indices - {()})


def step_bytes(model: nn.Module, loss, points: Mapping[str, int], stages=(), *, members: int = 1) -> int:
    """Estimated peak bytes of one training step of ``model`` on ``points`` (set -> count) under
    ``loss``, with the optimizer state of the largest of ``stages``; ``members`` networks at once."""
    size = next(model.parameters()).element_size()
    params = sum(p.numel() for p in model.parameters())
    hidden = _hidden_units(model)
    numbers = sum(ACTIVATION_FACTOR * n * _streams(loss.pde, loss.terms, which) * hidden for which, n in points.items())
    state = 3 * params  # parameters, their gradient, and one optimizer vector at the least
    for stage in stages:
        method = getattr(stage, "method", None)
        if method in ("bfgs", "ssbfgs"):  # dense inverse Hessian, in float64, and its update's temporaries
            state = max(state, 2 * params * params * 8 // size)
        elif method == "lbfgs":
            state = max(state, (2 * stage.history + 4) * params)
        else:  # Adam: gradient and two moments
            state = max(state, 4 * params)
    return int(members * (numbers + state) * size)


def evaluation_bytes(model: nn.Module, resolution, *, fields: int, equations: int, chunk_size: int,
                     streams: int) -> int:
    """Estimated peak bytes of evaluating on the grid ``resolution``: the float64 arrays kept for
    every grid point (prediction and reference per field, one residual map per equation), plus
    one chunk's derivative passes."""
    n = math.prod(int(r) for r in resolution)
    kept = n * (2 * fields + equations + len(resolution)) * 8
    size = next(model.parameters()).element_size()
    chunk = ACTIVATION_FACTOR * min(chunk_size, n) * streams * _hidden_units(model) * size
    return int(kept + chunk)


def _gb(b: float) -> str:
    return f"{b / 2**30:.1f} GB" if b >= 2**30 else f"{b / 2**20:.0f} MB"


def check_fits(job, *, members: int = 1, available: int | None = None) -> None:
    """Refuse ``job`` (a :class:`~pinn.training.job.Job`) if one training step or its evaluation
    needs more memory than is free on its device (``available`` bytes, read when ``None``)."""
    free = available_memory(job.device) if available is None else available
    if free is None:
        return
    points = dict(job.points)
    if job.observations is not None:  # the data term's points ride in every step too
        points["data"] = len(job.observations.points)
    step = step_bytes(job.model, job.loss, points, job.trainer.stages, members=members)
    if step > free:
        raise ValueError(
            f"one training step needs about {_gb(step)} of memory, more than the {_gb(free)} free on "
            f"{job.device.type}; ask for less: fewer points "
            f"({', '.join(f'points.{k}={v}' for k, v in job.points.items())}), "
            f"a smaller model.width or model.depth, or a smaller quasi-Newton history")
    check_evaluation_fits(job.model, job.pde, job.resolution, chunk_size=job.chunk_size,
                          residual_maps=job.residual_maps, available=free)


def check_evaluation_fits(model: nn.Module, pde, resolution, *, chunk_size: int, residual_maps: bool = True,
                          available: int | None = None, resolution_key: str = "evaluation.resolution") -> None:
    """Refuse evaluating ``model`` on ``pde``'s grid of ``resolution`` if it needs more memory than is free."""
    check_grid_size(resolution, key=resolution_key)  # the fixed cap first: its message is the plainer one
    device = next(model.parameters()).device
    free = available_memory(device) if available is None else available
    if free is None:
        return
    streams = _streams(pde, pde.terms(), "interior") if residual_maps else 1
    equations = len(pde.equations) if residual_maps else 0
    ev = evaluation_bytes(model, resolution, fields=len(pde.fields), equations=equations, chunk_size=chunk_size,
                          streams=streams)
    if ev > free:
        raise ValueError(
            f"evaluating on the {'x'.join(map(str, resolution))} grid needs about {_gb(ev)} of memory, more than "
            f"the {_gb(free)} free on {device.type}; set a coarser {resolution_key}, a smaller chunk size, or "
            f"leave out the residual maps")
