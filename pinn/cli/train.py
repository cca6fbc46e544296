"""``pinn-train``: train one PINN (or a ``-m`` sweep) from the Hydra config tree.

Before Hydra creates a run directory, the config is composed and every object
is built once, so bad input ends with a one-line message, exit code 2 and no
directory left behind.  A run that fails later gets a ``FAILED`` marker.
"""

from __future__ import annotations

import errno
import logging
import math
import os
import sys
from pathlib import Path

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from pinn.training import distributed
from pinn.io import files as io
from pinn.io.lock import RunLock
from pinn.cli.untrusted import load_yaml
from pinn.io.run_dir import RunDir
from pinn.training.dense_bfgs import METHOD_NAMES
from pinn.training.loop import TrainingInterrupted
from pinn.cli import _ddp
from pinn.cli.compile_cache import use_compile_cache
from pinn.cli._errors import fail, guarded, one_line
from pinn.cli.build import build, run_training
from pinn.cli.compose import absolute_source, compose_config, compose_with_dirs
from pinn.cli.config import CONF_PATH, VALUED_FLAGS, register_configs, with_overrides, with_user_search_path

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
              failures: list | None = None, job=None) -> float:
    """Run (or resume) training in ``run_dir``, turning failures into one-line reports.

    In a sweep a failed run is marked and logged, and the sweep goes on (``inf`` is returned, the
    worst objective, which a tuning sweeper ranks last; NaN would abort Optuna's study); its
    directory and reason are added to ``failures``, which the sweep reports at its end.
    A directory holding an unfinished run's checkpoints is refused and left as it is.
    """
    if resume is None:
        try:
            RunDir(run_dir).refuse_unfinished()
        except io.RunDirError as e:
            fail(PROG, str(e))
    try:
        metrics = run_training(cfg, run_dir, resume=resume, job=job)
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
                RunDir(run_dir).fail(f"{type(e).__name__}: {one_line(str(e))}")
            except OSError as mark_error:
                log.error("could not mark %s failed: %s", run_dir, mark_error)
        if cfg.debug:
            raise
        if in_sweep and not isinstance(e, KeyboardInterrupt):
            log.error("run failed and is marked so in %s: %s", run_dir, one_line(str(e)))
            if failures is not None:
                failures.append(f"{run_dir}: {one_line(str(e))}")
            return math.inf  # the worst objective: a tuning sweep (Optuna) goes on, where NaN would abort it
        fail(PROG, f"{one_line(str(e))} (run marked failed in {run_dir}; add debug=true for a traceback)", code=1)
    log.info("%s", summary(metrics, run_dir, plots=cfg.plots, tensorboard=cfg.logger == "tensorboard"))
    value = metrics["rel_l2"]
    return value if math.isfinite(value) else math.inf


