"""Export an evaluation for ParaView, VisIt and other tools: VTK (``.vtu``), XDMF or CSV.

The files hold, at every evaluation point, each field's prediction, reference and absolute error
(``u_pred``, ``u_ref``, ``u_error``) and the ``|residual|`` maps (``residual_EQ``), written with
`meshio <https://github.com/nschloe/meshio>`_ (a well-kept library that knows these formats).

- A time-dependent PDE becomes a time series: one ``.vtu`` per time plus a ParaView ``.pvd``
  collection that plays them in order; one ``.xdmf`` with every time step (meshio's time-series
  writer, data inline as XML; a steady solution is one step at ``t = 0``); one CSV with a time
  column.
- A grid of 1, 2 or 3 space dimensions is written as a mesh of lines, quadrilaterals or
  hexahedra; points outside a shape keep NaN values.  Scattered nodes (a reference table), and
  spaces of more than 3 dimensions, are written as point clouds (``vertex`` cells): the first
  three coordinates place the points and every coordinate is also a point array.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from pinn.io.safe import atomic_write

__all__ = ["FORMATS", "export"]

FORMATS = ("vtk", "xdmf", "csv")


def _columns(u_pred, u_ref, fields: Sequence[str], residuals: Mapping[str, np.ndarray], n: int) -> dict:
    """``{name: (n,) array}``: prediction, reference and error of each field, then the residual maps."""
    pred = np.asarray(u_pred, dtype=np.float64).reshape(n, -1)
    ref = np.asarray(u_ref, dtype=np.float64).reshape(n, -1)
    out = {}
    for i, f in enumerate(fields):
        out[f"{f}_pred"], out[f"{f}_ref"], out[f"{f}_error"] = pred[:, i], ref[:, i], np.abs(pred[:, i] - ref[:, i])
    out.update({f"residual_{k}": np.asarray(v, dtype=np.float64).reshape(n) for k, v in residuals.items()})
    return out


def _cells(shape: Sequence[int]) -> tuple[str, np.ndarray]:
    """The cells of a structured grid of ``shape`` (C order): lines, quads or hexahedra."""
    idx = np.arange(int(np.prod(shape))).reshape(shape)
    if len(shape) == 1:
        return "line", np.stack([idx[:-1], idx[1:]], axis=1)
    if len(shape) == 2:
        a, b = idx[:-1, :-1], idx[1:, :-1]
        c, d = idx[1:, 1:], idx[:-1, 1:]
        return "quad", np.stack([a, b, c, d], axis=-1).reshape(-1, 4)
    if len(shape) == 3:
        n0, n1, n2 = (s - 1 for s in shape)
        corners = [idx[i:i + n0, j:j + n1, k:k + n2] for (i, j, k) in
                   ((0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1))]
        return "hexahedron", np.stack(corners, axis=-1).reshape(-1, 8)
    raise ValueError(f"no cells for {len(shape)} dimensions")


def _place(coords: np.ndarray) -> np.ndarray:
    """``(n, k)`` coordinates as ``(n, 3)`` positions: padded with zeros, or the first three."""
    n, k = coords.shape
    return coords[:, :3] if k >= 3 else np.hstack([coords, np.zeros((n, 3 - k))])


def _frames(grid: Mapping[str, np.ndarray], layout: str, time: str | None, columns: Mapping[str, np.ndarray]):
    """``[(t or None, positions, cells, point data)]``, one frame per time (one in all if steady)."""
    names = list(grid)
    if layout == "nodes":
        coords = np.stack([np.asarray(grid[c], dtype=np.float64) for c in names], axis=1)
        groups = [(None, np.arange(len(coords)))] if time is None else \
            [(float(t), np.flatnonzero(coords[:, names.index(time)] == t))
             for t in np.unique(coords[:, names.index(time)])]
        space = [i for i, c in enumerate(names) if c != time]
        frames = []
        for t, rows in groups:
            data = {k: v[rows] for k, v in columns.items()}
            data.update({c: coords[rows, i] for i, c in enumerate(names) if c != time})
            frames.append((t, _place(coords[rows][:, space]), [("vertex", np.arange(len(rows))[:, None])], data))
        return frames
    axes = [np.asarray(grid[c], dtype=np.float64) for c in names]
    shape = tuple(len(a) for a in axes)
    full = {k: v.reshape(shape) for k, v in columns.items()}
    space = [i for i, c in enumerate(names) if c != time]
    sshape = tuple(shape[i] for i in space)
    mesh = np.meshgrid(*[axes[i] for i in space], indexing="ij")
    coords = np.stack([m.reshape(-1) for m in mesh], axis=1)
    cells = [_cells(sshape)] if len(space) <= 3 else [("vertex", np.arange(len(coords))[:, None])]
    positions = _place(coords)
    extra = {names[i]: coords[:, j] for j, i in enumerate(space)} if len(space) > 3 else {}
    if time is None:
        return [(None, positions, cells, {**{k: v.reshape(-1) for k, v in full.items()}, **extra})]
    ti = names.index(time)
    return [(float(t), positions, cells, {**{k: np.take(v, j, axis=ti).reshape(-1) for k, v in full.items()}, **extra})
            for j, t in enumerate(axes[ti])]


def export(path: str | Path, fmt: str, grid: Mapping[str, np.ndarray], u_pred: np.ndarray, u_ref: np.ndarray, *,
           fields: Sequence[str] = ("u",), layout: str = "grid", residuals: Mapping[str, np.ndarray] | None = None,
           time: str | None = None) -> list[Path]:
    """Write an evaluation to ``path`` (a stem: the format's suffixes are added) as ``fmt``.

    Args:
        path: the output stem, e.g. ``RUN/eval/solution``.
        fmt: ``"vtk"``, ``"xdmf"`` or ``"csv"``.
        grid, u_pred, u_ref, fields, layout: an evaluation, as in ``predictions.npz``.
        residuals: ``{equation: |residual| map}``, indexed like ``u_ref``.
        time: the name of the time coordinate (a time series), or ``None``.

    Returns:
        The files written.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)} (e.g. --export vtk)")
    if time is not None and time not in grid:
        raise ValueError(f"time coordinate {time!r} is not one of {list(grid)}")
    path = Path(path)
    n = len(next(iter(grid.values()))) if layout == "nodes" else int(np.prod([len(a) for a in grid.values()]))
    columns = _columns(u_pred, u_ref, fields, residuals or {}, n)
    if fmt == "csv":
        return [_write_csv(path.with_suffix(".csv"), grid, layout, columns)]
    import meshio

    frames = _frames(grid, layout, time, columns)
    if fmt == "xdmf":
        # The data inline as XML (no HDF5 library needed); meshio's plain XDMF writer imports h5py
        # whatever the format, so a steady solution is a time series of one step at t = 0.
        out = path.with_suffix(".xdmf")

        def xdmf(scratch: Path) -> None:
            with meshio.xdmf.TimeSeriesWriter(scratch, data_format="XML") as writer:
                writer.write_points_cells(frames[0][1], frames[0][2])
                for t, _, _, data in frames:
                    writer.write_data(0.0 if t is None else t, point_data=data)

        _write_through_scratch(out, xdmf)
        return [out]
    def vtu(mesh):
        return lambda scratch: meshio.write(scratch, mesh)

    if time is None:
        (_, points, cells, data), = frames
        out = path.with_suffix(".vtu")
        _write_through_scratch(out, vtu(meshio.Mesh(points, cells, point_data=data)))
        return [out]
    written = []
    for k, (_, points, cells, data) in enumerate(frames):
        out = path.parent / f"{path.name}_{k:04d}.vtu"
        _write_through_scratch(out, vtu(meshio.Mesh(points, cells, point_data=data)))
        written.append(out)
    pvd = path.with_suffix(".pvd")  # last: the collection names only frames already whole on disk
    entries = "\n".join(f'    <DataSet timestep="{t!r}" file={quoteattr(f.name)}/>'
                        for (t, *_), f in zip(frames, written))
    text = (f'<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1">\n  <Collection>\n'
            f'{entries}\n  </Collection>\n</VTKFile>\n').encode()
    atomic_write(pvd, lambda f: f.write(text))
    return [pvd, *written]


