"""One training run into a run directory: :func:`train`, the library's entry point.

``train(job, run_dir)`` samples the points (or resumes from a checkpoint), fits, evaluates on
the grid and writes the run directory: ``checkpoints/`` during training, then
``history.csv``, ``predictions.npz``, ``checkpoint.pt``, ``plots/`` and, last,
``metrics.json``, whose presence marks a finished run.  It needs no Hydra: the CLI calls it
with a job built from a config, a notebook with one built by hand.
"""

from __future__ import annotations

import copy
import logging
import math
import platform
import time
import warnings
from typing import cast
from collections.abc import Mapping
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel

from pinn._version import __version__ as pinn_version
from pinn.diff.fused import FusedEngine
from pinn.io import files as io
from pinn.evaluation.grid import evaluate
from pinn.io.error_in_time import ERROR_IN_TIME, plot_error_in_time, write_error_in_time
from pinn.io.run_dir import RunDir
from pinn.io.plotting import plot_run, run_title
from pinn.io.progress import make_progress
from pinn.evaluation.residual_maps import evaluation_maps, residual_metrics
from pinn.physics.coefficients import WithCoefficients
from pinn.training import distributed
from pinn.training.backends import Eager, LossBackend
from pinn.training.compiling import CompiledGradient, GuardedCompile
from pinn.training.ensemble import Ensemble, EnsembleLoss
from pinn.training.ensemble_run import member_outputs
from pinn.training.fused_step import FusedStep
from pinn.nets.marched import Marched
from pinn.training import marching
from pinn.training.job import Job
from pinn.training.loop import Trainer
from pinn.training.losses import PINNLoss
from pinn.training.options import RunOptions
from pinn.training.stages import QuasiNewton
from pinn.training.state import TrainState

__all__ = ["train", "refuse_earlier_checkpoints"]

log = logging.getLogger("pinn")


def refuse_earlier_checkpoints(run_dir: str | Path) -> None:
    """Raise :class:`pinn.io.files.RunDirError` when ``run_dir`` holds an unfinished run's checkpoints
    (:meth:`pinn.io.run_dir.RunDir.refuse_unfinished`)."""
    RunDir(run_dir).refuse_unfinished()


def _load_matching(job: Job, resume: Mapping) -> None:
    """Load the checkpoint's weights into ``job.model`` after checking that it belongs to this job."""
    saved = resume.get("pde")
    if saved != job.pde.name:
        raise ValueError(f"the checkpoint was written for the PDE {saved!r}, but this run's is {job.pde.name!r}; "
                         f"resume it with its own run's config, or start a new run")
    record = resume.get("record")
    if record is not None and job.record and dict(record) != dict(job.record):
        ours = dict(job.record)
        changed = sorted(k for k in set(record) | set(ours) if record.get(k) != ours.get(k))
        raise ValueError(f"the checkpoint was written with other PDE settings ({', '.join('pde.' + k for k in changed)}"
                         f" differ); resume it with its own run's config, or start a new run")
    ours, theirs = job.model.state_dict(), resume.get("model")
    if not isinstance(theirs, dict) or set(theirs) != set(ours) or any(
            not isinstance(theirs[k], torch.Tensor) or theirs[k].shape != ours[k].shape for k in ours):
        raise ValueError("the checkpoint's network does not match this run's (the model's settings or the PDE's "
                         "coordinates differ); resume it with its own run's config, or start a new run")
    if resume["trainer"].get("float64"):
        job.model.double()  # the checkpoint holds float64 weights: load them without rounding
    job.model.load_state_dict(theirs)


def _resumed_points(resume: Mapping, ranks: int, rank: int) -> dict:
    """This rank's points from a checkpoint, which must come from a run with as many ranks."""
    shards = resume.get("shards")
    saved = len(shards) if shards is not None else 1
    if saved != ranks:
        raise ValueError(f"the checkpoint was written by a run on {saved} rank(s); resume it with "
                         f"{'pinn-train' if saved == 1 else f'torchrun --nproc_per_node={saved} -m pinn.cli.train'} "
                         f"resume=RUN_DIR")
    return resume["points"] if shards is None else shards[rank]


