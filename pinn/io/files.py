"""Run directories: what a finished run writes and how it is read back.

Every write goes to a temporary file that is then renamed into place, so a crash
never leaves a half-written file under the final name.
"""

from __future__ import annotations

import csv
import math
import hashlib
import errno
import io as _stdio
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pinn.io.errors import RunDirError
from pinn.io.safe import MiB, UnsafePathError, atomic_write, open_regular, read_text

__all__ = [
    "RunDirError",
    "UnsafePathError",
    "atomic_write",
    "write_metrics",
    "read_metrics",
    "write_predictions",
    "read_predictions",
    "read_fields",
    "read_layout",
    "write_history",
    "read_history",
    "save_checkpoint",
    "checksum",
    "remove_stale_temporaries",
    "load_checkpoint",
    "check_run_dir",
    "mark_failed",
    "failure_reason",
    "printable",
    "claim_new_dir",
]

METRICS, PREDICTIONS, HISTORY, CHECKPOINT, FAILED = (
    "metrics.json",
    "predictions.npz",
    "history.csv",
    "checkpoint.pt",
    "FAILED",
)

#: How a predictions file holds its points: a tensor-product grid, or scattered nodes.
LAYOUTS = ("grid", "nodes")


#: The largest file of each kind that a run directory is read for (a bigger one is not pinn's).
LIMITS = {METRICS: 64 * MiB, HISTORY: 512 * MiB, FAILED: 64 * 1024, PREDICTIONS: 16384 * MiB,
          CHECKPOINT: 65536 * MiB}


def remove_stale_temporaries(directory: str | Path) -> list[Path]:
    """Delete the temporary files that killed :func:`atomic_write` calls left in ``directory``."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    stale = [p for p in directory.glob(".*.tmp") if p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def write_metrics(run_dir: str | Path, metrics: Mapping, name: str = METRICS) -> Path:
    path = Path(run_dir) / name

    text = json.dumps(dict(metrics), indent=2, sort_keys=True) + "\n"
    atomic_write(path, lambda f: f.write(text.encode()))
    return path


def read_metrics(run_dir: str | Path) -> dict:
    """The ``metrics.json`` of ``run_dir`` (a regular file of bounded size, not a link).

    Raises:
        ValueError: when it is unreadable JSON, or nested deeper than a metrics file is.
    """
    path = Path(run_dir) / METRICS
    text = read_text(path, limit=LIMITS[METRICS])
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"{path} nests deeper than any metrics file") from None


def write_predictions(path: str | Path, grid: Mapping[str, np.ndarray], u_pred: np.ndarray, u_ref: np.ndarray,
                      fields: Sequence[str] = ("u",), *, layout: str = "grid",
                      residuals: Mapping[str, np.ndarray] | None = None) -> Path:
    """Save the grid's 1-D coordinate arrays (by name), the prediction and reference indexed like
    the grid, and the field names: ``u_pred`` and ``u_ref`` for one field (whatever its name); for a
    system one array per field, ``FIELD_pred`` and ``FIELD_ref`` (Navier-Stokes: ``u_pred``,
    ``v_pred``, ``p_pred`` and the same ``_ref``).  The arguments ``u_pred`` and ``u_ref`` are
    indexed like the grid, then by field when there are several (as :func:`read_predictions`
    returns them).  Runs save them as compared: a gauge field (a pressure) with its mean removed
    from both.

    With ``layout="nodes"``, ``grid`` holds scattered nodes column by column (``(N,)`` each) and
    ``u_pred``, ``u_ref`` are ``(N,)`` or ``(N, F)`` (see :class:`pinn.evaluation.grid.NodeEvaluation`).

    ``residuals`` maps each equation's name to its ``|residual|`` at the same points, indexed like
    the grid (or the nodes); saved as ``residual_NAME`` with the names in ``equations``."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    arrays = {name: np.asarray(a) for name, a in grid.items()}
    if {"u_pred", "u_ref", "coordinates", "fields", "layout", "equations"} & set(arrays) \
            or any(c.startswith("residual_") for c in arrays):
        raise ValueError("coordinate names may not be 'u_pred', 'u_ref', 'coordinates', 'fields', 'layout', "
                         "'equations' or start with 'residual_'")
    u_pred, u_ref = np.asarray(u_pred), np.asarray(u_ref)
    fields = list(fields)
    if len(fields) == 1:  # one field: u_pred and u_ref, whatever its name (as before 0.3)
        arrays.update(u_pred=u_pred, u_ref=u_ref)
    else:  # one array per field (u_pred, v_pred, p_pred, ...): never one named u_pred that holds them all
        taken = {f"{f}_{kind}" for f in fields for kind in ("pred", "ref")} & set(arrays)
        if taken:
            raise ValueError(f"coordinate names may not be {sorted(taken)}, the arrays of the fields")
        for i, f in enumerate(fields):
            arrays.update({f"{f}_pred": u_pred[..., i], f"{f}_ref": u_ref[..., i]})
    arrays.update(coordinates=np.array(list(grid)), fields=np.array(fields), layout=np.array(layout))
    residuals = dict(residuals or {})
    arrays.update({f"residual_{name}": np.asarray(r) for name, r in residuals.items()},
                  equations=np.array(list(residuals), dtype=str))

    atomic_write(path, lambda f: np.savez_compressed(f, **arrays))  # type: ignore[arg-type]
    return Path(path)


