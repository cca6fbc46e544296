"""Plots of a run: arrays in, PNG files out.

Uses matplotlib's object-oriented ``Figure`` API (no ``pyplot``), so no global
backend or figure state is touched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from pinn.io.safe import atomic_write

__all__ = [
    "run_title", "loss_figure", "solution_figure", "residual_figure", "plot_residuals", "plot_solution",
    "plot_slices", "plot_snapshots", "snapshot_figure",
    "plot_loss", "plot_run", "plot_error_vs", "plot_loss_curves", "plot_solution_grid"
]


def run_title(pde: str, params: Mapping | None = None, rel_l2: float | None = None, *, limit: int = 110) -> str:
    """``"burgers (nu = 0.00318), rel. L2 1.56e-05"``: the PDE, its scalar parameters (keys not
    starting with ``_``) and the error, cut to ``limit`` characters."""
    shown = []
    for k, v in (params or {}).items():
        if str(k).startswith("_") or not isinstance(v, (int, float, str, bool)) or isinstance(v, bool):
            continue
        shown.append(f"{k} = {v:.3g}" if isinstance(v, float) else f"{k} = {v}")
    text = pde + (f" ({', '.join(shown)})" if shown else "")
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text + (f", rel. L2 {rel_l2:.2e}" if rel_l2 is not None else "")


def _plane(grid: Mapping[str, np.ndarray], *arrays: np.ndarray):
    """Reduce to the plane of the first and last coordinates (middle index of the others)."""
    names = list(grid)
    if len(names) < 2:
        raise ValueError("solution plots need at least two coordinates")
    mid = tuple(slice(None) if i in (0, len(names) - 1) else len(grid[n]) // 2 for i, n in enumerate(names))
    fixed = {n: float(grid[n][len(grid[n]) // 2]) for n in names[1:-1]}
    return names[0], names[-1], fixed, [np.asarray(a)[mid] for a in arrays]


def _save(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as a PNG at ``path`` atomically, never through a link (:func:`pinn.io.safe.atomic_write`)."""
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110))
    return path


def _by_field(grid: Mapping[str, np.ndarray], fields: Sequence[str], *arrays: np.ndarray):
    """``[(field, array, array, ...)]``: one entry per field (a trailing field axis when several)."""
    if len(fields) == 1:
        return [(fields[0], *arrays)]
    return [(f, *(np.asarray(a)[..., i] for a in arrays)) for i, f in enumerate(fields)]


def _node_plane(nodes: Mapping[str, np.ndarray], *arrays: np.ndarray):
    """Scattered nodes reduced to the plane of the first two coordinates: with more (a time
    series), the rows at the last value of each further coordinate."""
    names = list(nodes)
    if len(names) < 2:
        raise ValueError("solution plots need at least two coordinates")
    keep = np.ones(len(nodes[names[0]]), dtype=bool)
    fixed = {}
    for n in names[2:]:
        fixed[n] = float(np.max(nodes[n]))
        keep &= nodes[n] == fixed[n]
    return names[0], names[1], fixed, nodes[names[0]][keep], nodes[names[1]][keep], \
        [np.asarray(a)[keep] for a in arrays]


#: ``inside(points (n, 2)) -> (n,) bool``: whether points of the plotted plane lie in the domain.
Inside = Callable[[np.ndarray], np.ndarray]


def _triangulation(x: np.ndarray, y: np.ndarray, inside: Inside | None = None):
    """A Delaunay triangulation of scattered nodes, with the triangles that bridge a hole or a
    concave part masked, so holes stay blank: those whose centroid lies outside the domain
    (``inside``, the domain's own test), or, without it, those with an edge over 3x the median
    edge (which also blanks a graded mesh's coarse triangles: give ``inside`` where it is known)."""
    from matplotlib.tri import Triangulation

    tri = Triangulation(x, y)
    t = tri.triangles
    if inside is not None:
        centroids = np.stack([x[t].mean(axis=1), y[t].mean(axis=1)], axis=1)
        tri.set_mask(~np.asarray(inside(centroids), dtype=bool))
        return tri
    edges = np.stack([np.hypot(x[t[:, i]] - x[t[:, (i + 1) % 3]], y[t[:, i]] - y[t[:, (i + 1) % 3]])
                      for i in range(3)], axis=1)
    tri.set_mask(edges.max(axis=1) > 3 * np.median(edges))
    return tri


