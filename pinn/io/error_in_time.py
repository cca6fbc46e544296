"""A time-dependent run's error through time: ``error_in_time.csv`` and ``plots/error_in_time.png``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.figure import Figure

from pinn.io.safe import MiB, atomic_write, read_text

__all__ = ["ERROR_IN_TIME", "read_error_in_time", "write_error_in_time", "plot_error_in_time"]

#: The file a time-dependent run writes its error through time to.
ERROR_IN_TIME = "error_in_time.csv"


def write_error_in_time(path: str | Path, curve: Mapping[str, Sequence[float]]) -> Path:
    """Write ``t,rel_l2`` rows (``curve``: ``{"t": [...], "rel_l2": [...]}``) as CSV, atomically."""
    rows = "".join(f"{t!r},{e!r}\n" for t, e in zip(curve["t"], curve["rel_l2"]))
    path = Path(path)
    data = ("t,rel_l2\n" + rows).encode()
    atomic_write(path, lambda f: f.write(data))
    return path


def read_error_in_time(path: str | Path) -> dict[str, list[float]]:
    """Read what :func:`write_error_in_time` wrote (a regular file, at most 64 MiB, never through a link).

    Raises:
        ValueError: when it is not a ``t,rel_l2`` table.
    """
    lines = read_text(path, limit=64 * MiB).splitlines()
    if not lines or lines[0] != "t,rel_l2":
        raise ValueError(f"{path} is not an error-in-time table (its header must be t,rel_l2)")
    try:
        pairs = [tuple(float(v) for v in line.split(",")) for line in lines[1:] if line]
    except ValueError:
        raise ValueError(f"{path} is not an error-in-time table (a value is not a number)") from None
    if any(len(p) != 2 for p in pairs):
        raise ValueError(f"{path} is not an error-in-time table (a row has other than two values)")
    return {"t": [p[0] for p in pairs], "rel_l2": [p[1] for p in pairs]}


def plot_error_in_time(path: str | Path, curve: Mapping[str, Sequence[float]], *, title: str = "",
                       windows: Sequence[float] = ()) -> Path:
    """The rel. L2 error against time, on a log scale; ``windows``: a marched run's window edges, drawn
    as dotted lines."""
    fig = Figure(figsize=(6, 3.5), layout="constrained")
    ax = fig.add_subplot()
    ax.semilogy(curve["t"], [max(e, 1e-16) for e in curve["rel_l2"]], lw=1.5)
    for edge in windows[1:-1]:
        ax.axvline(edge, color="0.6", ls=":", lw=1)
    ax.set_xlabel("t")
    ax.set_ylabel("rel. L2 error at t")
    ax.grid(True, which="both", alpha=0.3)
    if title:
        ax.set_title(title, fontsize=9)
    path = Path(path)
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110))  # makes the directory, refusing a link
    return path
