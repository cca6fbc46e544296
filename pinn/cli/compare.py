"""``pinn-compare SWEEP_DIR``: summarise every run of a sweep (``pinn-train -m ...``).

Writes into ``SWEEP_DIR/compare`` (or ``--out``):

* ``runs.csv`` / ``runs.md``: one row per run, its overrides against its metrics;
* ``summary.csv`` / ``summary.md``: runs grouped by everything but ``seed``, with the
  mean, spread and best of the error over seeds;
* ``error_vs_<key>.png`` for each swept parameter, ``losses.png`` (all loss curves)
  and ``solutions.png`` (a grid of predictions).

Failed and unfinished runs are listed with their reason; the rest are still summarised.
"""

from __future__ import annotations

import argparse
import csv
import io as _stdio
import math
import os
import re
import statistics
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from pinn.io import files as io
from pinn.io.safe import atomic_write
from pinn.cli.untrusted import load_yaml
from pinn.io.plotting import plot_error_vs, plot_loss_curves, plot_solution_grid
from pinn.cli._errors import fail, guarded

__all__ = ["RunRecord", "collect_runs", "summarise", "main"]

PROG = "pinn-compare"
METRIC_KEYS = ("rel_l2", "max_abs_error", "final_loss", "train_seconds")


@dataclass
class RunRecord:
    """One run of a sweep: where it is, what it overrode, how it ended."""

    path: Path
    overrides: dict[str, str]
    status: str  # "finished" | "failed" | "unfinished"
    metrics: dict = field(default_factory=dict)
    reason: str = ""


#: What a config key of an override looks like (``pde.nu``, ``+loss.weights.initial``, ``hydra/launcher``).
_KEY = re.compile(r"^[A-Za-z_][\w.@/\-]{0,199}$")


def _overrides(run: Path) -> dict[str, str]:
    """The run's ``key=value`` overrides, read as untrusted data (:func:`pinn.cli.untrusted.load_yaml`).

    Raises:
        ValueError: the file is unsafe or unreadable, not a list, or names a key no config has.
    """
    items = OmegaConf.to_container(load_yaml(run / ".hydra" / "overrides.yaml", limit=io.MiB, root=run))
    if not isinstance(items, list):
        raise ValueError("it is not a list of overrides")
    out = {}
    for item in items:
        key, _, value = str(item).partition("=")
        key = key.lstrip("+~")
        if not _KEY.match(key):
            raise ValueError("an override key is not a config key (letters, digits and . _ / @ - only)")
        out[key] = value[:1000]
    return out


def _bad_metrics(metrics) -> str:
    """What is wrong with a ``metrics.json``'s content ('' if nothing): an object with a number for
    every key the tables read."""
    if not isinstance(metrics, dict):
        return f"is not an object (a {type(metrics).__name__})"
    for key in METRIC_KEYS:
        value = metrics.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"has no number for {key!r} (got {value!r:.40})"
    return ""


def collect_runs(sweep_dir: Path) -> list[RunRecord]:
    """Every run directory under ``sweep_dir`` (one with ``.hydra/overrides.yaml``), sorted by path."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise io.RunDirError(f"sweep directory {sweep_dir} does not exist; pass the directory of a pinn-train -m sweep")
    runs = []
    for marker in sorted(sweep_dir.rglob(".hydra/overrides.yaml")):
        run = marker.parent.parent
        try:
            overrides = _overrides(run)
        except (OmegaConfBaseException, OSError, ValueError) as e:
            runs.append(RunRecord(run, {}, "failed", reason=f"unreadable overrides: {_short(e)}"))
            continue
        if os.path.lexists(run / io.FAILED):
            runs.append(RunRecord(run, overrides, "failed", reason=io.failure_reason(run)))
        elif os.path.lexists(run / io.METRICS):
            try:
                metrics = io.read_metrics(run)
            except (OSError, ValueError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
                runs.append(RunRecord(run, overrides, "failed", reason=f"unreadable metrics.json: {_short(e)}"))
                continue
            bad = _bad_metrics(metrics)
            if bad:
                runs.append(RunRecord(run, overrides, "failed", reason=f"metrics.json {bad}"))
            else:
                runs.append(RunRecord(run, overrides, "finished", metrics=metrics))
        else:
            runs.append(RunRecord(run, overrides, "unfinished", reason="no metrics.json: still running, or killed"))
    if not runs:
        raise io.RunDirError(f"{sweep_dir} holds no pinn runs (no */.hydra/overrides.yaml); pass a pinn-train -m sweep")
    return runs


def _short(e: BaseException) -> str:
    """An exception as a short line: its message's first line, or its type."""
    text = str(e).splitlines()[0] if str(e) else ""
    text = io.printable(text)
    return (text[:160] + ("..." if len(text) > 160 else "")) or type(e).__name__