def read_fields(path: str | Path) -> tuple[str, ...]:
    """The field names of a ``predictions.npz`` (``("u",)`` for files written before fields existed)."""
    with open_regular(path, limit=LIMITS[PREDICTIONS]) as f, np.load(f, allow_pickle=False) as data:
        return tuple(str(x) for x in data["fields"]) if "fields" in data.files else ("u",)


def read_layout(path: str | Path) -> str:
    """``"grid"`` or ``"nodes"``: how a ``predictions.npz`` holds its points (``"grid"`` for files
    written before node evaluation existed)."""
    with open_regular(path, limit=LIMITS[PREDICTIONS]) as f, np.load(f, allow_pickle=False) as data:
        layout = str(data["layout"]) if "layout" in data.files else "grid"
    if layout not in LAYOUTS:
        raise ValueError(f"{path}: unknown layout {layout!r}")
    return layout


def read_residuals(path: str | Path) -> dict[str, np.ndarray]:
    """``{equation: |residual| map}`` of a ``predictions.npz`` (empty for files without maps)."""
    with open_regular(path, limit=LIMITS[PREDICTIONS]) as f, np.load(f, allow_pickle=False) as data:
        names = [str(x) for x in data["equations"]] if "equations" in data.files else []
        return {name: data[f"residual_{name}"] for name in names}


def read_predictions(path: str | Path) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Inverse of :func:`write_predictions`: ``(grid, u_pred, u_ref)``."""
    # the handle closes even on a bad file
    with open_regular(path, limit=LIMITS[PREDICTIONS]) as f, np.load(f, allow_pickle=False) as data:
        names = [str(c) for c in data["coordinates"]]
        fields = [str(x) for x in data["fields"]] if "fields" in data.files else ["u"]
        if len(fields) > 1 and all(f"{f}_pred" in data.files for f in fields):
            pred = np.stack([data[f"{f}_pred"] for f in fields], axis=-1)
            ref = np.stack([data[f"{f}_ref"] for f in fields], axis=-1)
        else:  # one field; or a system written before 0.3, whose u_pred and u_ref hold every field
            pred, ref = data["u_pred"], data["u_ref"]
        return {c: data[c] for c in names}, pred, ref


def write_history(path: str | Path, rows: Sequence[Mapping]) -> Path:
    """Write history rows as CSV; the columns are the union of the rows' keys, in first-seen order."""
    columns = list(dict.fromkeys(k for row in rows for k in row)) or ["step"]

    buffer = _stdio.StringIO(newline="")
    w = csv.DictWriter(buffer, fieldnames=columns)
    w.writeheader()
    w.writerows(rows)
    data = buffer.getvalue().encode()
    atomic_write(path, lambda f: f.write(data))
    return Path(path)


def read_history(path: str | Path) -> list[dict]:
    """Read a history CSV; numeric fields become floats (``step`` an int).

    Raises:
        ValueError: when it is not a CSV table (a field too long, a ragged row).
    """
    out = []
    text = read_text(path, limit=LIMITS[HISTORY])
    try:
        rows = list(csv.DictReader(_stdio.StringIO(text, newline="")))
    except csv.Error as e:
        raise ValueError(f"{path} is not a history table ({e})") from None
    for row in rows:
        if None in row or any(v is None for v in row.values()):
            raise ValueError(f"{path} is not a history table: a row has more or fewer fields than the header")
        parsed: dict[str, Any] = {}
        for k, v in row.items():
            if v == "" and k != "step":  # a term this row does not have (a marched run's later windows)
                parsed[k] = math.nan
                continue
            try:
                parsed[k] = int(v) if k == "step" else float(v)
            except (TypeError, ValueError):
                parsed[k] = v
        out.append(parsed)
    return out


def _digest(value, h) -> None:
    """Feed ``value`` (tensors, numbers, strings and containers of them) into the hash ``h``."""
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    elif isinstance(value, Mapping):
        h.update(b"{")
        for k in sorted(value, key=repr):
            _digest(k, h)
            _digest(value[k], h)
        h.update(b"}")
    elif isinstance(value, (list, tuple)):
        h.update(b"[" if isinstance(value, list) else b"(")
        for v in value:
            _digest(v, h)
        h.update(b"]")
    else:
        h.update(f"{type(value).__name__}:{value!r};".encode())