def summary(metrics: dict, run_dir: Path, *, plots: bool, tensorboard: bool) -> str:
    """The one-screen report of a finished run: error, time, learned values, where the outputs are."""
    rows = [
        ("rel. L2 error", f"{metrics['rel_l2']:.3e}   (max abs error {metrics['max_abs_error']:.3e})"),
        ("training", f"{metrics['train_seconds']:.1f} s: {metrics['adam_steps']} Adam + {metrics['lbfgs_steps']} "
                     f"{METHOD_NAMES.get(metrics.get('quasi_newton', 'lbfgs'), 'L-BFGS')} steps"
                     + "".join(f" + {n} {kind}" for kind, n in (metrics.get("steps") or {}).items()
                               if kind not in ("adam", "lbfgs"))
                     + f", final loss {metrics['final_loss']:.3e}"
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
        drawn = [n for n in ("solution.png", "slices.png", "snapshots.png", "residuals.png", "loss.png")
                 if (run_dir / "plots" / n).exists()]
        rows.append(("plots", f"{run_dir / 'plots'}/  ({', '.join(drawn)})"))
    if tensorboard:
        rows.append(("tensorboard", f"tensorboard --logdir {run_dir / 'tensorboard'}"))
    if not metrics.get("members"):
        rows.append(("evaluate", f"pinn-eval {run_dir}"))
    width = max(len(k) for k, _ in rows)
    title = f" {metrics['pde']} finished "
    return "\n".join([f"{title:=^72}"] + [f"  {k:<{width}}  {v}" for k, v in rows] + ["=" * 72])


class _HeldLog(logging.Handler):
    """Holds pinn's INFO records while a job is built before Hydra sets logging up (they would
    be dropped), for the run's task to replay into its log; warnings are shown at once, as they
    were without it."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING and logging.lastResort is not None:
            logging.lastResort.handle(record)
        else:
            self.records.append(record)

    def __enter__(self) -> _HeldLog:
        self._level = log.level
        log.setLevel(logging.INFO)
        log.addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        log.removeHandler(self)
        log.setLevel(self._level)


def _hydra_task(failures: list, built: list | None = None):
    """The ``@hydra.main`` task: one run (or one job of a sweep), failed sweep jobs noted in ``failures``.

    ``built``: ``[(plain config, job, log records)]`` built by the up-front check; a single run whose
    config is that one trains that job instead of building it again (the job is built once per run),
    and its log gets what building logged."""

    def task(cfg: DictConfig) -> float:
        hc = HydraConfig.get()
        absolute_source(cfg, hc.runtime.choices.get("pde"), hc.searchpath)
        job = None
        if built and hc.mode != RunMode.MULTIRUN:
            plain, prebuilt, records = built.pop()
            if OmegaConf.to_container(cfg, resolve=True) == plain:
                job = prebuilt
                for record in records:  # logged while it was built, before Hydra set logging up
                    logging.getLogger(record.name).handle(record)
        return _train_in(cfg, Path(hc.runtime.output_dir), in_sweep=hc.mode == RunMode.MULTIRUN, failures=failures,
                         job=job)

    return hydra.main(config_path=CONF_PATH, config_name="config", version_base="1.3")(task)


#: Keys a resume may change: how the run is evaluated, drawn and threaded, not what it trains;
#: and ``pde.source``, which names the file of the run's PDE (never taken from the run directory).
RESUME_OVERRIDES = ("evaluation.", "plots=", "threads=", "debug=", "pde.source=", "trainer.max_seconds=")


def resume_run(run_dir: str | Path, overrides: list[str] | None = None) -> float:
    """Continue the interrupted run in ``run_dir`` from its newest readable checkpoint.

    ``overrides`` (``evaluation.resolution=[101,101]``, ``plots=false``, ``threads=1``) change how
    the finished run is evaluated, drawn or threaded; what it trains stays the saved config's.

    Resume is for your own runs.  Even so, the run directory never chooses code to run: a run
    whose PDE comes from a source file resumes only with that file named on the command line
    (``pde.source=FILE``), checked against the run's record before anything is imported.
    """
    run_dir = Path(run_dir)
    if not (run_dir / ".hydra" / "config.yaml").is_file():
        raise io.RunDirError(f"{run_dir} is not a pinn run directory (no .hydra/config.yaml); pass the directory "
                             f"pinn-train wrote")
    if (run_dir / io.METRICS).exists():
        raise io.RunDirError(f"{run_dir} already finished (metrics.json exists); nothing to resume")
    cfg = load_yaml(run_dir / ".hydra" / "config.yaml", root=run_dir)
    overrides = list(overrides or [])
    given = [o.split("=", 1)[1] for o in overrides if o.startswith("pde.source=")]
    _check_resume_source(run_dir, cfg, given[-1] if given else None)
    overrides = [o for o in overrides if not o.startswith("pde.source=")]
    if overrides:
        try:
            cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(list(overrides)))
        except OmegaConfBaseException as e:
            raise ValueError(f"resume overrides {list(overrides)}: {one_line(str(e))}") from None
    run = RunDir(run_dir, keep=cfg.checkpoint.keep)
    run.refuse_links()
    try:
        job = build(cfg)  # built once: the run trains this job
    except (OmegaConfBaseException, AttributeError, KeyError) as e:
        raise io.RunDirError(f"{run_dir}/.hydra/config.yaml is not a pinn config ({type(e).__name__})") from None
    try:
        if distributed.rank() == 0:
            run.lock()  # held until the run ends
            _log_to(run_dir / "train.log")
            state = run.resume()  # the newest readable checkpoint; the FAILED marker goes
        else:
            state = run.checkpoints.load_latest()
        if distributed.world_size() > 1:
            torch.distributed.barrier()  # every rank has read the checkpoints before rank 0 writes again
        return _train_in(cfg, run_dir, resume=state, job=job)
    finally:
        run.release()


def _check_resume_source(run_dir: Path, cfg, given: str | None) -> None:
    """Refuse, before anything is imported, a resume whose PDE source file the user did not name
    (``pde.source=FILE``) or named differently from the run's record; on a match, the config
    names the user's path."""
    pde = cfg.get("pde")
    recorded = pde.get("source") if isinstance(pde, DictConfig) and "source" in pde else None
    if not recorded:
        if given:
            raise io.RunDirError(f"{run_dir}'s PDE is pinn's own; drop pde.source={given}")
        return
    if not given:
        raise io.RunDirError(f"{run_dir}'s PDE comes from the source file {recorded}; a resume imports only a file "
                             f"you name: pinn-train resume={run_dir} pde.source=FILE (if you trust it)")
    mine = Path(given).expanduser().resolve()
    if mine != Path(str(recorded)).expanduser().resolve():
        raise io.RunDirError(f"pde.source={given} differs from the file the run was trained with ({recorded}); "
                             f"name that file, or start a new run")
    with open_dict(cfg):
        cfg.pde.source = str(mine)


def _log_to(path: Path) -> None:
    """Hydra's logging set-up, for the resume path that runs without Hydra's launcher."""
    fmt = logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for handler in (logging.StreamHandler(), logging.FileHandler(path, mode="a")):
        handler.setFormatter(fmt)
        root.addHandler(handler)


@guarded(PROG)
def main() -> None:
    """Console entry point of ``pinn-train`` (also under ``torchrun ... -m pinn.cli.train``)."""
    use_compile_cache()
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


#: Flags with which Hydra prints and exits: nothing is trained, so nothing may be claimed or cleared.
PRINT_ONLY = ("--help", "-h", "--hydra-help", "--cfg", "-c", "--info", "-i", "--shell-completion", "-sc",
              "--version")
#: Flags that change where the config comes from: the up-front check cannot compose it.
OWN_CONFIG = ("--config-dir", "-cd", "--config-path", "-cp", "--config-name", "-cn", "--experimental-rerun")


def _main() -> None:
    register_configs()
    sys.argv[1:] = ["debug=true" if a == "--debug" else a for a in sys.argv[1:]]  # one spelling for the four tools
    resume = [a for a in sys.argv[1:] if a.startswith("resume=")]
    if resume:
        _resume_from_argv(resume)
        return
    sys.argv[1:] = with_user_search_path(sys.argv[1:])  # ./conf, the user's config groups, with no flag
    argv = sys.argv[1:]
    debug = "debug=true" in argv
    failures: list[str] = []
    if any(a.split("=", 1)[0] in PRINT_ONLY for a in argv):
        _hydra_task(failures)()  # prints and exits; writes nothing
        return
    own_config = any(a.split("=", 1)[0] in OWN_CONFIG for a in argv)
    locks: list[RunLock | RunDir] = []
    built: list = []
    try:
        try:
            if own_config:
                _guard_own_config(argv)
            else:
                _check_and_claim(argv, locks, built, debug=debug)
        except ValueError as e:  # RunDirError included
            if debug:
                raise
            fail(PROG, str(e))
        _hydra_task(failures, built)()
    finally:
        for lock in locks:
            lock.release()
    if failures:  # the sweep went on past them; say so, and exit non-zero
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        fail(PROG, f"{len(failures)} sweep job(s) failed, each marked FAILED in its directory; "
                   f"the first: {failures[0]}{more}", code=1)


def _resume_from_argv(resume: list[str]) -> None:
    others = [a for a in sys.argv[1:] if not a.startswith("resume=") and a != "debug=true"]
    changes = [a for a in others if a.startswith(RESUME_OVERRIDES)]
    if len(changes) != len(others) or len(resume) > 1:
        wrong = [a for a in others if a not in changes]
        fail(PROG, f"resume=RUN_DIR continues a run with its own saved config; drop the other arguments {wrong} "
                   f"(a resume may change only evaluation.*, plots, threads, debug, trainer.max_seconds, and name "
                   f"pde.source)")
    try:
        resume_run(resume[0].split("=", 1)[1], changes)
    except ValueError as e:  # RunDirError included
        fail(PROG, str(e))


def _plain(argv: list[str]) -> list[str]:
    """The overrides of ``argv``: flags dropped, with the value that follows a valued flag."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            if not a.startswith("-") and "=" not in a:
                continue
        if a.startswith("-"):
            skip = a in VALUED_FLAGS
            continue
        out.append(a)
    return out


def _first_job(argv: list[str]) -> list[str]:
    """The overrides of a sweep's first job (``seed=0,1`` -> ``seed=0``; an Optuna ``interval``
    is left to its default), parsed as Hydra parses them.

    Raises:
        ValueError: a malformed override, in one line.
    """
    try:
        parsed = OverridesParser.create().parse_overrides(_plain(argv))
    except Exception as e:  # Hydra's OverrideParseException, multi-line
        raise ValueError(f"malformed override: {one_line(str(e))[:300]}") from None
    out = []
    for o in parsed:
        if not o.is_sweep_override():
            out.append(str(o.input_line))
            continue
        try:
            first = next(iter(o.sweep_string_iterator()), None)
        except Exception:  # an interval: the sweeper's to draw
            continue
        if first is None:
            raise ValueError(f"{o.input_line}: the sweep has no values")
        out.append(f"{o.get_key_element()}={first}")
    return out


def _quoted(path: str) -> str:
    """``path`` as a Hydra override value: quoted, and with ``${`` escaped, so Hydra takes it literally."""
    return "'" + path.replace("\\", "\\\\").replace("'", "\\'").replace("${", "\\${") + "'"


def _check_and_claim(argv: list[str], locks: list, built: list, *, debug: bool) -> None:
    """Before Hydra writes anything: check the (first job's) config, then claim the run or sweep
    directory, resolved as Hydra will resolve it.  A default directory is made new; an explicit
    one is locked, refused if it holds an unfinished run or a link, and emptied of a finished run
    only now, when the config is known to be good and training will start.  The job built for the
    check is added to ``built``, with its config, for the run to train."""
    first = _first_job(argv)
    multirun = "-m" in argv or "--multirun" in argv
    explicit_run = _explicit_run_dir(argv)
    explicit_sweep = _explicit_run_dir(argv, "hydra.sweep.dir")
    cfg, (multirun_cfg, run_dir, sweep_dir) = compose_with_dirs(first)
    with _HeldLog() as held:  # what building says (derivatives=auto's choice) reaches the run's log
        job = build(cfg)
    multirun = multirun or multirun_cfg
    if multirun:
        sweep_dir = io.claim_new_dir(sweep_dir) if explicit_sweep is None else sweep_dir
        sys.argv[1:] = with_overrides(sys.argv[1:], [f"hydra.sweep.dir={_quoted(sweep_dir)}"])
        if distributed.rank() == 0:
            locks.append(RunLock(sweep_dir))
        _refuse_unfinished_in_sweep(sweep_dir)
        return
    built.append((OmegaConf.to_container(cfg, resolve=True), job, held.records))
    run = RunDir.new(run_dir) if explicit_run is None else RunDir(run_dir)
    sys.argv[1:] = with_overrides(sys.argv[1:], [f"hydra.run.dir={_quoted(str(run.path))}"])
    _check_disk(str(run.path))  # a full disk: one line now, not Hydra's traceback at its first write
    if distributed.rank() == 0:
        locks.append(run)  # released when pinn-train ends
        if run.claim():  # refused, locked, and a finished run cleared before Hydra writes the new config
            log.info("replacing the finished run in %s", run.path)
    else:
        run.refuse_unfinished()
        run.refuse_links()


#: The least free space a run starts with: its config, log, history and first checkpoints.
MIN_FREE = 16 << 20


def _free_bytes(path: Path) -> int:
    """Bytes free to this user on the file system of ``path``."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def _check_disk(run_dir: str) -> None:
    """Refuse to start a run on a disk with less than :data:`MIN_FREE` bytes free."""
    path = Path(run_dir)
    while not path.exists() and path != path.parent:
        path = path.parent
    free = _free_bytes(path)
    if free < MIN_FREE:
        raise io.RunDirError(f"no space left on the device of {run_dir} ({free / 2**20:.1f} MB free, a run needs at "
                             f"least {MIN_FREE >> 20} MB to start); free some space, or train elsewhere "
                             f"(hydra.run.dir=DIR)")


def _guard_own_config(argv: list[str]) -> None:
    """With ``--config-dir`` and the like the config cannot be composed here: refuse a run
    directory that holds any run, rather than clear it before the config is known to be good."""
    run_dir = _explicit_run_dir(argv)
    if run_dir is None or "-m" in argv or "--multirun" in argv:
        return
    path = Path(run_dir)
    if (path / io.METRICS).exists() or (path / "checkpoints").exists():
        raise io.RunDirError(f"{run_dir} holds a run, and with --config-dir/--config-name pinn-train cannot check "
                             f"the config before replacing it; train into a new directory (hydra.run.dir=...), "
                             f"or delete {run_dir} first")


def refuse_links(run_dir: str | Path) -> None:
    """Refuse a run directory in which a link stands where a run writes (:meth:`RunDir.refuse_links`)."""
    RunDir(run_dir).refuse_links()


def _explicit_run_dir(argv: list[str], key: str = "hydra.run.dir") -> str | None:
    """The ``hydra.run.dir`` (or another ``key``) that ``argv`` sets, quoted or with ``+``/``++`` as
    it may be (parsed as Hydra does)."""
    try:
        parsed = OverridesParser.create().parse_overrides(_plain(argv))
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
            RunDir(job).refuse_unfinished()
        except io.RunDirError as e:
            raise io.RunDirError(f"the sweep directory {root} holds an unfinished run in {job.name}/: {e}") from None


if __name__ == "__main__":
    main()
