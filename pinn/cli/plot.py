"""``pinn-plot RUN_DIR``: redraw a run's plots from its saved predictions (no model, no recomputation)."""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from pinn.io import files as io
from pinn.io.error_in_time import ERROR_IN_TIME, plot_error_in_time, read_error_in_time
from pinn.io.plotting import plot_run, run_title
from pinn.cli.untrusted import load_yaml
from pinn.cli._errors import fail, guarded, one_line

__all__ = ["main", "plot_run_dir"]

PROG = "pinn-plot"


def plot_run_dir(run_dir: Path, *, out_dir: Path | None = None) -> list[Path]:
    """Read ``predictions.npz`` and ``history.csv`` of ``run_dir`` and write the plots."""
    run_dir = io.check_run_dir(run_dir, needs=(io.PREDICTIONS, io.HISTORY))
    try:
        grid, u_pred, u_ref = io.read_predictions(run_dir / io.PREDICTIONS)
        fields = io.read_fields(run_dir / io.PREDICTIONS)
        layout = io.read_layout(run_dir / io.PREDICTIONS)
        history = io.read_history(run_dir / io.HISTORY)
        residuals = io.read_residuals(run_dir / io.PREDICTIONS)
        metrics = io.read_metrics(run_dir) if (run_dir / io.METRICS).exists() else {}
        learned = list(metrics.get("learned", {}))
    except (OSError, KeyError, ValueError, TypeError, AttributeError, zipfile.BadZipFile, EOFError) as e:
        raise io.RunDirError(f"{run_dir} holds unreadable outputs ({type(e).__name__}: {one_line(str(e))[:200]})") \
            from None
    if not isinstance(metrics, dict):
        raise io.RunDirError(f"{run_dir}/metrics.json is not an object; pass the directory pinn-train wrote")
    rel_l2 = metrics.get("rel_l2")
    rel_l2 = rel_l2 if isinstance(rel_l2, (int, float)) and not isinstance(rel_l2, bool) else None
    title = run_title(str(metrics["pde"])[:80], _pde_params(run_dir), rel_l2) if "pde" in metrics else None
    try:
        _check_history(history)
        paths = plot_run(out_dir or run_dir / "plots", grid, u_pred, u_ref, history, fields=fields, layout=layout,
                         residuals=residuals, coefficients=[str(c) for c in learned], title=title,
                         inside=_domain_inside(run_dir) if layout == "nodes" else None)
        if (run_dir / ERROR_IN_TIME).exists():  # a time-dependent run's error through time
            curve = read_error_in_time(run_dir / ERROR_IN_TIME)
            if len(curve["t"]) > 1:
                paths.append(plot_error_in_time((out_dir or run_dir / "plots") / "error_in_time.png", curve,
                                                title=str(metrics.get("pde", ""))[:80]))
        return paths
    except (KeyError, IndexError, TypeError, ValueError) as e:
        if isinstance(e, io.RunDirError):
            raise
        raise io.RunDirError(f"{run_dir} holds outputs that do not fit together ({type(e).__name__}: "
                             f"{one_line(str(e))[:200]}): predictions.npz, history.csv and metrics.json must "
                             f"come from one run; train it again, or pinn-eval it") from None


def _check_history(history: list[dict]) -> None:
    """Every row of ``history.csv`` has an integer ``step`` and a ``loss``."""
    for row in history:
        if not isinstance(row.get("step"), int) or "loss" not in row:
            raise ValueError("history.csv lacks the step or loss column")


def _domain_inside(run_dir: Path):
    """The run's domain test of points (a table's triangles outside the shape are drawn blank), from
    its config read as data and built from pinn's own classes only; ``None`` where it cannot be
    (a user's PDE): the triangles are then masked by their edges' lengths."""
    from pinn.cli.build import build_pde

    try:
        cfg = load_yaml(run_dir / ".hydra" / "config.yaml", root=run_dir)
        for key in ("source", "reference", "coefficient"):  # files the run names are not opened: the shape needs none
            cfg.pde.pop(key, None)
        return build_pde(cfg, trusted=False).domain.inside
    except Exception:  # noqa: BLE001 - any failure only costs the plot its exact mask
        return None


def _pde_params(run_dir: Path) -> dict:
    """The ``pde`` node of the run's config, read as data (nothing in it is imported or called)."""
    try:
        node = load_yaml(run_dir / ".hydra" / "config.yaml", root=run_dir).get("pde")
        plain = OmegaConf.to_container(node, resolve=False) if isinstance(node, DictConfig) else {}
        return plain if isinstance(plain, dict) else {}
    except (OSError, ValueError, OmegaConfBaseException):  # a missing or odd config only costs the title its parameters
        return {}


@guarded(PROG)
def main(argv: list[str] | None = None) -> None:
    """Console entry point of ``pinn-plot``."""
    parser = argparse.ArgumentParser(prog=PROG, description="Redraw a run's plots from its saved predictions.")
    parser.add_argument("run_dir", type=Path, help="a directory written by pinn-train")
    parser.add_argument("--out", type=Path, help="output directory (default RUN_DIR/plots)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)
    try:
        paths = plot_run_dir(args.run_dir, out_dir=args.out)
    except ValueError as e:
        fail(PROG, str(e))
    print("wrote " + ", ".join(str(p) for p in paths))


if __name__ == "__main__":
    main()
