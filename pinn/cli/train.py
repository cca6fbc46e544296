"""``pinn-train``: train one PINN (or a ``-m`` sweep) from the Hydra config tree.

Before Hydra creates a run directory, the config is composed and every object
is built once, so bad input ends with a one-line message, exit code 2 and no
directory left behind.  A run that fails later gets a ``FAILED`` marker.
"""

from __future__ import annotations

import errno
import logging
import math
import sys
from pathlib import Path

import hydra
import torch
import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from pinn.training import distributed
from pinn.io import files as io
from pinn.io.lock import RunLock
from pinn.training.checkpoints import CheckpointDir
from pinn.training.quasi_newton import METHOD_NAMES
from pinn.training.loop import TrainingInterrupted
from pinn.cli import _ddp
from pinn.cli._errors import fail, guarded, one_line
from pinn.cli.build import build, refuse_earlier_checkpoints, run_training
from pinn.training.run import clear_finished_run
from pinn.cli.compose import absolute_source, compose_config
from pinn.cli.config import CONF_PATH, register_configs, with_user_search_path

__all__ = ["main", "check_config"]

PROG = "pinn-train"
log = logging.getLogger("pinn")


def check_config(overrides: list[str]) -> DictConfig:
    """Compose the config with ``overrides`` and build every object once.

    Raises:
        ValueError: with a one-line message naming the problem and the fix.
    """
    cfg = compose_config(overrides)
    build(cfg)
    return cfg


def _train_in(cfg: DictConfig, run_dir: Path, resume: dict | None = None, *, in_sweep: bool = False,
              failures: list | None = None) -> float:
    """Run (or resume) training in ``run_dir``, turning failures into one-line reports.

    In a sweep a failed run is marked and logged, and the sweep goes on (NaN is returned); its
    directory and reason are added to ``failures``, which the sweep reports at its end.
    A directory holding an unfinished run's checkpoints is refused and left as it is.
    """
    if resume is None:
        try:
            refuse_earlier_checkpoints(run_dir)
        except io.RunDirError as e:
            fail(PROG, str(e))
    try:
        metrics = run_training(cfg, run_dir, resume=resume)
        if distributed.rank():
            return math.nan  # rank 0 reports
    except TrainingInterrupted as e:
        if distributed.rank():
            sys.exit(130)
        fail(PROG, f"interrupted at step {e.step}; checkpoint saved in {run_dir / 'checkpoints'}; "
                   f"continue with: pinn-train resume={run_dir}", code=130)
    except (Exception, KeyboardInterrupt) as e:
        if isinstance(e, KeyboardInterrupt) and not cfg.debug:
            # A second Ctrl-C, or one outside the training loop (during evaluation): the run is
            # not marked failed; its checkpoints, if any, continue it.
            fail(PROG, f"interrupted (Ctrl-C); continue with pinn-train resume={run_dir} if it has checkpoints, "
                       f"or train it again", code=130)
        if isinstance(e, OSError) and e.errno == errno.ENOSPC and not cfg.debug and not in_sweep:
            # A full disk: the last good checkpoint is whole (checkpoints are written atomically), so
            # the run is resumable as it is once space is freed; it is not marked failed.
            fail(PROG, f"{one_line(e.strerror or 'No space left on device')} (in {run_dir}): free some space, "
                       f"then continue with pinn-train resume={run_dir}", code=1)
        if distributed.rank() == 0:
            try:
                io.mark_failed(run_dir, f"{type(e).__name__}: {one_line(str(e))}")
            except OSError as mark_error:
                log.error("could not mark %s failed: %s", run_dir, mark_error)
        if cfg.debug:
            raise
        if in_sweep and not isinstance(e, KeyboardInterrupt):
            log.error("run failed and is marked so in %s: %s", run_dir, one_line(str(e)))
            if failures is not None:
                failures.append(f"{run_dir}: {one_line(str(e))}")
            return math.nan
        fail(PROG, f"{one_line(str(e))} (run marked failed in {run_dir}; add debug=true for a traceback)", code=1)
    log.info("%s", summary(metrics, run_dir, plots=cfg.plots, tensorboard=cfg.logger == "tensorboard"))
    return metrics["rel_l2"]