def _write_through_scratch(out: Path, write) -> None:
    """``write(scratch_path)`` in a private temporary directory (meshio's writers want a file name),
    then the bytes moved into ``out`` atomically (:func:`pinn.io.safe.atomic_write`)."""
    with tempfile.TemporaryDirectory(prefix="pinn-export-") as scratch_dir:
        scratch = Path(scratch_dir) / out.name
        write(scratch)
        with open(scratch, "rb") as src:
            atomic_write(out, lambda f: _copy(src, f))


def _copy(src, dst) -> None:
    while chunk := src.read(1 << 20):
        dst.write(chunk)


def _write_csv(out: Path, grid: Mapping[str, np.ndarray], layout: str, columns: Mapping[str, np.ndarray]) -> Path:
    names = list(grid)
    if layout == "nodes":
        coords = [np.asarray(grid[c], dtype=np.float64) for c in names]
    else:
        mesh = np.meshgrid(*[np.asarray(grid[c], dtype=np.float64) for c in names], indexing="ij")
        coords = [m.reshape(-1) for m in mesh]
    table = np.stack(coords + list(columns.values()), axis=1)
    buffer = io.StringIO(newline="")
    w = csv.writer(buffer)
    w.writerow(names + list(columns))
    w.writerows(table.tolist())
    data = buffer.getvalue().encode()
    atomic_write(out, lambda f: f.write(data))
    return out
