"""Predictions under ``torch.inference_mode``, chunked, on a regular grid or at a reference table's
nodes; error metrics."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from pinn.core.checks import positive_int
from pinn.pdes.base import PDE

__all__ = [
    "GridEvaluation", "NodeEvaluation", "predict", "evaluate", "evaluate_grid", "evaluate_nodes", "relative_l2",
    "max_abs_error", "MAX_GRID_POINTS", "check_grid_size"
]

#: The largest evaluation grid accepted (predictions and reference alone take 16 bytes a point).
MAX_GRID_POINTS = 100_000_000


def check_grid_size(resolution: Sequence[int], *, key: str | None = None) -> int:
    """The number of points of the grid ``resolution``; a ``ValueError`` beyond
    :data:`MAX_GRID_POINTS`, naming the setting ``key`` if given."""
    n = math.prod(int(r) for r in resolution)
    if n > MAX_GRID_POINTS:
        raise ValueError(f"resolution {list(resolution)} makes an evaluation grid of {n:.3g} points, more than "
                         f"{MAX_GRID_POINTS:.0e}; give fewer points per coordinate" + (f" ({key})" if key else ""))
    return n


def _kept(pred, ref):
    """The entries where the reference is defined (NaN marks grid points outside a shape)."""
    pred, ref = np.asarray(pred, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if pred.shape != ref.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from reference shape {ref.shape}")
    keep = ~np.isnan(ref)
    return pred[keep], ref[keep]


def relative_l2(pred: np.ndarray, ref: np.ndarray) -> float:
    """``||pred - ref||_2 / ||ref||_2`` over all entries where ``ref`` is not NaN.  Against a reference
    that is zero everywhere (a snapshot at a zero initial value): 0 where ``pred`` is zero there too,
    else infinity."""
    pred, ref = _kept(pred, ref)
    error, size = np.linalg.norm(pred - ref), np.linalg.norm(ref)
    if size == 0:
        return 0.0 if error == 0 else math.inf
    return float(error / size)


def max_abs_error(pred: np.ndarray, ref: np.ndarray) -> float:
    """``max |pred - ref|`` over all entries where ``ref`` is not NaN."""
    pred, ref = _kept(pred, ref)
    return float(np.max(np.abs(pred - ref)))


def _param(model: nn.Module) -> torch.Tensor:
    return next(iter(model.parameters()))


def predict(model: nn.Module, points: np.ndarray | torch.Tensor, *, chunk_size: int = 65536) -> np.ndarray:
    """Model values at ``(N, d)`` points as a float64 array, ``chunk_size`` points at a time:
    ``(N,)`` for one output, ``(N, F)`` for F."""
    p = _param(model)
    points = torch.as_tensor(points)
    was_training = model.training
    model.eval()
    try:
        parts = []
        with torch.inference_mode():
            for i in range(0, points.shape[0], chunk_size):
                chunk = points[i : i + chunk_size].to(device=p.device, dtype=p.dtype)
                parts.append(model(chunk).reshape(chunk.shape[0], -1).double().cpu().numpy())
    finally:
        model.train(was_training)
    out = np.concatenate(parts) if parts else np.empty((0, 1))
    return out[:, 0] if out.shape[1] == 1 else out


@dataclass
class _Compared:
    """What grid and node evaluations share: their arrays, the comparison and its metrics."""

    grid: dict[str, np.ndarray]
    u_pred: np.ndarray
    u_ref: np.ndarray
    fields: tuple[str, ...] = ("u",)
    gauge: tuple[str, ...] = ()
    time_axis: int | None = None
    layout: ClassVar[str] = "grid"  # "nodes" in NodeEvaluation: a class attribute, never a field

    def compared(self) -> tuple[np.ndarray, np.ndarray]:
        """``(u_pred, u_ref)`` with the gauge fields' means removed from both: over space at each
        time on a grid with a time axis (the constant a pressure is fixed up to may change in time),
        else over all points."""
        pred, ref = np.array(self.u_pred, dtype=np.float64), np.array(self.u_ref, dtype=np.float64)
        for i, f in enumerate(self.fields):
            if f in self.gauge:
                at = (...,) if len(self.fields) == 1 else (..., i)
                for a in (pred, ref):
                    a[at] -= self._mean(a[at])
        return pred, ref

    def _mean(self, a: np.ndarray):
        if self.time_axis is None or self.layout != "grid":
            return np.nanmean(a)
        space = tuple(k for k in range(a.ndim) if k != self.time_axis)
        return np.nanmean(a, axis=space, keepdims=True)

    @property
    def metrics(self) -> dict[str, float]:
        """``rel_l2`` and ``max_abs_error`` over all fields; with several, also ``rel_l2_FIELD`` and
        ``max_abs_error_FIELD`` for each."""
        pred, ref = self.compared()
        out = {"rel_l2": relative_l2(pred, ref), "max_abs_error": max_abs_error(pred, ref)}
        if len(self.fields) > 1:
            for i, f in enumerate(self.fields):
                out[f"rel_l2_{f}"] = relative_l2(pred[..., i], ref[..., i])
                out[f"max_abs_error_{f}"] = max_abs_error(pred[..., i], ref[..., i])
        return out


    def error_in_time(self) -> dict[str, list[float]] | None:
        """The rel. L2 error (all fields) at each time of the grid, or each distinct time of the nodes:
        ``{"t": [...], "rel_l2": [...]}``; ``None`` for a steady problem.  How the error grows through
        time is what a long-time run is judged by."""
        if self.time_axis is None:
            return None
        pred, ref = self.compared()
        times = np.asarray(list(self.grid.values())[self.time_axis])
        if self.layout == "grid":
            pred, ref = np.moveaxis(pred, self.time_axis, 0), np.moveaxis(ref, self.time_axis, 0)
            ts, slices = times, list(zip(pred, ref))
        else:
            ts = np.unique(times)
            slices = [(pred[times == t], ref[times == t]) for t in ts]
        return {"t": [float(t) for t in ts], "rel_l2": [relative_l2(p, r) for p, r in slices]}


class GridEvaluation(_Compared):
    """Predictions and reference on a grid.

    Attributes:
        grid: ``{coordinate: 1-D array}`` in the PDE's coordinate order.
        u_pred: model values, shape ``tuple(len(a) for a in grid.values())``, plus a trailing
            field axis with several fields.
        u_ref: reference values, same shape.
        fields: the field names.
        gauge: the fields compared after removing their mean (fixed only up to a constant).
        time_axis: the grid's time axis, if any: a gauge field's mean is removed at each time.
    """

    layout = "grid"


class NodeEvaluation(_Compared):
    """Predictions and reference at scattered nodes (a reference table's).

    Attributes:
        grid: ``{coordinate: (N,) array}``: the nodes, column by column (named ``grid`` so that
            both kinds of evaluation are written and read alike).
        u_pred: model values ``(N,)``, or ``(N, F)`` with several fields.
        u_ref: reference values, same shape.
        fields, gauge: as for :class:`GridEvaluation`.
    """

    layout = "nodes"


def evaluate_nodes(model: nn.Module, pde: PDE, *, chunk_size: int = 65536) -> NodeEvaluation:
    """Evaluate ``model`` at the nodes of the PDE's reference table (:meth:`PDE.nodes`)."""
    found = pde.nodes()
    if found is None:
        raise ValueError(f"{pde.name} has no reference nodes; evaluate it on a grid (evaluate_grid)")
    coords, values = found
    names = pde.domain.coordinates
    if list(coords) != list(names):
        raise ValueError(f"{pde.name}: reference nodes give coordinates {list(coords)}, expected {list(names)}")
    points = np.stack([np.asarray(coords[c], dtype=np.float64) for c in names], axis=1)
    u_pred = predict(model, points, chunk_size=chunk_size)
    values = np.asarray(values, dtype=np.float64)
    if u_pred.shape != values.shape:
        raise ValueError(f"{pde.name}: reference values have shape {values.shape}, predictions {u_pred.shape}")
    return NodeEvaluation({c: points[:, i] for i, c in enumerate(names)}, u_pred, values,
                          tuple(pde.fields), tuple(pde.gauge), time_axis(pde))


def evaluate(model: nn.Module, pde: PDE, resolution: Sequence[int], *,
             chunk_size: int = 65536) -> GridEvaluation | NodeEvaluation:
    """The PDE's own evaluation: at its reference nodes if it has a table, else on the grid of
    ``resolution`` against :meth:`PDE.solution`."""
    if pde.nodes() is not None:
        return evaluate_nodes(model, pde, chunk_size=chunk_size)
    return evaluate_grid(model, pde, resolution, chunk_size=chunk_size)


def evaluate_grid(
    model: nn.Module, pde: PDE, resolution: Sequence[int], *, chunk_size: int = 65536
) -> GridEvaluation:
    """Evaluate ``model`` and the reference solution on the PDE domain's regular grid.

    On a domain over a shape, grid points outside it are NaN in both arrays (blank in plots,
    left out of the metrics).

    Grid points are generated chunk by chunk, so memory beyond the two output
    arrays stays flat as the grid grows.
    """
    positive_int("evaluation.chunk_size", chunk_size)
    grid = pde.domain.grid(resolution)
    axes = list(grid.values())
    shape = tuple(len(a) for a in axes)
    n = check_grid_size(shape)
    per_point = () if len(pde.fields) == 1 else (len(pde.fields),)
    u_pred = np.empty((n, *per_point))
    u_ref = np.empty((n, *per_point))
    names = pde.domain.coordinates
    for i in range(0, n, chunk_size):
        idx = np.unravel_index(np.arange(i, min(i + chunk_size, n)), shape)
        cols = [a[j] for a, j in zip(axes, idx)]
        pts = np.stack(cols, axis=1)
        u_pred[i : i + len(pts)] = predict(model, pts, chunk_size=chunk_size)
        keep = pde.domain.inside(pts)  # a box keeps every grid point; a shape masks the rest
        ref = np.full(u_ref[i : i + len(pts)].shape, np.nan)  # outside a shape: masked
        ref[keep] = pde.solution_array({c: col[keep] for c, col in zip(names, cols)})
        u_ref[i : i + len(pts)] = ref
        u_pred[i : i + len(pts)][~keep] = np.nan
    return GridEvaluation(grid, u_pred.reshape(shape + per_point), u_ref.reshape(shape + per_point),
                          tuple(pde.fields), tuple(pde.gauge), time_axis(pde))


def time_axis(pde: PDE) -> int | None:
    """The position of the PDE's time coordinate among its coordinates (``None`` if steady)."""
    return pde.domain.time_axis()