def plot_solution(grid: Mapping[str, np.ndarray], u_pred: np.ndarray, u_ref: np.ndarray, path: str | Path, *,
                  fields: Sequence[str] = ("u",), layout: str = "grid", title: str | None = None,
                  inside: Inside | None = None) -> Path:
    """Heatmaps of prediction, reference and absolute error (second axis horizontal), one row per
    field, saved to ``path``; with ``layout="nodes"``, ``grid`` holds scattered nodes (drawn on
    their triangulation, blank where ``inside``, the domain's test, says a triangle is outside)."""
    return _save(solution_figure(grid, u_pred, u_ref, fields=fields, layout=layout, title=title, inside=inside),
                 Path(path))


def solution_figure(grid: Mapping[str, np.ndarray], u_pred: np.ndarray, u_ref: np.ndarray, *,
                    fields: Sequence[str] = ("u",), layout: str = "grid", title: str | None = None,
                    inside: Inside | None = None) -> Figure:
    """The figure of :func:`plot_solution`, unsaved (e.g. for TensorBoard); ``title`` (the PDE, its
    parameters and the error, say) heads it.  Each panel's title gives its field's rel. L2 error."""
    rows = _by_field(grid, fields, u_pred, u_ref)
    fig = Figure(figsize=(15, 4 * len(rows)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(rows), 3))
    fixed = {}
    tri = None
    for row, (field, u_p, u_r) in zip(axes, rows):
        if layout == "nodes":  # space as it is: the first coordinate horizontal
            b, a, fixed, xb, xa, (pred, ref) = _node_plane(grid, u_p, u_r)
            tri = tri or _triangulation(xb, xa, _plane_inside(inside, b, a, grid))
        else:
            a, b, fixed, (pred, ref) = _plane(grid, u_p, u_r)
            extent = [grid[b][0], grid[b][-1], grid[a][0], grid[a][-1]]
        vmin, vmax = float(min(np.nanmin(pred), np.nanmin(ref))), float(max(np.nanmax(pred), np.nanmax(ref)))
        panels = [("prediction", pred, vmin, vmax, "viridis"), ("reference", ref, vmin, vmax, "viridis"),
                  ("|prediction - reference|", np.abs(pred - ref), None, None, "magma")]
        for ax, (name, data, lo, hi, cmap) in zip(row, panels):
            if layout == "nodes":
                im = ax.tripcolor(tri, data, shading="gouraud", vmin=lo, vmax=hi, cmap=cmap)
                ax.set_aspect("equal")
            else:
                im = ax.imshow(data, origin="lower", aspect="auto", extent=extent, vmin=lo, vmax=hi, cmap=cmap)
            ax.set_xlabel(b)
            ax.set_ylabel(a)
            is_error = "|" in name
            if is_error:
                ok = ~np.isnan(ref)
                err = float(np.linalg.norm((pred - ref)[ok])) / max(float(np.linalg.norm(ref[ok])), 1e-300)
                name = f"{name}, rel. L2 {err:.2e}"
            ax.set_title(f"{field}: {name}" if len(rows) > 1 else name)
            cb = fig.colorbar(im, ax=ax)
            cb.ax.set_title("error" if is_error else field, fontsize="small")  # above: clear of the next panel
    heading = [title] if title else []
    if fixed:
        heading.append(", ".join(f"{k} = {v:.3g}" for k, v in fixed.items()))
    if heading:
        fig.suptitle("; ".join(heading))
    return fig


