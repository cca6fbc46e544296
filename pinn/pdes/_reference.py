"""Reference tables shipped with the package (``pinn/pdes/data``; see its README)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pinn.io.tables import read_table, table_nodes

DATA = Path(__file__).parent / "data"


def packaged_nodes(filename: str, coordinates: Sequence[str], fields: Sequence[str], *,
                   path: str | Path | None = None,
                   time_name: str | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The nodes of a shipped table (or of ``path``, a user's copy) as a PDE's reference; a table of
    snapshots names the PDE's time coordinate as ``time_name``."""
    source = Path(path).expanduser() if path is not None else DATA / filename
    return table_nodes(read_table(source), coordinates, fields, time_name=time_name)