def summary(metrics: dict, run_dir: Path, *, plots: bool, tensorboard: bool) -> str:
    """The one-screen report of a finished run: error, time, learned values, where the outputs are."""
    rows = [
        ("rel. L2 error", f"{metrics['rel_l2']:.3e}   (max abs error {metrics['max_abs_error']:.3e})"),
        ("training", f"{metrics['train_seconds']:.1f} s: {metrics['adam_steps']} Adam + {metrics['lbfgs_steps']} "
                     f"{METHOD_NAMES.get(metrics.get('quasi_newton', 'lbfgs'), 'L-BFGS')} steps, "
                     f"final loss {metrics['final_loss']:.3e}"
                     + (f", {metrics['failures']} roll-back(s)" if metrics.get("failures") else "")),
    ]
    if metrics.get("learned"):
        rows.append(("learned", ", ".join(f"{k} = {v:.6g}" for k, v in metrics["learned"].items())))
    if metrics.get("members"):
        rows.append(("ensemble", f"the mean of {metrics['members']} members; each member "
                                 f"{metrics['rel_l2_member_mean']:.3e} ± {metrics['rel_l2_member_sample_std']:.2e} "
                                 f"(mean ± sample std); ensemble.npz holds every member's prediction"))
    rows.append(("outputs", f"{run_dir}/  (metrics.json, predictions.npz, history.csv, checkpoint.pt)"))
    if plots:
        drawn = [n for n in ("solution.png", "slices.png", "residuals.png", "loss.png") if (run_dir / "plots" / n).exists()]
        rows.append(("plots", f"{run_dir / 'plots'}/  ({', '.join(drawn)})"))
    if tensorboard:
        rows.append(("tensorboard", f"tensorboard --logdir {run_dir / 'tensorboard'}"))
    if not metrics.get("members"):
        rows.append(("evaluate", f"pinn-eval {run_dir}"))
    width = max(len(k) for k, _ in rows)
    title = f" {metrics['pde']} finished "
    return "\n".join([f"{title:=^72}"] + [f"  {k:<{width}}  {v}" for k, v in rows] + ["=" * 72])


def _hydra_task(failures: list):
    """The ``@hydra.main`` task: one run (or one job of a sweep), failed sweep jobs noted in ``failures``."""

    def task(cfg: DictConfig) -> float:
        hc = HydraConfig.get()
        absolute_source(cfg, hc.runtime.choices.get("pde"), hc.searchpath)
        return _train_in(cfg, Path(hc.runtime.output_dir), in_sweep=hc.mode == RunMode.MULTIRUN, failures=failures)

    return hydra.main(config_path=CONF_PATH, config_name="config", version_base="1.3")(task)


#: Keys a resume may change: how the run is evaluated, drawn and threaded, not what it trains.
RESUME_OVERRIDES = ("evaluation.", "plots=", "threads=", "debug=")


def resume_run(run_dir: str | Path, overrides: list[str] | None = None) -> float:
    """Continue the interrupted run in ``run_dir`` from its newest readable checkpoint.

    ``overrides`` (``evaluation.resolution=[101,101]``, ``plots=false``, ``threads=1``) change how
    the finished run is evaluated, drawn or threaded; what it trains stays the saved config's.
    """
    run_dir = Path(run_dir)
    if not (run_dir / ".hydra" / "config.yaml").is_file():
        raise io.RunDirError(f"{run_dir} is not a pinn run directory (no .hydra/config.yaml); pass the directory "
                             f"pinn-train wrote")
    if (run_dir / io.METRICS).exists():
        raise io.RunDirError(f"{run_dir} already finished (metrics.json exists); nothing to resume")
    try:
        cfg = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    except (OmegaConfBaseException, yaml.YAMLError, OSError) as e:
        raise io.RunDirError(f"{run_dir}/.hydra/config.yaml is not a pinn config ({type(e).__name__})") from None
    if overrides:
        try:
            cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(list(overrides)))
        except OmegaConfBaseException as e:
            raise ValueError(f"resume overrides {list(overrides)}: {one_line(str(e))}") from None
    try:
        build(cfg)
    except (OmegaConfBaseException, AttributeError, KeyError) as e:
        raise io.RunDirError(f"{run_dir}/.hydra/config.yaml is not a pinn config ({type(e).__name__})") from None
    lock = RunLock(run_dir) if distributed.rank() == 0 else None  # held until the process ends
    if distributed.rank() == 0:
        _log_to(run_dir / "train.log")
    state = CheckpointDir(run_dir / "checkpoints", keep=cfg.checkpoint.keep).load_latest()
    if distributed.world_size() > 1:
        torch.distributed.barrier()  # every rank has read the checkpoints before rank 0 writes again
    if distributed.rank() == 0:
        (run_dir / io.FAILED).unlink(missing_ok=True)
    try:
        return _train_in(cfg, run_dir, resume=state)
    finally:
        if lock is not None:
            lock.release()


