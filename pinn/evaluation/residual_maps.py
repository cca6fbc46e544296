"""Maps of ``|residual|`` per equation over an evaluation's points: where a run fails to satisfy its PDE.

Evaluation runs under ``torch.no_grad`` or ``torch.inference_mode``, but residuals need input
derivatives.  The maps follow the pattern for that: each chunk of points is made as a fresh tensor
*outside* inference mode, its derivatives are taken under ``torch.enable_grad()`` inside
``torch.no_grad()``, and only the detached values are kept, so memory is bounded by one chunk's
graph whatever the grid's size.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from pinn.core.checks import positive_int
from pinn.diff.engines import eager_engine
from pinn.pdes.base import PDE

__all__ = ["residual_maps", "points_of", "evaluation_maps", "residual_metrics", "interior", "BOUNDARY_BAND"]


def points_of(grid: Mapping[str, np.ndarray], layout: str) -> np.ndarray:
    """The ``(N, d)`` points of an evaluation: the grid's points in C order (``layout="grid"``) or
    the nodes' columns side by side (``"nodes"``)."""
    arrays = [np.asarray(a, dtype=np.float64) for a in grid.values()]
    if layout == "nodes":
        return np.stack(arrays, axis=1)
    if layout != "grid":
        raise ValueError(f"layout must be 'grid' or 'nodes', got {layout!r}")
    mesh = np.meshgrid(*arrays, indexing="ij")
    return np.stack([m.reshape(-1) for m in mesh], axis=1)


def residual_maps(model: nn.Module, pde: PDE, engine, points: np.ndarray, *,
                  chunk_size: int = 4096) -> dict[str, np.ndarray]:
    """``{equation: (N,) |residual|}`` of ``model`` at ``points`` (``(N, d)``), float64.

    Points that are NaN (outside a shape) give NaN.  Works in any grad mode.

    Args:
        model: the network (its parameters are not changed and get no gradients).
        pde: whose equations (``pde.equations``) are evaluated.
        engine: a derivative engine (see :mod:`pinn.diff.engines`).
        points: ``(N, d)`` points, one column per coordinate.
        chunk_size: points per chunk (bounds the memory of the derivatives' graph).
    """
    positive_int("chunk_size", chunk_size)
    points = np.asarray(points, dtype=np.float64)
    names = pde.domain.coordinates
    if points.ndim != 2 or points.shape[1] != len(names):
        raise ValueError(f"points must have shape (N, {len(names)}) for coordinates {list(names)}, got {points.shape}")
    terms = [t for t in pde.terms() if t.name in pde.equations]
    engine = eager_engine(engine, model)  # a marched model's windows on autograd, not the jets
    p = next(model.parameters())
    out = {t.name: np.full(points.shape[0], np.nan) for t in terms}
    ok = ~np.isnan(points).any(axis=1)
    rows = np.flatnonzero(ok)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(False), torch.no_grad():
            for i in range(0, len(rows), chunk_size):
                idx = rows[i:i + chunk_size]
                x = torch.tensor(points[idx], dtype=p.dtype, device=p.device)  # fresh, not an inference tensor
                with torch.enable_grad():
                    res = engine.residuals(model, x.requires_grad_(True), names, terms, fields=pde.fields)
                for name, r in res.items():
                    out[name][idx] = r.detach().abs().double().cpu().numpy()
    finally:
        model.train(was_training)
    return out


#: Points nearer the spatial boundary than this share of the domain's diagonal are left out of the
#: residual maps: a boundary condition holds there, not the PDE (a hard constraint's distance
#: function makes the residual undefined on the boundary, and huge at a table's nodes on a
#: polygonal circle, which lie a chord's sagitta inside the true one).
BOUNDARY_BAND = 1e-3


def interior(pde: PDE, points: np.ndarray) -> np.ndarray:
    """``(N,)`` bool: the ``(N, d)`` points strictly inside the PDE's spatial domain, farther than
    :data:`BOUNDARY_BAND` of its diagonal from the boundary (NaN points are not)."""
    domain = pde.domain
    s = len(domain.space_names)
    x = np.asarray(points, dtype=np.float64)[:, :s]
    band = BOUNDARY_BAND * float(np.linalg.norm((domain.upper[:s] - domain.lower[:s]).numpy()))
    keep = ~np.isnan(x).any(axis=1)
    sdf = np.full(len(x), np.nan)
    sdf[keep] = domain.geometry.sdf(torch.as_tensor(x[keep])).numpy()
    return keep & (sdf < -band)


def evaluation_maps(ev, model: nn.Module, pde: PDE, engine, *, chunk_size: int = 4096) -> dict[str, np.ndarray]:
    """The residual maps at an evaluation's interior points (:class:`~pinn.evaluation.grid.GridEvaluation`
    or ``NodeEvaluation``), shaped like its grid (or nodes); NaN where its reference is undefined
    (outside a shape) and on the boundary (:func:`interior`), where a condition holds, not the PDE."""
    pts = points_of(ev.grid, ev.layout)
    ref = np.asarray(ev.u_ref, dtype=np.float64)
    shape = ref.shape if len(ev.fields) == 1 else ref.shape[:-1]
    undefined = np.asarray(np.isnan(ref).reshape(len(pts), -1).any(axis=1)) | ~interior(pde, pts)
    pts = np.where(undefined[:, None], np.nan, pts)
    return {name: r.reshape(shape) for name, r in residual_maps(model, pde, engine, pts, chunk_size=chunk_size).items()}


def residual_metrics(maps: Mapping[str, np.ndarray]) -> dict[str, float | int]:
    """``{"residual_rms_EQ": root mean square of |residual|}`` over the defined (interior) points of each
    map, with ``residual_points``, how many points that is, and ``residual_points_left_out``, how
    many of the evaluation's were not counted (on the boundary, outside a shape, or undefined)."""
    if not maps:
        return {}
    arrays = {name: np.asarray(r, dtype=np.float64) for name, r in maps.items()}
    out: dict[str, float | int] = {f"residual_rms_{name}": float(np.sqrt(np.nanmean(r ** 2))) if np.isfinite(r).any()
                                   else float("nan") for name, r in arrays.items()}
    first = next(iter(arrays.values()))
    counted = int(np.isfinite(first).sum())
    out["residual_points"] = counted
    out["residual_points_left_out"] = int(first.size - counted)
    return out