def checksum(state: Mapping) -> str:
    """A BLAKE2b digest of a checkpoint's contents (its ``checksum`` entry aside).

    torch's loader does not check the zip CRCs, so a flipped bit in a tensor loads silently;
    the digest, stored in the checkpoint and recomputed on loading, catches it.
    """
    h = hashlib.blake2b(digest_size=20)
    _digest({k: v for k, v in state.items() if k != "checksum"}, h)
    return h.hexdigest()


def _nbytes(value) -> int:
    """The bytes of the tensors in a nested state (what a checkpoint of it needs on disk, about)."""
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, Mapping):
        return sum(_nbytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_nbytes(v) for v in value)
    return 0


def check_free_space(directory: str | Path, needed: int) -> None:
    """Raise ``OSError(ENOSPC)`` naming the sizes when ``directory`` has less than ``needed`` bytes
    free (with a margin), before a write that would fail half-way."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(directory).free
    if free < needed + (1 << 20):
        raise OSError(errno.ENOSPC, f"No space left on device: a checkpoint of {needed / 1e6:.1f} MB needs more "
                                    f"than the {free / 1e6:.1f} MB free in {directory}")


def save_checkpoint(path: str | Path, state: Mapping) -> Path:
    """Save a checkpoint (tensors and plain containers only) atomically, with its :func:`checksum`,
    after checking that the disk has room for it (a dense BFGS state is 73 MB to 750 MB)."""
    check_free_space(Path(path).parent, _nbytes(state))
    state = {**state, "checksum": checksum(state)}
    atomic_write(path, lambda f: torch.save(state, f))
    return Path(path)


def load_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint with ``weights_only=True`` (a foreign file cannot run code) and verify its checksum."""
    state = _load(path)
    if isinstance(state, dict) and "checksum" in state and state["checksum"] != checksum(state):
        raise RunDirError(f"{path} is corrupt: its contents do not match their checksum")
    return state


def _load(path: str | Path):
    try:
        with open_regular(path, limit=LIMITS[CHECKPOINT]) as f:
            return torch.load(f, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise RunDirError(f"no checkpoint at {path}") from None
    except RunDirError:
        raise
    except Exception as e:  # pickle and zip errors of all kinds: say what, not how
        raise RunDirError(f"{path} is not a readable pinn checkpoint ({type(e).__name__}: {e})") from None


def check_run_dir(run_dir: str | Path, *, needs: Sequence[str] = (METRICS, CHECKPOINT)) -> Path:
    """Return ``run_dir`` as a Path, or raise :class:`RunDirError` saying what is missing."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise RunDirError(f"run directory {run_dir} does not exist; pass the directory pinn-train wrote")
    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir} is not a directory; pass the directory pinn-train wrote")
    if os.path.lexists(run_dir / FAILED):  # a link there, even a dangling one, marks it too
        raise RunDirError(f"{run_dir} is a failed run ({failure_reason(run_dir)}); train it again")
    missing = [n for n in needs if not (run_dir / n).exists()]
    if missing:
        raise RunDirError(
            f"{run_dir} is not a finished pinn run: {', '.join(missing)} missing; pass the directory pinn-train wrote"
        )
    return run_dir


def printable(text: str) -> str:
    """``text`` with every unprintable character (a control sequence, a NUL) shown as ``?``: text
    read from a run directory is echoed only so."""
    return "".join(c if c.isprintable() else "?" for c in text)


def failure_reason(run_dir: str | Path) -> str:
    """What the ``FAILED`` marker of ``run_dir`` says, on one line of at most 300 characters; a
    marker that is a link, a device, a directory or too large is not read, and the reason says so."""
    try:
        text = read_text(Path(run_dir) / FAILED, limit=LIMITS[FAILED])
    except UnsafePathError as e:
        return f"an unreadable FAILED marker: {str(e).split('; ')[0]}"
    except OSError as e:
        return f"an unreadable FAILED marker ({e.strerror or type(e).__name__})"
    line = " ".join(text.split())
    line = printable(line)
    return line[:300] + ("..." if len(line) > 300 else "") or "no reason given"


def claim_new_dir(directory: str | Path) -> str:
    """Create a new directory at ``directory``, or at ``directory-1``, ``-2``, ... when it exists, and
    return the one made: two runs started in the same second get two directories (``mkdir`` is
    atomic, so two processes never claim the same one)."""
    base = Path(directory)
    base.parent.mkdir(parents=True, exist_ok=True)
    for k in range(10_000):
        candidate = base if k == 0 else base.with_name(f"{base.name}-{k}")
        try:
            candidate.mkdir()
            return str(candidate)
        except FileExistsError:
            continue
    raise RunDirError(f"cannot find a free directory beside {base}; name one (hydra.run.dir=DIR)")


def mark_failed(run_dir: str | Path, reason: str) -> None:
    """Mark ``run_dir`` as failed so it is never mistaken for a result."""
    data = (reason.strip() + "\n").encode()
    atomic_write(Path(run_dir) / FAILED, lambda f: f.write(data))
