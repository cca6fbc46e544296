"""``pinn-plot RUN_DIR``: redraw a run's plots from its saved predictions (no model, no recomputation)."""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from pinn.io import files as io
from pinn.io.plotting import plot_run, run_title
from pinn.cli._errors import fail, guarded

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
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        raise io.RunDirError(f"{run_dir} holds unreadable outputs ({type(e).__name__}: {e})") from None
    title = run_title(str(metrics["pde"]), _pde_params(run_dir), metrics.get("rel_l2")) if "pde" in metrics else None
    return plot_run(out_dir or run_dir / "plots", grid, u_pred, u_ref, history, fields=fields, layout=layout,
                    residuals=residuals, coefficients=learned, title=title)


def _pde_params(run_dir: Path) -> dict:
    """The ``pde`` node of the run's config, read as data (nothing in it is imported or called)."""
    try:
        node = OmegaConf.load(run_dir / ".hydra" / "config.yaml").get("pde")
        return OmegaConf.to_container(node, resolve=False) if isinstance(node, DictConfig) else {}
    except (OSError, ValueError, OmegaConfBaseException):  # a missing or odd config only costs the title its parameters
        return {}


@guarded(PROG)
def main(argv: list[str] | None = None) -> None:
    """Console entry point of ``pinn-plot``."""
    parser = argparse.ArgumentParser(prog=PROG, description="Redraw a run's plots from its saved predictions.")
    parser.add_argument("run_dir", type=Path, help="a directory written by pinn-train")
    parser.add_argument("--out", type=Path, help="output directory (default RUN_DIR/plots)")
    args = parser.parse_args(argv)
    try:
        paths = plot_run_dir(args.run_dir, out_dir=args.out)
    except ValueError as e:
        fail(PROG, str(e))
    print("wrote " + ", ".join(str(p) for p in paths))


if __name__ == "__main__":
    main()
