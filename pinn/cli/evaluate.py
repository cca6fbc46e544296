"""``pinn-eval RUN_DIR``: re-evaluate a run's checkpoint, optionally on another grid (a PDE scored on a
reference table is evaluated at its nodes, whatever the grid)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch
import yaml
from omegaconf import DictConfig, open_dict
from omegaconf.errors import OmegaConfBaseException

from pinn.io import files as io
from pinn.evaluation.grid import evaluate
from pinn.io.export import FORMATS
from pinn.io.export import export as export_evaluation
from pinn.io.plotting import plot_residuals
from pinn.evaluation.residual_maps import evaluation_maps, residual_metrics
from pinn.io.checkpoints import CheckpointDir
from pinn.cli.untrusted import load_yaml
from pinn.training.memory import check_evaluation_fits
from pinn.cli._errors import fail, guarded, one_line
from pinn.cli.build import build_engine, build_model, build_pde, config_hash
from pinn.cli.targets import load_source
from pinn.cli.config import register_configs

__all__ = ["main", "evaluate_run"]

PROG = "pinn-eval"


def evaluate_run(run_dir: Path, *, resolution=None, chunk_size=None, out_dir: Path | None = None,
                 sources: Sequence[str | Path] = (), residuals: bool = True, export: Sequence[str] = (),
                 reference: str | Path | None = None, checkpoint: str | Path | None = None) -> dict:
    """Rebuild the run's model from ``.hydra/config.yaml``, load its weights and evaluate.

    The run directory is treated as data: its config may name only pinn's own PDE classes,
    or classes defined in ``sources``, Python files the caller chose to trust
    (``pinn-eval RUN --source FILE``).  Nothing else it names is imported or called.

    Writes ``metrics.json`` and ``predictions.npz`` into ``out_dir`` (default ``RUN/eval``); with
    ``residuals``, also the map of ``|residual|`` per equation (in ``predictions.npz``, drawn in
    ``residuals.png``, its root mean square in the metrics as ``residual_rms_EQ``).  ``export``
    names formats (``vtk``, ``xdmf``, ``csv``; :mod:`pinn.io.export`) to write the evaluation in
    as well, as ``out_dir/solution.*``; their paths are listed under ``exported``.

    The config is read as untrusted data (:func:`pinn.io.safe.load_yaml`: no aliases, no resolvers),
    files only where they really are (no links), and a PDE scored on a table reads the shipped
    one, or ``reference``, a file the caller names: never a file the run's config names.

    ``checkpoint`` picks the weights: ``None``, the finished run's ``checkpoint.pt``; ``"latest"`` or
    ``"best"``, a training checkpoint of ``RUN/checkpoints`` (so an interrupted run can be
    scored); or the path of a checkpoint file.
    """
    needs = (io.CHECKPOINT, ".hydra/config.yaml") if checkpoint is None else (".hydra/config.yaml",)
    run_dir = Path(run_dir)
    if checkpoint is None and run_dir.is_dir() and not (run_dir / io.CHECKPOINT).exists() \
            and (run_dir / "checkpoints").is_dir() and not (run_dir / io.FAILED).exists():
        raise io.RunDirError(f"{run_dir} is not a finished pinn run (checkpoint.pt missing): score its newest "
                             f"training checkpoint with pinn-eval {run_dir} --checkpoint latest (or best), or "
                             f"finish it with pinn-train resume={run_dir}")
    run_dir = io.check_run_dir(run_dir, needs=needs)
    out_dir = Path(out_dir).resolve() if out_dir else run_dir / "eval"
    if out_dir == run_dir.resolve():
        raise io.RunDirError(f"--out {out_dir} is the run directory itself: its metrics.json and predictions.npz "
                             f"would be replaced; pass another directory (default RUN/eval)")
    modules = [load_source(s, key="--source") for s in sources]
    cfg = load_yaml(run_dir / ".hydra" / "config.yaml", root=run_dir)
    _take_reference(cfg, run_dir, reference)
    state = _weights(run_dir, checkpoint)
    _check_model_size(cfg, state, run_dir)
    try:
        # only the PDE and the network: no points, no observation files
        pde = build_pde(cfg, trusted=False, sources=modules)
        engine = build_engine(cfg, trusted=False, sources=modules)
        model, trained_pde = build_model(cfg, pde, torch.Generator(), engine, trusted=False, sources=modules)
        resolution_default = list(cfg.evaluation.resolution or pde.domain.default_resolution())
    except (OmegaConfBaseException, AttributeError, KeyError, yaml.YAMLError, OSError) as e:
        raise io.RunDirError(f"{run_dir}/.hydra/config.yaml is not a pinn config "
                             f"({type(e).__name__}: {one_line(str(e))[:200]})") from None
    if isinstance(state, dict) and "members" in state:
        raise io.RunDirError(f"{run_dir} is an ensemble run: it was evaluated when trained (metrics.json, "
                             f"predictions.npz, ensemble.npz); pinn-plot redraws it")
    saved = state.get("pde") if isinstance(state, dict) else None
    if saved != pde.name:
        raise io.RunDirError(f"{run_dir}/{io.CHECKPOINT} was written for the PDE {saved!r}, but the run's config "
                             f"names {pde.name!r}: the directory mixes two runs; train it again")
    _check_parts_agree(run_dir, cfg, state)
    weights = state.get("model") if isinstance(state, dict) else None
    if isinstance(weights, dict) and any(isinstance(t, torch.Tensor) and t.dtype == torch.float64
                                         for t in weights.values()):
        model = model.double()  # the run ended in float64 (a quasi-Newton stage's switch): evaluate in it
    try:
        model.load_state_dict(state["model"])
    except (KeyError, RuntimeError, TypeError) as e:
        raise io.RunDirError(f"{run_dir}/{io.CHECKPOINT} does not match the run's model ({type(e).__name__})") from None
    res = list(resolution) if resolution else resolution_default
    pde.domain.grid(res)  # validates it
    check_evaluation_fits(model, trained_pde, res, chunk_size=chunk_size or cfg.evaluation.chunk_size,
                          residual_maps=residuals, resolution_key="--resolution")
    start = time.perf_counter()
    ev = evaluate(model, pde, res, chunk_size=chunk_size or cfg.evaluation.chunk_size)
    maps = evaluation_maps(ev, model, trained_pde, engine) if residuals else {}
    io.write_predictions(out_dir / io.PREDICTIONS, ev.grid, *ev.compared(), fields=ev.fields, layout=ev.layout,
                         residuals=maps)
    if maps and len(ev.grid) >= 2:
        plot_residuals(ev.grid, maps, out_dir / "residuals.png", layout=ev.layout, inside=pde.domain.inside)
    time_name = pde.domain.time_name
    exported = [str(p) for fmt in dict.fromkeys(export)
                for p in export_evaluation(out_dir / "solution", fmt, ev.grid, *ev.compared(), fields=ev.fields,
                                           layout=ev.layout, residuals=maps,
                                           time=time_name if time_name in ev.grid else None)]
    metrics = {**ev.metrics, **residual_metrics(maps), **({"exported": exported} if exported else {}),
               "pde": pde.name, "resolution": res if ev.layout == "grid" else "reference nodes",
               "eval_seconds": time.perf_counter() - start}
    io.write_metrics(out_dir, metrics)
    return metrics


def _weights(run_dir: Path, checkpoint: str | Path | None) -> dict:
    """The checkpoint ``checkpoint`` names (see :func:`evaluate_run`), loaded and checked."""
    if checkpoint is None:
        return io.load_checkpoint(run_dir / io.CHECKPOINT)
    ckpts = CheckpointDir(run_dir / "checkpoints")
    if str(checkpoint) == "latest":
        return ckpts.load_latest()
    if str(checkpoint) == "best":
        return ckpts.load_best()
    return io.load_checkpoint(Path(checkpoint).expanduser())


def _take_reference(cfg, run_dir: Path, reference: str | Path | None) -> None:
    """Put the user's ``--reference`` in ``pde.reference``; refuse a run whose config names a table
    file itself: a run directory may not choose which file of this machine pinn reads."""
    pde = cfg.get("pde")
    if not isinstance(pde, DictConfig):
        return
    named = pde.get("reference") if "reference" in pde else None
    if reference is not None:
        if "reference" not in pde:
            raise io.RunDirError(f"--reference: the run's PDE ({pde.get('_target_')}) takes no reference table")
        with open_dict(cfg):
            pde.reference = str(Path(reference).expanduser().resolve())
    elif named is not None:
        raise io.RunDirError(f"{run_dir}'s config names its own reference table file; a run directory may not "
                             f"choose which file pinn reads: pass the table yourself with --reference PATH")
    if pde.get("coefficient") is not None:  # heat2d_vc's coefficient grid: a file, like the table
        raise io.RunDirError(f"{run_dir}'s config names its own coefficient file; a run directory may not choose "
                             f"which file pinn reads: evaluate runs trained on the shipped one (pde.coefficient=null)")


def _check_model_size(cfg, state, run_dir: Path) -> None:
    """Refuse, before the network is built, a config whose network is far larger than the checkpoint's
    (a run directory could otherwise ask for any amount of memory)."""
    weights = state.get("model") if isinstance(state, dict) else None
    if not isinstance(weights, dict):
        return
    saved = sum(t.numel() for t in weights.values() if isinstance(t, torch.Tensor))
    model = cfg.get("model")
    try:
        width, depth = int(model.get("width", 0)), int(model.get("depth", 0))
    except (AttributeError, TypeError, ValueError, OmegaConfBaseException):
        return  # the builder names what is wrong
    wanted = width * width * max(depth - 1, 0)
    if wanted > 4 * saved + 1_000_000:
        raise io.RunDirError(f"{run_dir}/.hydra/config.yaml asks for a network of about {wanted:.3g} parameters, "
                             f"but its checkpoint holds {saved}: the directory mixes two runs; train it again")


def _check_parts_agree(run_dir: Path, cfg, state) -> None:
    """Refuse a directory whose ``.hydra/config.yaml``, ``checkpoint.pt`` and ``metrics.json`` were
    written by different runs (each finished run records its config's hash in the other two)."""
    try:
        ours = config_hash(cfg)
    except (OmegaConfBaseException, ValueError, TypeError) as e:
        raise io.RunDirError(f"{run_dir}/.hydra/config.yaml does not resolve ({type(e).__name__}: "
                             f"{one_line(str(e))[:120]}), so it cannot be matched with the checkpoint; "
                             f"train it again") from None
    recorded = {}
    if isinstance(state, dict) and state.get("config_sha256"):
        recorded[io.CHECKPOINT] = state["config_sha256"]
    try:
        metrics = io.read_metrics(run_dir) if (run_dir / io.METRICS).exists() else {}
    except (OSError, ValueError):
        metrics = {}
    if isinstance(metrics, dict) and metrics.get("config_sha256"):
        recorded[io.METRICS] = metrics["config_sha256"]
    other = sorted(name for name, h in recorded.items() if h != ours)
    if other:
        raise io.RunDirError(f"{run_dir} mixes two runs: {', '.join(other)} was written under another config than "
                             f".hydra/config.yaml (a run replaced while it was being written?); train it again")


@guarded(PROG)
def main(argv: list[str] | None = None) -> None:
    """Console entry point of ``pinn-eval``."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Re-evaluate a trained run's checkpoint on a grid, or at its reference table's nodes.")
    parser.add_argument("run_dir", type=Path, help="a directory written by pinn-train")
    parser.add_argument("--resolution", type=int, nargs="+", help="grid points per coordinate, e.g. 512 401")
    parser.add_argument("--chunk-size", type=int, help="points per inference batch")
    parser.add_argument("--out", type=Path, help="output directory (default RUN_DIR/eval)")
    parser.add_argument("--source", action="append", default=[], metavar="FILE.py",
                        help="a Python file defining the run's PDE class, if it is not one of pinn's; "
                             "only files named here are imported, never one the run directory names")
    parser.add_argument("--reference", metavar="PATH",
                        help="the reference table to score against, for a run trained on a table of your own "
                             "(a run directory's config may not name a file for pinn to read)")
    parser.add_argument("--checkpoint", metavar="latest|best|PATH",
                        help="evaluate a training checkpoint instead of the finished run's checkpoint.pt: the newest "
                             "or the lowest-loss one in RUN/checkpoints, or a checkpoint file (an interrupted run "
                             "can be scored this way)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("--no-residuals", action="store_true",
                        help="skip the maps of |residual| per equation (they need input derivatives)")
    parser.add_argument("--export", action="append", default=[], choices=FORMATS,
                        help="also write the evaluation (prediction, reference, error, residual maps) for "
                             "ParaView/VisIt as RUN/eval/solution.*: vtk (.vtu, a .pvd time series), xdmf or csv; "
                             "repeat for several")
    args = parser.parse_args(argv)
    if args.chunk_size is not None and args.chunk_size < 1:
        fail(PROG, f"--chunk-size must be a positive integer, got {args.chunk_size}")
    register_configs()
    try:
        metrics = evaluate_run(args.run_dir, resolution=args.resolution, chunk_size=args.chunk_size, out_dir=args.out,
                               sources=args.source, residuals=not args.no_residuals, export=args.export,
                               reference=args.reference, checkpoint=args.checkpoint)
    except ValueError as e:  # RunDirError is a ValueError
        fail(PROG, str(e))
    out = args.out or args.run_dir / "eval"
    where = (f"a {'x'.join(map(str, metrics['resolution']))} grid" if isinstance(metrics["resolution"], list)
             else "its reference table's nodes")
    print(f"{metrics['pde']} on {where}: "
          f"rel. L2 error {metrics['rel_l2']:.3e}, max abs error {metrics['max_abs_error']:.3e}; written to {out}")
    rms = {k[len("residual_rms_"):]: v for k, v in metrics.items() if k.startswith("residual_rms_")}
    if rms:
        print("rms |residual|: " + ", ".join(f"{k} {v:.3e}" for k, v in rms.items())
              + f" (over {metrics['residual_points']} interior points; {metrics['residual_points_left_out']} on the "
                f"boundary or outside the domain left out)")
    if metrics.get("exported"):
        print("exported: " + ", ".join(metrics["exported"][:4]) + (" ..." if len(metrics["exported"]) > 4 else ""))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