def swept_keys(runs: Sequence[RunRecord]) -> list[str]:
    """Override keys whose value differs between runs, in first-seen order."""
    keys = list(dict.fromkeys(k for r in runs for k in r.overrides))
    return [k for k in keys if len({r.overrides.get(k) for r in runs}) > 1]


def summarise(runs: Sequence[RunRecord], keys: Sequence[str]) -> list[dict]:
    """Group finished runs by every swept key but ``seed``; error statistics over each group."""
    group_keys = [k for k in keys if k != "seed"]
    groups: dict[tuple, list[RunRecord]] = {}
    for r in runs:
        if r.status == "finished":
            groups.setdefault(tuple(r.overrides.get(k, "") for k in group_keys), []).append(r)
    rows = []
    for values, members in groups.items():
        errs = [m.metrics["rel_l2"] for m in members]
        rows.append({**dict(zip(group_keys, values)), "runs": len(members),
                     "rel_l2_mean": statistics.fmean(errs),
                     # the sample standard deviation (n - 1), blank for a single run
                     "rel_l2_sample_std": statistics.stdev(errs) if len(errs) > 1 else "",
                     "rel_l2_min": min(errs), "rel_l2_max": max(errs),
                     "train_seconds_mean": statistics.fmean(m.metrics["train_seconds"] for m in members)})
    return rows


