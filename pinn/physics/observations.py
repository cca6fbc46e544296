"""Observations of the solution: loaded from ``.npz``/``.csv`` files or sampled from a reference.

They enter training as a data-misfit loss term (``"data"``), the basis of inverse
problems and of data assimilation.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from pinn.core.checks import number, positive_int
from pinn.physics.sampling import Sampler

if TYPE_CHECKING:  # pinn.pdes sits above this package: annotations only
    from pinn.pdes.base import PDE

#: The tables shipped with the package (``pinn/pdes/data``), found by path, not by import.
SHIPPED = Path(__file__).resolve().parents[1] / "pdes" / "data"

__all__ = ["Observations", "ObservationError", "load_observations", "sample_observations", "observed_field",
           "read_points"]


class ObservationError(ValueError):
    """An observation file is missing, unreadable or malformed."""


@dataclass(frozen=True)
class Observations:
    """Solution values at scattered points.

    Attributes:
        points: ``(N, d)`` float64, columns in the PDE's coordinate order.
        values: ``(N,)`` float64.
        field: the field observed (one of the PDE's; a system may be observed in one field only,
            as HInv observes u and learns the coefficient field a).
    """

    points: torch.Tensor
    values: torch.Tensor
    field: str = "u"


def _columns_from_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as data:
            return {k: np.asarray(data[k]) for k in data.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise ObservationError(f"{path} is not a readable .npz archive ({type(e).__name__}: {e})") from None


def one_line_csv_error(e: Exception) -> str:
    """The csv module's error in words (``field larger than field limit (131072)``), named."""
    return f"csv.Error: {str(e)[:120]}"