def _check_distributed(job: Job) -> None:
    """Refuse what data-parallel training does not support, naming the fix."""
    from pinn.diff.autograd import AutogradEngine

    if isinstance(job.model, Ensemble):
        raise ValueError("an ensemble already trains its members at once; run it without torchrun")
    if not isinstance(job.loss.engine, AutogradEngine):
        raise ValueError(f"data-parallel training (torchrun) needs derivatives=autograd, got {job.loss.engine.name}")
    if any(getattr(s, "float64", False) for s in job.trainer.stages):
        raise ValueError("data-parallel training (torchrun) cannot switch precision mid-run; "
                         "set stages.quasi_newton.float64=false or use precision=float64")
    if job.trainer.weighting is not None:
        raise ValueError("data-parallel training (torchrun) does not support loss weighting yet; set weighting=null")
    if isinstance(job.model, Marched):
        raise ValueError("data-parallel training (torchrun) does not support time marching yet; set marching=null")
    if job.resampler is not None:
        raise ValueError("data-parallel training (torchrun) does not support resampling yet (each rank would "
                         "redraw its own shard); set resampler=null")


def train(job: Job, run_dir: str | Path, options: RunOptions | None = None, **legacy) -> dict:
    """Train ``job``, evaluate it and write every output into ``run_dir``; return the metrics.

    Args:
        job: the run's objects.
        run_dir: the run directory (created).  One holding a finished run is replaced; one
            holding an unfinished run's checkpoints is refused (resume it instead).
        options: how to run it (:class:`~pinn.training.options.RunOptions`: resume, checkpoints,
            plots, the speed path, callbacks); ``None``: the defaults.

    The keywords of pinn 0.2 (``resume=``, ``checkpoint_every=``, ``compile=``, ...) still work, with
    a ``DeprecationWarning`` naming the options to pass instead; they go in 0.4.

    ``metrics.json`` also records the versions of pinn, torch and Python, the device and the
    thread count.
    """
    if not isinstance(job, Job):
        raise TypeError(f"pinn.train: job must be a pinn.Job (e.g. pinn.cli.job('pde=heat')), got "
                        f"{type(job).__name__}")
    if not isinstance(run_dir, (str, Path)) or not str(run_dir):
        raise TypeError(f"pinn.train: run_dir must be a directory path (str or pathlib.Path), got {run_dir!r:.60}")
    if legacy:
        if options is not None:
            raise TypeError("pinn.train: give options=RunOptions(...) or the 0.2 keywords, not both")
        warnings.warn(f"pinn.train's keywords {sorted(legacy)} are deprecated (they go in pinn 0.4); pass "
                      f"options=pinn.RunOptions(...)", DeprecationWarning, stacklevel=2)
        options = RunOptions.from_legacy(**legacy)
    options = RunOptions() if options is None else options
    if not isinstance(options, RunOptions):
        raise TypeError(f"pinn.train: options must be a pinn.RunOptions, got {options!r:.60}")
    run = RunDir(run_dir, keep=options.keep)
    if distributed.rank() == 0:
        run.lock()  # re-entrant: the CLI may hold it already
    try:
        return _train_locked(job, run, options)
    finally:
        run.release()