def _cell(value) -> str:
    """A table cell as text: printable characters only, and no leading ``= + - @`` that a
    spreadsheet would run as a formula (a quote is put before it)."""
    text = io.printable(str(value))
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv_value(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else _cell(value)


def _write_table(rows: list[dict], stem: Path) -> None:
    """``stem.csv`` (every text field quoted) and ``stem.md`` (``|`` escaped), each written atomically."""
    columns = list(dict.fromkeys(k for row in rows for k in row))
    buffer = _stdio.StringIO(newline="")
    w = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC)  # every text field quoted, numbers bare
    w.writerow([_cell(c) for c in columns])
    w.writerows([[_csv_value(row.get(c, "")) for c in columns] for row in rows])
    data = buffer.getvalue().encode()
    atomic_write(stem.with_suffix(".csv"), lambda f: f.write(data))

    def fmt(v):
        return f"{v:.4g}" if isinstance(v, float) else _cell(v).replace("|", "\\|")

    lines = ["| " + " | ".join(fmt(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(row.get(c, "")) for c in columns) + " |" for row in rows]
    text = ("\n".join(lines) + "\n").encode()
    atomic_write(stem.with_suffix(".md"), lambda f: f.write(text))


def compare(sweep_dir: Path, out_dir: Path | None = None) -> tuple[list[RunRecord], Path]:
    """Collect, tabulate and plot a sweep; return the runs and the output directory."""
    runs = collect_runs(sweep_dir)
    keys = swept_keys(runs)
    out = Path(out_dir) if out_dir else Path(sweep_dir) / "compare"
    rows = [{"run": str(r.path.relative_to(sweep_dir)), **{k: r.overrides.get(k, "") for k in keys},
             "status": r.status, **{m: r.metrics.get(m, "") for m in METRIC_KEYS}, "reason": r.reason} for r in runs]
    _write_table(rows, out / "runs")
    summary = summarise(runs, keys)
    if summary:
        _write_table(summary, out / "summary")
    finished = [r for r in runs if r.status == "finished"]
    for key in (k for k in keys if k != "seed"):
        plot_error_vs(key, [(r.overrides.get(key, ""), r.metrics["rel_l2"]) for r in finished],
                      out / f"error_vs_{key.replace('/', '_')}.png")
    labels = [", ".join(f"{k}={r.overrides.get(k, '')}" for k in keys) or r.path.name for r in finished]
    histories = [_history(r) for r in finished]
    plot_loss_curves(labels, histories, out / "losses.png")
    preds, layouts, fields = [], [], []
    for label, r in zip(labels, finished):
        if os.path.lexists(r.path / io.PREDICTIONS):
            try:
                grid, u_pred, _ = io.read_predictions(r.path / io.PREDICTIONS)
                layout, names = io.read_layout(r.path / io.PREDICTIONS), io.read_fields(r.path / io.PREDICTIONS)
                _check_drawable(grid, u_pred, layout, names)
            except (OSError, KeyError, ValueError, TypeError, IndexError, zipfile.BadZipFile, EOFError) as e:
                r.reason = f"unreadable predictions.npz ({_short(e)}); left out of solutions.png"
                continue
            preds.append((f"{label}\nrel. L2 {r.metrics['rel_l2']:.2e}", grid, u_pred))
            layouts.append(layout)
            fields.append(names)
    if preds:
        plot_solution_grid(preds, out / "solutions.png", layouts=layouts, fields=fields)
    return runs, out


def _history(run: RunRecord) -> list[dict]:
    """The run's loss history for ``losses.png``; a damaged or odd one is left out, with the reason noted."""
    path = run.path / io.HISTORY
    if not os.path.lexists(path):
        return []
    try:
        rows = io.read_history(path)
    except (OSError, ValueError) as e:
        run.reason = f"unreadable history.csv ({_short(e)}); left out of losses.png"
        return []
    if not all(isinstance(r.get("step"), int) and isinstance(r.get("loss"), float) for r in rows):
        run.reason = "history.csv lacks numeric step and loss columns; left out of losses.png"
        return []
    return rows


def _check_drawable(grid, u_pred, layout: str, names) -> None:
    """Raise ``ValueError`` unless ``u_pred`` is a real, non-empty array that ``grid`` can place."""
    u = np.asarray(u_pred)
    if u.size == 0 or not np.issubdtype(u.dtype, np.floating) and not np.issubdtype(u.dtype, np.integer):
        raise ValueError(f"u_pred is {'empty' if u.size == 0 else u.dtype.name}, not real numbers")
    if len(grid) < 2:
        raise ValueError("fewer than two coordinates")
    axes = [np.asarray(a) for a in grid.values()]
    if any(a.ndim != 1 or not np.issubdtype(a.dtype, np.number) for a in axes):
        raise ValueError("coordinates are not 1-D numeric arrays")
    if layout == "nodes":
        if any(len(a) != u.shape[0] for a in axes):
            raise ValueError("nodes and values differ in number")
        if any(np.ptp(a) == 0 for a in axes[:2]):
            raise ValueError("the node coordinates are constant")
    elif u.shape[:len(axes)] != tuple(len(a) for a in axes):
        raise ValueError("values do not match the grid")


@guarded(PROG)
def main(argv: list[str] | None = None) -> None:
    """Console entry point of ``pinn-compare``."""
    parser = argparse.ArgumentParser(prog=PROG, description="Summarise the runs of a pinn-train -m sweep.")
    parser.add_argument("sweep_dir", type=Path, help="the sweep directory (hydra.sweep.dir)")
    parser.add_argument("--out", type=Path, help="output directory (default SWEEP_DIR/compare)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)
    try:
        runs, out = compare(args.sweep_dir, args.out)
    except ValueError as e:
        fail(PROG, str(e))
    done = [r for r in runs if r.status == "finished"]
    print(f"{len(done)} of {len(runs)} runs finished; tables and plots in {out}")
    for r in runs:
        if r.status != "finished" or r.reason:
            print(f"  {r.status}: {r.path}: {r.reason}")
    if done:
        best = min(done, key=lambda r: r.metrics["rel_l2"] if math.isfinite(r.metrics["rel_l2"]) else math.inf)
        print(f"best rel. L2 {best.metrics['rel_l2']:.3e} in {best.path}")


if __name__ == "__main__":
    main()