def _log_to(path: Path) -> None:
    """Hydra's logging set-up, for the resume path that runs without Hydra's launcher."""
    fmt = logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for handler in (logging.StreamHandler(), logging.FileHandler(path, mode="a")):
        handler.setFormatter(fmt)
        root.addHandler(handler)


def _overrides(argv: list[str]) -> list[str] | None:
    """The plain overrides of ``argv``; ``None`` when flags need Hydra's own handling."""
    if any(a.startswith("-") for a in argv):
        return None
    return list(argv)


@guarded(PROG)
def main() -> None:
    """Console entry point of ``pinn-train`` (also under ``torchrun ... -m pinn.cli.train``)."""
    if not _ddp.launched():
        return _main()
    try:
        sys.argv[1:] = _ddp.setup(sys.argv[1:])
    except ValueError as e:
        fail(PROG, str(e))
    try:
        _main()
    finally:
        _ddp.teardown()


def _main() -> None:
    register_configs()
    resume = [a for a in sys.argv[1:] if a.startswith("resume=")]
    if resume:
        others = [a for a in sys.argv[1:] if not a.startswith("resume=") and a != "debug=true"]
        changes = [a for a in others if a.startswith(RESUME_OVERRIDES)]
        if len(changes) != len(others) or len(resume) > 1:
            wrong = [a for a in others if a not in changes]
            fail(PROG, f"resume=RUN_DIR continues a run with its own saved config; drop the other arguments {wrong} "
                       f"(a resume may change only evaluation.*, plots, threads, debug)")
        try:
            resume_run(resume[0].split("=", 1)[1], changes)
        except ValueError as e:  # RunDirError included
            fail(PROG, str(e))
        return
    sys.argv[1:] = with_user_search_path(sys.argv[1:])  # ./conf, the user's config groups, with no flag
    overrides = _overrides(sys.argv[1:])
    if overrides is not None and "debug=true" not in overrides:
        try:
            check_config(overrides)
        except ValueError as e:
            fail(PROG, str(e))
    run_dir = _explicit_run_dir(sys.argv[1:])
    sweep_dir = _explicit_run_dir(sys.argv[1:], "hydra.sweep.dir")
    if sweep_dir is not None and ("-m" in sys.argv[1:] or "--multirun" in sys.argv[1:]
                                  or any(a.startswith("hparams_search=") for a in sys.argv[1:])):
        try:
            _refuse_unfinished_in_sweep(sweep_dir)
        except io.RunDirError as e:
            fail(PROG, str(e))
    lock = None
    if run_dir is not None and "-m" not in sys.argv[1:] and "--multirun" not in sys.argv[1:]:
        try:  # before Hydra writes its .hydra record over another run's
            refuse_earlier_checkpoints(run_dir)  # first, so that a refusal writes nothing at all
            lock = RunLock(run_dir) if distributed.rank() == 0 else None
            refuse_earlier_checkpoints(run_dir)  # again: another writer may have started meanwhile
            if lock is not None and clear_finished_run(run_dir):  # before Hydra writes the new config
                log.info("replacing the finished run in %s", run_dir)
        except io.RunDirError as e:
            fail(PROG, str(e))
    failures: list[str] = []
    try:
        _hydra_task(failures)()
    finally:
        if lock is not None:
            lock.release()
    if failures:  # the sweep went on past them; say so, and exit non-zero
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        fail(PROG, f"{len(failures)} sweep job(s) failed, each marked FAILED in its directory; "
                   f"the first: {failures[0]}{more}", code=1)


def _explicit_run_dir(argv: list[str], key: str = "hydra.run.dir") -> str | None:
    """The ``hydra.run.dir`` (or another ``key``) that ``argv`` sets, quoted or with ``+``/``++`` as
    it may be (parsed as Hydra does)."""
    try:
        parsed = OverridesParser.create().parse_overrides([a for a in argv if not a.startswith("-")])
    except Exception:  # Hydra reports a malformed override itself, in its own words
        return None
    values = [str(o.value()) for o in parsed if o.key_or_group == key]
    return values[-1] if values else None


def _refuse_unfinished_in_sweep(sweep_dir: str) -> None:
    """Before a sweep starts: refuse a ``hydra.sweep.dir`` whose job directories hold unfinished
    runs' checkpoints (Hydra would write each job's new config over them before any check)."""
    root = Path(sweep_dir)
    if not root.is_dir():
        return
    for job in sorted(p.parent for p in root.glob("*/checkpoints")):
        try:
            refuse_earlier_checkpoints(job)
        except io.RunDirError as e:
            raise io.RunDirError(f"the sweep directory {root} holds an unfinished run in {job.name}/: {e}") from None


if __name__ == "__main__":
    main()
