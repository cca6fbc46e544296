"""Reference tables from other solvers: COMSOL text exports, ``.npz`` and ``.csv``.

A table holds scattered nodes (one row each) with their coordinates and field values, and
for a time-dependent problem one column per snapshot.  COMSOL's text export (the format of
PINNacle's reference files) has header lines starting with ``%``, the last of which names
the columns, e.g. ``X  Y  u (1) @ t=0  u (1) @ t=0.2 ...`` or ``x  y  u @ Re=100  v @ Re=100``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["ReferenceTable", "read_table", "read_comsol", "table_nodes"]

_TIME = re.compile(r"^t\s*=\s*([-+0-9.eE]+)$")


@dataclass
class ReferenceTable:
    """Scattered reference values.

    Attributes:
        coordinates: ``{name: (N,) array}``, the nodes' space coordinates in column order.
        fields: ``{name: array}``: ``(N,)``, or ``(N, T)`` for a time series.
        times: ``(T,)`` snapshot times of a time series, else ``None``.
    """

    coordinates: dict[str, np.ndarray]
    fields: dict[str, np.ndarray]
    times: np.ndarray | None = None

    @property
    def points(self) -> np.ndarray:
        """``(N, d)`` node coordinates."""
        return np.stack(list(self.coordinates.values()), axis=1)

    def __len__(self) -> int:
        return len(next(iter(self.coordinates.values())))


def _column(label: str) -> tuple[str, str | None]:
    """``"u (1) @ t=0.2"`` -> ``("u", "t=0.2")``; ``"X"`` -> ``("x", None)``."""
    name, _, where = label.partition("@")
    name = re.sub(r"\(.*?\)", "", name).strip()
    return (name.lower() if name in ("X", "Y", "Z") else name), (where.strip() or None)


def read_comsol(path: str | Path, *, coordinates: int | None = None,
                names: Sequence[str] | None = None) -> ReferenceTable:
    """Read a COMSOL text export (see the module docs).

    Args:
        path: the file.
        coordinates: how many leading columns are coordinates; default: the header's ``X``,
            ``Y``, ``Z``, ``x``, ``y``, ``z`` columns (or, without a header, all but the last).
        names: the column names of a file without a header line.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no reference table at {path}")
    header, rows = None, []
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            if line.startswith("%"):
                header = line[1:].strip()
                continue
            if not line.strip():
                continue
            try:
                rows.append([float(v) for v in line.split()])
            except ValueError:
                raise ValueError(f"{path}:{number}: not a row of numbers: {line.strip()[:60]!r}") from None
    if not rows:
        raise ValueError(f"{path} holds no rows of numbers")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise ValueError(f"{path}: rows have different numbers of columns {sorted(widths)}")
    data = np.array(rows, dtype=np.float64)
    labels = list(names) if names is not None else (re.split(r"\s{2,}", header) if header else None)
    if labels is None:
        labels = [f"c{i}" for i in range(data.shape[1])]
    if len(labels) != data.shape[1]:
        raise ValueError(f"{path}: {len(labels)} column names for {data.shape[1]} columns")
    columns = [_column(label) for label in labels]
    if coordinates is None:
        coordinates = sum(1 for name, where in columns if where is None and name in ("x", "y", "z"))
        coordinates = coordinates or data.shape[1] - 1
    coords = {columns[i][0]: data[:, i] for i in range(coordinates)}
    fields: dict[str, list] = {}
    times: dict[str, list] = {}
    for i in range(coordinates, data.shape[1]):
        name, where = columns[i]
        fields.setdefault(name, []).append(data[:, i])
        m = _TIME.match(where or "")
        times.setdefault(name, []).append(float(m.group(1)) if m else None)
    series = {n: t for n, t in times.items() if any(v is not None for v in t)}
    if series:
        stamps = {tuple(t) for t in series.values()}
        if len(stamps) != 1 or None in next(iter(stamps)) or len(series) != len(fields):
            raise ValueError(f"{path}: the fields' snapshot times differ or are incomplete")
        return ReferenceTable(coords, {n: np.stack(v, axis=1) for n, v in fields.items()},
                              np.array(next(iter(stamps))))
    duplicated = [n for n, v in fields.items() if len(v) > 1]
    if duplicated:
        raise ValueError(f"{path}: the columns {duplicated} appear more than once")
    return ReferenceTable(coords, {n: v[0] for n, v in fields.items()})


def read_table(path: str | Path, *, coordinates: Sequence[str] | None = None) -> ReferenceTable:
    """A reference table from a COMSOL export (any other suffix), ``.npz`` or ``.csv``.

    For ``.npz`` and ``.csv`` name the coordinate columns with ``coordinates``; every other
    array or column is a field (an ``.npz`` may also hold ``times`` for ``(N, T)`` fields).
    """
    path = Path(path)
    if path.suffix in (".npz", ".csv"):
        if not coordinates:
            raise ValueError(f"name the coordinate columns of {path.name}, e.g. coordinates=['x', 'y']")
        if not path.is_file():
            raise ValueError(f"no reference table at {path}")
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as f:
                arrays = {k: f[k].astype(np.float64) for k in f.files}
        else:
            with open(path, encoding="utf-8") as f:
                head = f.readline().strip().split(",")
            values = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
            arrays = {name: values[:, i] for i, name in enumerate(head)}
        missing = [c for c in coordinates if c not in arrays]
        if missing:
            raise ValueError(f"{path.name} has no columns {missing}; it has {sorted(arrays)}")
        times = arrays.pop("times", None)
        coords = {c: arrays.pop(c) for c in coordinates}
        return ReferenceTable(coords, arrays, times)
    return read_comsol(path)


def table_nodes(table: ReferenceTable, coordinates: Sequence[str], fields: Sequence[str], *,
                time_name: str | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """A table as a PDE's reference nodes (:meth:`pinn.pdes.base.PDE.nodes`).

    Args:
        table: the table read.
        coordinates: the PDE's coordinates, in order; with a time series, ``time_name`` among
            them and every node repeated at every snapshot.
        fields: the PDE's fields, which the table must hold.

    Returns:
        ``({coordinate: (M,)}, values)``: values ``(M,)`` for one field, ``(M, F)`` for several.
    """
    space = [c for c in coordinates if c != time_name]
    missing = [c for c in space if c not in table.coordinates] + [f for f in fields if f not in table.fields]
    if missing:
        raise ValueError(f"the reference table lacks {missing}; it has coordinates {list(table.coordinates)} "
                         f"and fields {list(table.fields)}")
    if (table.times is not None) != (time_name is not None):
        raise ValueError("a time-series table needs a time coordinate, and a table without snapshots a steady PDE")
    cols = {c: table.coordinates[c] for c in space}
    values = [np.asarray(table.fields[f], dtype=np.float64) for f in fields]
    if table.times is not None:
        n, t = len(table), len(table.times)
        cols = {c: np.repeat(v, t) for c, v in cols.items()}  # node-major: every snapshot of node 0 first
        cols[str(time_name)] = np.tile(table.times, n)
        values = [v.reshape(-1) for v in values]
    out = values[0] if len(values) == 1 else np.stack(values, axis=1)
    return {c: cols[c] for c in coordinates}, out
