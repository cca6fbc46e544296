"""Reference tables shipped with the package (``pinn/pdes/data``; see its README)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pinn.io.tables import read_table, table_nodes

DATA = Path(__file__).parent / "data"


def reference_path(reference) -> str | None:
    """Check a PDE's ``reference`` argument when it is given: a path (``str`` or ``PathLike``) to an
    existing file, or ``None`` for the shipped table; returned with ``~`` expanded.

    Raises:
        ValueError: naming what is wrong and the fix.
    """
    if reference is None:
        return None
    if not isinstance(reference, (str, os.PathLike)) or not str(reference):
        raise ValueError(f"reference must be a path to a table file, or null for the shipped one; "
                         f"got {reference!r:.80}")
    path = Path(reference).expanduser()
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise ValueError(f"reference: {str(reference)!r} {what}; give the path of a table file (.dat, .npz or .csv), "
                         f"or null for the shipped one")
    return str(path)


def packaged_nodes(filename: str, coordinates: Sequence[str], fields: Sequence[str], *,
                   path: str | Path | None = None,
                   time_name: str | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The nodes of a shipped table (or of ``path``, a user's copy) as a PDE's reference; a table of
    snapshots names the PDE's time coordinate as ``time_name``."""
    source = Path(path).expanduser() if path is not None else DATA / filename
    return table_nodes(read_table(source), coordinates, fields, time_name=time_name)


def shipped_table(name) -> str | None:
    """Check a PDE's ``table`` argument: the file name of a reference table shipped with pinn
    (``pinn/pdes/data``), or ``None``.  Only a name, never a path: a run's config may name a
    shipped table, not choose a file to read (see ``reference`` for a user's own table)."""
    if name is None:
        return None
    shipped = sorted(p.name for p in DATA.iterdir() if p.suffix in (".dat", ".npz", ".csv"))
    if not isinstance(name, str) or name not in shipped:
        raise ValueError(f"table must name a reference table shipped with pinn, one of: {', '.join(shipped)}; "
                         f"got {name!r:.80} (for a table of your own, give reference=PATH)")
    return name