def _columns_from_csv(path: Path) -> dict[str, np.ndarray]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:  # utf-8-sig: a BOM, as Excel writes it, is dropped
            rows = list(csv.reader(f))
    except csv.Error as e:
        raise ObservationError(f"{path} is not a readable CSV file ({one_line_csv_error(e)})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ObservationError(f"{path} is not a readable CSV file ({type(e).__name__})") from None
    if not rows:
        raise ObservationError(f"{path} is empty; it needs a header row naming the coordinates and u")
    header, body = [h.strip() for h in rows[0]], rows[1:]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise ObservationError(f"{path}: the header names the column{'s' if len(repeated) > 1 else ''} "
                               f"{', '.join(map(repr, repeated))} more than once; keep one of each")
    out = {}
    for j, name in enumerate(header):
        try:
            out[name] = np.array([float(r[j]) for r in body], dtype=np.float64)
        except (ValueError, IndexError):
            raise ObservationError(f"{path}: column {name!r} has a missing or non-numeric entry") from None
    return out


def load_observations(path: str | Path, coordinates: Sequence[str], *, field: str = "u") -> Observations:
    """Read observations of ``field`` from ``path``.

    A ``.npz`` file holds 1-D arrays named after each coordinate plus the field (``u``); a
    ``.csv`` file has a header row with the same names.  All columns must have the
    same length and finite values.
    """
    path = Path(path)
    if not path.is_file():
        if path.is_dir():
            raise ObservationError(f"observation file {path} is a directory; set data.path to a .npz or .csv file")
        if path.exists():
            raise ObservationError(f"observation file {path} is not a regular file (a FIFO or a device); set "
                                   f"data.path to a .npz or .csv file")
        raise ObservationError(f"observation file {path} does not exist; set data.path to a .npz or .csv file")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        cols = _columns_from_npz(path)
    elif suffix == ".csv":
        cols = _columns_from_csv(path)
    else:
        raise ObservationError(f"observation file {path} must end in .npz or .csv, not {suffix or 'nothing'!r}")
    need = [*coordinates, field]
    missing = [c for c in need if c not in cols]
    if missing:
        raise ObservationError(f"{path} lacks the columns {missing}; it needs {need}")
    complex_columns = [c for c in need if np.iscomplexobj(cols[c])]
    if complex_columns:
        raise ObservationError(f"{path}: the columns {complex_columns} hold complex values; observations are real "
                               f"(write the real and imaginary parts as two fields)")
    try:
        arrays = [np.asarray(cols[c], dtype=np.float64).reshape(-1) for c in need]
    except (TypeError, ValueError):
        raise ObservationError(f"{path}: the columns {need} must be numeric") from None
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        raise ObservationError(f"{path}: the columns {need} have different lengths {sorted(lengths)}")
    if lengths == {0}:
        raise ObservationError(f"{path} holds no observations")
    if not all(np.isfinite(a).all() for a in arrays):
        raise ObservationError(f"{path} holds NaN or infinite values; remove those rows")
    return Observations(torch.tensor(np.stack(arrays[:-1], axis=1)), torch.tensor(arrays[-1]), field)


def sample_observations(
    pde: PDE, n: int, *, noise: float = 0.0, noise_std: float = 0.0, sampler: Sampler, generator: torch.Generator,
    field: str | None = None, points: torch.Tensor | None = None,
) -> Observations:
    """``n`` interior points with reference values of ``field`` (default the PDE's first), plus
    Gaussian noise of ``noise`` times the values' std (Raissi's convention: 1% noise is
    ``noise=0.01``), or of the absolute std ``noise_std`` (PINNacle's: HInv's 0.1).

    ``points`` ``(n, d)``, in the PDE's coordinate order, replaces the sampled points (PINNacle's
    HInv observes u at the 2,500 points of its file, :func:`read_points`); ``n`` is then their number.
    """
    if points is not None:
        n = len(points)
    positive_int("data.samples", n)
    number("data.noise", noise, low=0)
    number("data.noise_std", noise_std, low=0)
    if noise and noise_std:
        raise ValueError("give data.noise (relative to the values' std) or data.noise_std (absolute), not both")
    field = observed_field(pde, field)
    if points is None:
        points = pde.domain.sample("interior", n, sampler, generator=generator)
    reference = pde.solution(dict(zip(pde.domain.coordinates, points.numpy().T)))
    if isinstance(reference, Mapping):
        reference = reference[field]
    values = torch.as_tensor(reference, dtype=torch.float64)
    scale = noise * values.std() if noise else noise_std
    if scale:
        values = values + scale * torch.randn(n, generator=generator, dtype=torch.float64)
    return Observations(points, values, field)


def read_points(path: str | Path, coordinates: Sequence[str]) -> torch.Tensor:
    """Observation points, ``(N, d)`` float64, from a text table of ``d`` numeric columns in the
    coordinates' order (whitespace or commas, no header; PINNacle's ``heatinv_points.dat``).  A
    bare name that is not a file here is looked up among the tables shipped in ``pinn/pdes/data``."""
    path = Path(path).expanduser()
    if not path.is_file() and path.name == str(path) and (SHIPPED / path.name).is_file():
        path = SHIPPED / path.name
    if not path.is_file():
        shipped = sorted(p.name for p in SHIPPED.glob("*.dat"))
        raise ObservationError(f"data.at: no point table at {path}; give a path, or one shipped with pinn: {shipped}")
    try:
        text = path.read_text(encoding="utf-8").replace(",", " ")
        rows = np.loadtxt(text.splitlines(), dtype=np.float64, ndmin=2)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ObservationError(f"data.at: {path} is not a table of numbers ({type(e).__name__}: {e})") from None
    if rows.shape[0] == 0 or rows.shape[1] != len(coordinates):
        raise ObservationError(f"data.at: {path} has {rows.shape[1]} columns; it needs one per coordinate, "
                               f"{list(coordinates)}, in that order")
    if not np.isfinite(rows).all():
        raise ObservationError(f"data.at: {path} holds NaN or infinite values; remove those rows")
    return torch.from_numpy(rows)


def observed_field(pde: PDE, field: str | None) -> str:
    """``field``, checked against the PDE's fields (``None``: the first)."""
    if field is None:
        return pde.fields[0]
    if field not in pde.fields:
        raise ValueError(f"data.field {field!r} is not a field of {pde.name}; its fields are {list(pde.fields)}")
    return field