def residual_figure(grid: Mapping[str, np.ndarray], residuals: Mapping[str, np.ndarray], *,
                    layout: str = "grid", inside: Inside | None = None) -> Figure:
    """``|residual|`` of each equation over the plane of :func:`solution_figure`, on a log colour
    scale (the first thing to look at when a run goes wrong)."""
    from matplotlib.colors import LogNorm

    names = list(residuals)
    if not names:
        raise ValueError("no residual maps to draw")
    fig = Figure(figsize=(5 * len(names), 4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(names)))
    fixed = {}
    for ax, name in zip(axes, names):
        if layout == "nodes":
            b, a, fixed, xb, xa, (data,) = _node_plane(grid, residuals[name])
            tri = _triangulation(xb, xa, _plane_inside(inside, b, a, grid))
        else:
            a, b, fixed, (data,) = _plane(grid, residuals[name])
        finite = data[np.isfinite(data) & (data > 0)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (1e-16, 1.0)
        floor = max(lo, hi * 1e-8)
        norm = LogNorm(vmin=floor, vmax=max(hi, lo * 10))
        undefined = np.isnan(data)  # outside the shape, or where no residual is defined: drawn blank
        shown = np.where(undefined, np.nan, np.where(data > 0, data, floor))
        if layout == "nodes":
            if undefined.any():  # a triangle touching an undefined node is left blank
                old = tri.mask if tri.mask is not None else np.zeros(len(tri.triangles), dtype=bool)
                tri.set_mask(old | undefined[tri.triangles].any(axis=1))
                shown = np.where(undefined, floor, shown)
            im = ax.tripcolor(tri, shown, shading="gouraud", norm=norm, cmap="inferno")
            ax.set_aspect("equal")
        else:
            im = ax.imshow(shown, origin="lower", aspect="auto", norm=norm, cmap="inferno",
                           extent=[grid[b][0], grid[b][-1], grid[a][0], grid[a][-1]])
        ax.set_xlabel(b)
        ax.set_ylabel(a)
        ax.set_title(f"|{name}|, rms {np.sqrt(np.nanmean(data ** 2)):.2e}")
        fig.colorbar(im, ax=ax).ax.set_title(f"|{name}|", fontsize="small")
    if fixed:
        fig.suptitle(", ".join(f"{k} = {v:.3g}" for k, v in fixed.items()))
    return fig


def plot_residuals(grid: Mapping[str, np.ndarray], residuals: Mapping[str, np.ndarray], path: str | Path, *,
                   layout: str = "grid", inside: Inside | None = None) -> Path:
    """Save :func:`residual_figure` to ``path``."""
    return _save(residual_figure(grid, residuals, layout=layout, inside=inside), Path(path))


def _plane_inside(inside: Inside | None, b: str, a: str, grid: Mapping[str, np.ndarray]) -> Inside | None:
    """``inside`` of the plotted plane's points ``(b, a)``, given as points of every coordinate in
    ``grid``'s order (the other coordinates at their first value: a domain's test reads space)."""
    if inside is None:
        return None
    names = list(grid)

    def test(plane: np.ndarray) -> np.ndarray:
        full = np.zeros((len(plane), len(names)))
        for k, n in enumerate(names):
            full[:, k] = np.asarray(grid[n], dtype=np.float64).reshape(-1)[0]
        full[:, names.index(b)], full[:, names.index(a)] = plane[:, 0], plane[:, 1]
        return inside(full)

    return test


def plot_slices(
    grid: Mapping[str, np.ndarray], u_pred: np.ndarray, u_ref: np.ndarray, path: str | Path, *, count: int = 4,
    fields: Sequence[str] = ("u",),
) -> Path:
    """Prediction over reference along the first coordinate at ``count`` values of the last, a row per field."""
    rows = _by_field(grid, fields, u_pred, u_ref)
    b = list(grid)[-1]
    cols = np.unique(np.linspace(0, len(grid[b]) - 1, count).round().astype(int))
    fig = Figure(figsize=(4 * len(cols), 3.5 * len(rows)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(rows), len(cols), sharey="row"))
    for row, (field, u_p, u_r) in zip(axes, rows):
        a, b, fixed, (pred, ref) = _plane(grid, u_p, u_r)
        where = "".join(f", {k} = {v:.3g}" for k, v in fixed.items())  # every slice says where it is taken
        for ax, j in zip(row, cols):
            ax.plot(grid[a], ref[:, j], "k-", lw=2, label="reference")
            ax.plot(grid[a], pred[:, j], "r--", lw=1.5, label="prediction")
            ax.set_title(f"{b} = {grid[b][j]:.3g}{where}")
            ax.set_xlabel(a)
        row[0].set_ylabel(field)
    axes[0][0].legend()
    return _save(fig, Path(path))


def plot_snapshots(grid: Mapping[str, np.ndarray], u_pred: np.ndarray, u_ref: np.ndarray, path: str | Path, *,
                   count: int = 4, fields: Sequence[str] = ("u",)) -> Path:
    """Save :func:`snapshot_figure` to ``path``."""
    return _save(snapshot_figure(grid, u_pred, u_ref, count=count, fields=fields), Path(path))


def snapshot_figure(grid: Mapping[str, np.ndarray], u_pred: np.ndarray, u_ref: np.ndarray, *, count: int = 4,
                    fields: Sequence[str] = ("u",)) -> Figure:
    """For a grid of three or more coordinates (two in space and time, say): the plane of the first
    two coordinates (second horizontal) at ``count`` values of the last (the time), a row per value
    and field, with prediction, reference and absolute error.  Each panel names where it is taken
    (the last coordinate's value, and any coordinate between at its middle)."""
    names = list(grid)
    if len(names) < 3:
        raise ValueError("snapshots need at least three coordinates (two in the plane, one across)")
    last = names[-1]
    picks = np.unique(np.linspace(0, len(grid[last]) - 1, count).round().astype(int))
    rows = _by_field(grid, fields, u_pred, u_ref)
    a, b = names[0], names[1]
    fig = Figure(figsize=(15, 3.6 * len(picks) * len(rows)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(picks) * len(rows), 3))
    extent = [grid[b][0], grid[b][-1], grid[a][0], grid[a][-1]]
    k = 0
    for field, u_p, u_r in rows:
        lo = float(min(np.nanmin(u_p), np.nanmin(u_r)))
        hi = float(max(np.nanmax(u_p), np.nanmax(u_r)))
        for j in picks:
            index = tuple(slice(None) if i < 2 else (j if i == len(names) - 1 else len(grid[n]) // 2)
                          for i, n in enumerate(names))
            pred, ref = np.asarray(u_p)[index], np.asarray(u_r)[index]
            where = ", ".join([f"{n} = {grid[n][len(grid[n]) // 2]:.3g}" for n in names[2:-1]]
                              + [f"{last} = {grid[last][j]:.3g}"])
            for ax, (name, data, vmin, vmax, cmap) in zip(axes[k], [
                    ("prediction", pred, lo, hi, "viridis"), ("reference", ref, lo, hi, "viridis"),
                    ("|prediction - reference|", np.abs(pred - ref), None, None, "magma")]):
                im = ax.imshow(data, origin="lower", aspect="auto", extent=extent, vmin=vmin, vmax=vmax, cmap=cmap)
                ax.set_title(f"{field + ': ' if len(rows) > 1 else ''}{name} at {where}", fontsize="medium")
                ax.set_xlabel(b)
                ax.set_ylabel(a)
                fig.colorbar(im, ax=ax)
            k += 1
    return fig


#: History columns that are not loss terms: bookkeeping, the learning rate, and weights.
_NOT_LOSSES = {"step", "stage", "seconds", "lr", "causal_min_weight"}


def _stage_switches(history: Sequence[Mapping]) -> list[tuple[float, str]]:
    """``[(step, stage)]`` where each stage after the first begins (between its neighbours' rows)."""
    out = []
    for before, row in zip(history, history[1:]):
        if row.get("stage") != before.get("stage"):
            out.append((before["step"], str(row.get("stage"))))
    return out


def plot_loss(history: Sequence[Mapping], path: str | Path, *, coefficients: Sequence[str] = ()) -> Path:
    """Save :func:`loss_figure` to ``path``."""
    return _save(loss_figure(history, coefficients=coefficients), Path(path))


def loss_figure(history: Sequence[Mapping], *, coefficients: Sequence[str] = ()) -> Figure:
    """The total loss and each term against step (log scale), a dotted line where each stage
    begins; below, the learning rate on an axis of its own, and the learned coefficients (the
    columns named in ``coefficients``) and causal weights on another."""
    seen = list(dict.fromkeys(k for row in history for k in row))  # a marched run's later windows drop terms
    keys = [k for k in seen if k not in _NOT_LOSSES and k not in coefficients]
    others = [k for k in seen if k in coefficients or k == "causal_min_weight"]
    has_lr = bool(history) and "lr" in history[0]
    rows = 1 + has_lr + bool(others)
    fig = Figure(figsize=(7, 3.2 + 1.8 * (rows - 1)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, 1, sharex=True, height_ratios=[2] + [1] * (rows - 1)))
    ax = axes[0]
    if history:
        steps = np.array([row["step"] for row in history])
        for key in keys:
            values = np.array([row.get(key, np.nan) for row in history], dtype=float)
            ax.semilogy(steps, values, lw=2 if key == "loss" else 1, label=key)
        for a in axes:
            for step, stage in _stage_switches(history):
                a.axvline(step, color="gray", ls=":", label=f"{stage} starts" if a is ax else None)
        ax.legend(fontsize="small")
        if has_lr:
            axes[1].semilogy(steps, [row["lr"] for row in history], color="k", lw=1, drawstyle="steps-post")
            axes[1].set_ylabel("learning rate")
        if others:
            a = axes[-1]
            for key in others:
                a.plot(steps, [row.get(key, np.nan) for row in history], lw=1.5, label=key)
            a.set_ylabel("coefficients, weights")
            a.legend(fontsize="small")
    ax.set_ylabel("mean squared residual")
    ax.set_title("training loss")
    axes[-1].set_xlabel("step")
    return fig


def plot_run(
    out_dir: str | Path,
    grid: Mapping[str, np.ndarray],
    u_pred: np.ndarray,
    u_ref: np.ndarray,
    history: Sequence[Mapping],
    *,
    fields: Sequence[str] = ("u",),
    layout: str = "grid",
    residuals: Mapping[str, np.ndarray] | None = None,
    coefficients: Sequence[str] = (),
    title: str | None = None,
    inside: Inside | None = None,
) -> list[Path]:
    """Write ``solution.png``, ``slices.png`` (on a grid only), ``snapshots.png`` (on a grid of three
    or more coordinates: the first two's plane at a few values of the last), ``residuals.png`` (with residual
    maps) and ``loss.png`` into ``out_dir``; ``coefficients`` names the history's learned
    coefficients (drawn apart from the losses); ``title`` heads the solution figure; ``inside``, the
    domain's test of points (:meth:`pinn.physics.domain_base.SpaceTimeDomain.inside`), blanks a node
    layout's triangles outside it."""
    out_dir = Path(out_dir)
    paths = [plot_solution(grid, u_pred, u_ref, out_dir / "solution.png", fields=fields, layout=layout, title=title,
                           inside=inside)]
    if layout == "grid":
        paths.append(plot_slices(grid, u_pred, u_ref, out_dir / "slices.png", fields=fields))
        if len(grid) >= 3:  # two in space and time: the spatial plane at a few times, not only x-t at one y
            paths.append(plot_snapshots(grid, u_pred, u_ref, out_dir / "snapshots.png", fields=fields))
    if residuals:
        paths.append(plot_residuals(grid, residuals, out_dir / "residuals.png", layout=layout, inside=inside))
    return paths + [plot_loss(history, out_dir / "loss.png", coefficients=coefficients)]


def plot_error_vs(key: str, points: Sequence[tuple[str, float]], path: str | Path) -> Path:
    """Rel. L2 error against one swept parameter: every run, and the mean ± std over repeats (seeds)."""
    values = list(dict.fromkeys(v for v, _ in points))
    try:
        xs = {v: float(v) for v in values}
        values.sort(key=float)
    except ValueError:
        xs = {v: float(i) for i, v in enumerate(values)}
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    ax.semilogy([xs[v] for v, _ in points], [e for _, e in points], "o", alpha=0.4, label="runs")
    groups = [[e for w, e in points if w == v] for v in values]
    means = [float(np.mean(g)) for g in groups]
    stds = [float(np.std(g, ddof=1)) if len(g) > 1 else 0.0 for g in groups]  # the sample std
    ax.errorbar([xs[v] for v in values], means, yerr=stds, fmt="-s", capsize=4, label="mean ± sample std")
    if any(not _is_number(v) for v in values):
        ax.set_xticks([xs[v] for v in values], values)
    ax.set_xlabel(key)
    ax.set_ylabel("rel. L2 error")
    ax.legend()
    return _save(fig, Path(path))


def _is_number(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True


def plot_loss_curves(labels: Sequence[str], histories: Sequence[Sequence[Mapping]], path: str | Path) -> Path:
    """The total loss of several runs against step, overlaid; a dotted line in each run's colour
    where its next stage begins."""
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    for label, history in zip(labels, histories):
        if history:
            (line,) = ax.semilogy([r["step"] for r in history], [r["loss"] for r in history], label=label)
            for step, _ in _stage_switches(history):
                ax.axvline(step, color=line.get_color(), ls=":", lw=1)
    ax.set_xlabel("step")
    ax.set_ylabel("loss (dotted: a stage begins)")
    if labels:
        ax.legend(fontsize="small")
    return _save(fig, Path(path))


def plot_solution_grid(items: Sequence[tuple[str, Mapping[str, np.ndarray], np.ndarray]], path: str | Path, *,
                       layouts: Sequence[str] | None = None, fields: Sequence[Sequence[str]] | None = None) -> Path:
    """Predictions of several runs as heatmaps in a grid, one panel per run (its first field, named
    on the colorbar); ``layouts`` says, per run, whether its points are a ``"grid"`` (the default)
    or ``"nodes"``; ``fields`` gives each run's field names (default ``u``)."""
    layouts = list(layouts) if layouts is not None else ["grid"] * len(items)
    names = [f[0] for f in fields] if fields is not None else ["u"] * len(items)
    cols = min(4, len(items))
    rows = -(-len(items) // cols)
    fig = Figure(figsize=(4 * cols, 3.3 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).reshape(-1)
    for ax, (label, grid, u), layout, name in zip(axes, items, layouts, names):
        u = np.asarray(u)
        if layout == "grid" and u.ndim > len(grid):  # several fields: the first
            u = u[..., 0]
        if layout == "nodes":
            b, a, _, xb, xa, (pred,) = _node_plane(grid, u if u.ndim == 1 else u[:, 0])
            im = ax.tripcolor(_triangulation(xb, xa), pred, shading="gouraud")
            ax.set_aspect("equal")
        else:
            a, b, _, (pred,) = _plane(grid, u)
            im = ax.imshow(pred, origin="lower", aspect="auto",
                           extent=[grid[b][0], grid[b][-1], grid[a][0], grid[a][-1]])
        ax.set_title(label, fontsize="small")
        ax.set_xlabel(b)
        ax.set_ylabel(a)
        fig.colorbar(im, ax=ax).ax.set_title(name, fontsize="small")
    for ax in axes[len(items):]:
        ax.set_axis_off()
    return _save(fig, Path(path))