def _train_locked(job: Job, run: RunDir, options: RunOptions) -> dict:
    rank = distributed.rank()
    callback, metadata = options.callback, options.metadata
    points, state, first = _start(job, run, options.resume)
    marched = job.model if isinstance(job.model, Marched) else None
    window: list[int | None] = [None]  # the window being trained, for the checkpoints
    fused_steps: dict = {}  # a marched run's fused steps, reused by the windows alike (one compilation)

    def save(snapshot: dict) -> None:
        if rank:
            return  # rank 0 alone writes
        history = snapshot["trainer"]["history"]
        snapshot = {**snapshot, "points": {k: v.cpu() for k, v in snapshot["points"].items()},
                    "generator": job.generator.get_state(), "pde": job.pde.name, "record": dict(job.record)}
        if shards is not None:
            snapshot["shards"] = shards
        if window[0] is not None:
            snapshot["window"] = window[0]
        run.checkpoint(sum(snapshot["trainer"]["steps"].values()), snapshot, history)

    progress = None
    if callback is None and rank == 0:
        callback = progress = make_progress(job.total_steps, job.trainer.log_every, logger=log)
    try:
        previous, k = None, first
        while True:
            loss = job.loss
            if marched is not None:
                loss, points, state = _enter_window(job, marched, k, points, state, previous)
                window[0] = k
            state = state or TrainState()
            points = cast(dict, points)  # drawn by _start, or by _enter_window for a marched run
            loss_fn, shards, should_stop = _data_parallel(job, loss, points, options.should_stop)
            backend = _backend(job, loss_fn, speed=options.speed, sharded=shards is not None, reuse=fused_steps)
            result = _trainer(job, k).fit(job.model, backend, points, state=state,
                                          callback=callback if rank == 0 else None, checkpoint=save,
                                          checkpoint_every=options.checkpoint_every, should_stop=should_stop,
                                          resampler=job.resampler)
            if marched is None:
                break
            previous, state = state, None
            if job.marching is None:
                k += 1
            else:  # a window the time budget ended is not trained again
                k = job.marching.after(marched, k, result.final_loss, shrink=result.budget_spent_at is None)
            if k >= marched.count or marched.edges[k] >= marched.edges[-1]:
                break
    finally:
        if progress is not None:
            progress.close()
        if marched is not None:
            marched.whole()
    if rank:
        metrics = {}  # rank 0 alone evaluates and writes
    else:
        metrics = _finish(job, run, result, plots=options.plots, metadata=metadata)
    if distributed.world_size() > 1:
        # Every rank waits for rank 0's evaluation: a rank that tore its process group down while
        # rank 0 still held it aborted the run ("terminate called without an active exception").
        torch.distributed.barrier()
    return metrics


def _trainer(job: Job, k: int) -> Trainer:
    """The trainer of window ``k`` of a marched run: the run's, its time budget (``max_seconds``) shared
    among the windows by their length, window ``k`` ending when the budget's share of the time up to its
    end is spent; the run's own otherwise.  Compiling is not counted (the first windows' shares are
    seconds, a compilation tens of them)."""
    budget = job.trainer.max_seconds
    if budget is None or not isinstance(job.model, Marched):
        return job.trainer
    edges = job.model.edges
    trainer = copy.copy(job.trainer)
    trainer.max_seconds = budget * (edges[k + 1] - edges[0]) / (edges[-1] - edges[0])
    return trainer


def _enter_window(job: Job, marched: Marched, k: int, points: dict | None, state: TrainState | None,
                  previous: TrainState | None):
    """``(loss, points, state)`` of window ``k`` of a marched run (:mod:`pinn.training.marching`).
    ``state``: the resumed state of this window (its points given), or ``None`` for a new window,
    whose points are drawn now, whose network starts from the previous window's weights and whose
    state carries on from ``previous``, the last window's."""
    loss = marching.window_loss(job.loss, marched, k)
    if job.resampler is not None:
        job.resampler.window = (marched.edges[k], marched.edges[k + 1])
    if state is not None and points is not None:
        marched.train_window(k, start=False)
        return marching.fit_data(loss, points), points, state
    marched.train_window(k, start=True)
    points = marching.window_points(job.sample_points(sets=loss.point_sets), job.pde, marched, k)
    carried = marching.next_window(previous) if previous is not None else TrainState()
    return marching.fit_data(loss, points), points, carried


def _backend(job: Job, loss_fn, *, speed: str, sharded: bool, reuse: dict | None = None) -> LossBackend:
    """The one way this run's stages get the loss and its gradient (:mod:`pinn.training.backends`):
    the fused step (``derivatives=fused``), a compiled gradient, or the eager loss (compiled with a
    guard, ``trainer.compile``); an ensemble's members summed (:class:`EnsembleLoss`).  ``reuse``: a
    marched run's fused steps for the windows after the first, alike to the compiled graph (by the
    window's span where causal weighting reads it)."""
    if isinstance(job.loss.engine, FusedEngine):
        if speed != "eager":
            raise ValueError("derivatives=fused compiles its training step already; set trainer.compile=false and "
                             "trainer.compile_gradient=false")
        model = job.model
        if not isinstance(model, Marched) or not model.active or reuse is None:
            return FusedStep(loss_fn, model)
        key = loss_fn._window if loss_fn.causal_chunks else None
        step = reuse.get(key)
        if step is not None:
            step.retarget(loss_fn, model)
            return step
        reuse[key] = step = FusedStep(loss_fn, model)
        return step
    if isinstance(job.model, Marched) and speed != "eager":
        raise ValueError("time marching trains eagerly (each window's start state is cached outside a compiled "
                         "graph); set trainer.compile=false and trainer.compile_gradient=false")
    if isinstance(job.model, Ensemble):
        if speed != "eager":
            raise ValueError("an ensemble trains its members at once, eagerly: set trainer.compile=false and "
                             "trainer.compile_gradient=false")
        return Eager(EnsembleLoss(loss_fn))
    if speed == "compile_gradient":
        if sharded:
            raise ValueError("trainer.compile_gradient does not run under torchrun yet; set it to false")
        return CompiledGradient(loss_fn, job.model)
    if speed == "compile":
        return Eager(GuardedCompile(loss_fn, what="the loss"), loss=loss_fn)
    return Eager(loss_fn)


def run_facts(job: Job, metadata: Mapping | None = None) -> dict:
    """What every ``metrics.json`` records of how it was made: the seed, threads, device, the
    versions of pinn, torch and Python, the evaluation grid, and the caller's ``metadata``."""
    return {
        "seed": int(job.seed),
        "threads": torch.get_num_threads(),
        "device": str(job.device),
        "versions": {"pinn": pinn_version, "torch": torch.__version__, "python": platform.python_version()},
        "resolution": list(job.resolution),
        **dict(metadata or {}),
    }


def _start(job: Job, run: RunDir, resume) -> tuple[dict | None, TrainState | None, int]:
    """The points to start from, the state to resume (``None``: a fresh run, whose directory is
    prepared) and the window to start in (a marched run's; 0 otherwise).  A fresh marched run's
    points are drawn window by window (``None`` here)."""
    ranks, rank = distributed.world_size(), distributed.rank()
    if rank == 0:
        run.start()  # what killed writes left behind
    if resume is True:
        resume = run.checkpoints.load_latest()
    if ranks > 1:
        _check_distributed(job)
    if not resume:
        run.refuse_unfinished()
        if rank == 0:
            run.replace_finished()
        log.info("training %s: %s of %d parameters, %s, %s engine, %s steps", job.pde.name, type(job.model).__name__,
                 sum(p.numel() for p in job.model.parameters()), str(job.dtype).replace("torch.", ""),
                 job.loss.engine.name, job.trainer.describe())
        if isinstance(job.model, Marched):
            return None, None, 0
        # Rank 0 draws from the job's generator, so one process is the one-rank case.
        return job.sample_points(distributed.shard_generator(job.seed, rank) if rank else None), None, 0
    _load_matching(job, resume)
    job.generator.set_state(resume["generator"])
    points = {k: v.to(device=job.device, dtype=job.dtype) for k, v in _resumed_points(resume, ranks, rank).items()}
    state = TrainState.from_dict(resume["trainer"])
    window = resume.get("window", 0)
    log.info("resuming %s at step %d (%s stage%s)", job.pde.name, state.step, state.stage,
             f", window {window}" if isinstance(job.model, Marched) else "")
    return points, state, window


def _data_parallel(job: Job, loss: PINNLoss, points: Mapping, should_stop):
    """``(loss_fn, shards, should_stop)``: with several ranks, the all-rank loss, every rank's points
    (for checkpoints) and a stop request any rank can make; with one, ``loss`` as it is."""
    ranks = distributed.world_size()
    if ranks == 1:
        return loss, None, should_stop
    shards = [None] * ranks
    torch.distributed.all_gather_object(shards, {k: v.cpu() for k, v in points.items()})
    device_ids = [job.device.index if job.device.index is not None else torch.cuda.current_device()] \
        if job.device.type == "cuda" else None
    loss_fn = distributed.GlobalLoss(loss, DistributedDataParallel(job.model, device_ids=device_ids))
    log.info("data-parallel over %d ranks: %s points per rank", ranks,
             ", ".join(f"{len(v)} {k}" for k, v in points.items() if k != "data_values"))
    if should_stop is not None:
        local = should_stop
        should_stop = lambda: distributed.any_rank(local(), job.device)  # noqa: E731
    return loss_fn, shards, should_stop


def _finish(job: Job, run: RunDir, result, *, plots: bool, metadata: Mapping | None = None) -> dict:
    """Evaluate (on the grid, or at the reference table's nodes) and write the outputs; ``metrics.json`` last."""
    run_dir = run.path
    start = time.perf_counter()
    ensemble = job.model if isinstance(job.model, Ensemble) else None
    ev = evaluate(job.model, job.pde, job.resolution, chunk_size=job.chunk_size)  # an ensemble: its mean
    members = {} if ensemble is None else member_outputs(ensemble, job.pde, job.resolution, run_dir,
                                                         chunk_size=job.chunk_size)
    # residual maps are the residuals of one network; an ensemble's mean has none of its own
    maps = evaluation_maps(ev, job.model, job.loss.pde, job.loss.engine) if job.residual_maps and not ensemble else {}
    eval_seconds = time.perf_counter() - start
    io.write_history(run_dir / io.HISTORY, result.history)
    u_pred, u_ref = ev.compared()  # gauge fields (a pressure) with their means removed, as compared
    io.write_predictions(run_dir / io.PREDICTIONS, ev.grid, u_pred, u_ref, fields=ev.fields, layout=ev.layout,
                         residuals=maps)
    io.save_checkpoint(run_dir / io.CHECKPOINT,
                       {"model": job.model.state_dict(), "optimizer": result.optimizer_state, "pde": job.pde.name,
                        **({"members": ensemble.size} if ensemble is not None else {}),
                        **({"config_sha256": metadata["config_sha256"]}
                           if metadata and "config_sha256" in metadata else {})})
    in_time = ev.error_in_time()
    if in_time is not None:  # how the error grows through time: a long-time run is judged by it
        write_error_in_time(run_dir / ERROR_IN_TIME, in_time)
    if plots and in_time is not None and len(in_time["t"]) > 1:
        plot_error_in_time(run_dir / "plots" / "error_in_time.png", in_time, title=job.pde.name,
                           windows=job.model.edges if isinstance(job.model, Marched) else ())
    if plots:
        plot_run(run_dir / "plots", ev.grid, u_pred, u_ref, result.history, fields=ev.fields, layout=ev.layout,
                 inside=job.pde.domain.inside,
                 residuals=maps, coefficients=list(getattr(job.model, "coefficients", {})),
                 title=run_title(job.pde.name, job.record, ev.metrics["rel_l2"])
                 + (f" (mean of {ensemble.size} members)" if ensemble is not None else ""))
    metrics = {
        **ev.metrics,
        **residual_metrics(maps),
        "pde": job.pde.name,
        "train_seconds": result.seconds,
        "compile_seconds": result.compile_seconds,
        "eval_seconds": eval_seconds,
        "adam_steps": result.adam_steps,
        "lbfgs_steps": result.lbfgs_steps,
        "steps": dict(result.steps),
        "quasi_newton": next((s.method for s in job.trainer.stages if isinstance(s, QuasiNewton)), None),
        "final_loss": result.final_loss,
        "failures": result.failures,
        **({"budget_spent_at": result.budget_spent_at} if result.budget_spent_at is not None else {}),
        **({"learned": job.model.values()} if isinstance(job.model, WithCoefficients) else {}),
        **members,
        **run_facts(job, metadata),
    }
    if ev.layout == "nodes":  # scored at a reference table's nodes, not on the grid of job.resolution
        metrics["resolution"] = "reference nodes"
    if not all(math.isfinite(v) for v in (metrics["rel_l2"], metrics["final_loss"])):
        log.warning("the run finished with a non-finite error or loss")
    run.finish(metrics)
    return metrics
