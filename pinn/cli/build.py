"""Turn a composed config into library objects, and run a training job.

``build`` and ``run_training`` take a plain ``DictConfig``: they are what the
``@hydra.main`` wrapper calls, and what tests call directly.
"""

from __future__ import annotations

import copy
import importlib
import logging
import math
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import torch
from omegaconf import DictConfig, OmegaConf
from torch.nn.parallel import DistributedDataParallel

from pinn.training import distributed
from pinn.io import files as io
from pinn.training.adaptive import RARD
from pinn.training.checkpoints import CheckpointDir
from pinn.physics.coefficients import WithCoefficients, make_learnable
from pinn.physics.constraints import HardConstraint
from pinn.diff.engines import get_engine
from pinn.io.evaluation import GridEvaluation, evaluate_grid
from pinn.training.losses import PINNLoss
from pinn.nets.mlp import MLP
from pinn.physics.observations import Observations, load_observations, sample_observations
from pinn.pdes.base import PDE
from pinn.io.plotting import plot_run
from pinn.physics.sampling import Sampler, get_sampler
from pinn.training.compiling import GuardedCompile
from pinn.training.loop import Trainer, TrainState
from pinn.training.stages import Adam, QuasiNewton
from pinn.training.weighting import GradNorm
from pinn.cli._watch import Monitor, StopFlag
from pinn.cli.targets import instantiate_checked, load_source

__all__ = ["Built", "build", "build_model", "build_pde", "load_source", "run_training", "sample_points", "DTYPES",
           "resolve_device"]

log = logging.getLogger("pinn")

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _choice(kind: str, value: str, choices) -> None:
    if value not in choices:
        raise ValueError(f"unknown {kind} {value!r}; choose one of: {', '.join(choices)} (e.g. {kind}={choices[0]})")


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` or ``auto`` (CUDA when available) as a ``torch.device``."""
    _choice("device", name, ["cpu", "cuda", "auto"])
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device=cuda but this torch has no CUDA device; use device=cpu or device=auto")
    return torch.device(name)


def build_pde(cfg: DictConfig, *, trusted: bool = True, sources: Sequence[ModuleType] = ()) -> PDE:
    """Instantiate ``cfg.pde``; a constructor's ``ValueError`` comes out unwrapped.

    Args:
        trusted: whether ``cfg`` is the user's own (training, resuming one's own run).  A
            config read from a run directory for evaluation is not: then ``pde.source`` is
            ignored and ``_target_`` may name only pinn's classes and those of ``sources``
            (see :mod:`pinn.cli.targets`).
        sources: modules the user loaded on the command line (``pinn-eval --source``).
    """
    node = OmegaConf.to_container(cfg.pde, resolve=True)
    if not isinstance(node, dict):
        raise ValueError(f"pde must be a mapping with a _target_, got {type(node).__name__}")
    node.pop("learn", None)  # not constructor arguments: see build()
    node.pop("learn_init", None)
    source = node.pop("source", None)
    sources = list(sources)
    if source and trusted:
        sources.append(load_source(source))
    return instantiate_checked(node, PDE, key="pde", trusted=trusted, sources=sources,
                               fix="if you trust its PDE file, pass it: pinn-eval RUN --source FILE.py")


@dataclass
class Built:
    """Everything a training run needs, built from one config."""

    pde: PDE
    model: MLP | HardConstraint | WithCoefficients
    sampler: Sampler
    loss: PINNLoss
    trainer: Trainer
    generator: torch.Generator
    dtype: torch.dtype
    device: torch.device
    resolution: list[int]
    points_per_set: dict[str, int]
    observations: Observations | None = None
    resampler: RARD | None = None


def build_model(
    cfg: DictConfig, pde: PDE, generator: torch.Generator
) -> tuple[MLP | HardConstraint | WithCoefficients, PDE]:
    """The network (with learnable coefficients, if any) and the PDE the loss should use.

    The returned PDE is ``pde`` itself, or a second instance whose learned coefficients
    are the model's parameters; ``pde`` stays the truth (reference, data, evaluation).
    """
    _choice("precision", cfg.precision, list(DTYPES))
    model = MLP(
        pde.domain.lower,
        pde.domain.upper,
        width=cfg.model.width,
        depth=cfg.model.depth,
        activation=cfg.activation,
        generator=generator,
        dtype=DTYPES[cfg.precision],
        periodic=pde.periodic_indices(),
        fourier_features=cfg.model.fourier_features,
        fourier_scale=cfg.model.fourier_scale,
        modified=cfg.model.modified,
    ).to(resolve_device(cfg.device))
    if cfg.derivatives == "taylor":
        for key in ("fourier_features", "modified", "hard_constraints"):
            if cfg.model[key]:
                raise ValueError(f"model.{key} needs derivatives=autograd or derivatives=func (the taylor engine "
                                 f"propagates through a plain MLP with affine inputs only)")
    if cfg.model.hard_constraints:
        model = HardConstraint(model, pde)
    if pde.periodic and cfg.derivatives == "taylor":
        raise ValueError(f"{pde.name} is periodic in {', '.join(pde.periodic)}: use derivatives=autograd or "
                         f"derivatives=func (the taylor engine needs affine network inputs)")
    learn = list(cfg.pde.get("learn") or [])
    if not learn:
        return model, pde
    if cfg.derivatives == "taylor":
        raise ValueError("learnable coefficients need derivatives=autograd or derivatives=func")
    trained_pde = copy.deepcopy(pde)  # a second instance, whose coefficients become parameters
    return make_learnable(trained_pde, model, learn, list(cfg.pde.get("learn_init") or [])), trained_pde


def _keyed(make, keys: dict[str, str]):
    """Call ``make()``; a ``ValueError`` that names a Python parameter is re-raised naming its config key."""
    try:
        return make()
    except ValueError as e:
        m = re.match(r"(unknown )?(\w+)", str(e))
        if m is None or m.group(2) not in keys:
            raise
        raise ValueError(f"{m.group(1) or ''}{keys[m.group(2)]}{str(e)[m.end():]}") from None


_ADAM_KEYS = {"steps": "trainer.adam_steps", "lr": "trainer.lr", "lr_decay": "trainer.lr_decay",
              "log_every": "trainer.log_every", "impl": "trainer.adam_impl"}
_QN_KEYS = {"steps": "trainer.lbfgs_steps", "lr": "trainer.lbfgs_lr", "history": "trainer.lbfgs_history",
            "chunk": "trainer.lbfgs_chunk", "float64": "trainer.lbfgs_float64", "method": "trainer.quasi_newton"}
_TRAINER_KEYS = {k: f"trainer.{k}" for k in ("max_failures", "failure_lr_factor", "nan_at")}
_GRADNORM_KEYS = {"every": "trainer.balance_every", "alpha": "trainer.balance_alpha"}


def build_trainer(t: DictConfig) -> Trainer:
    """The trainer that the ``trainer`` config node describes: Adam, then a quasi-Newton stage."""
    adam = _keyed(lambda: Adam(steps=t.adam_steps, lr=t.lr, lr_decay=t.lr_decay, log_every=t.log_every,
                               impl=t.adam_impl), _ADAM_KEYS)
    second = _keyed(lambda: QuasiNewton(steps=t.lbfgs_steps, method=t.quasi_newton, lr=t.lbfgs_lr,
                                        history=t.lbfgs_history, chunk=t.lbfgs_chunk, float64=t.lbfgs_float64),
                    _QN_KEYS)
    weighting = None
    if isinstance(t.balance_every, bool) or not isinstance(t.balance_every, int) or t.balance_every < 0:
        raise ValueError(f"trainer.balance_every must be an integer >= 0 (0: off), got {t.balance_every!r}")
    if t.balance_every:
        weighting = _keyed(lambda: GradNorm(every=t.balance_every, alpha=t.balance_alpha), _GRADNORM_KEYS)
    return _keyed(lambda: Trainer([adam, second], weighting=weighting, max_failures=t.max_failures,
                                  failure_lr_factor=t.failure_lr_factor, nan_at=list(t.nan_at)), _TRAINER_KEYS)


def build(cfg: DictConfig) -> Built:
    """Check every value of ``cfg`` and construct the objects; raises ``ValueError`` on bad input."""
    pde = build_pde(cfg)
    generator = torch.Generator().manual_seed(int(cfg.seed))
    model, trained_pde = build_model(cfg, pde, generator)
    learn = isinstance(model, WithCoefficients)
    dtype, device = DTYPES[cfg.precision], resolve_device(cfg.device)
    sampler = get_sampler(cfg.sampler)
    observations = _observations(cfg, pde, sampler, generator)
    if learn and observations is None:
        raise ValueError("learning pde coefficients needs observations: set data.path or data.samples")
    loss = PINNLoss(trained_pde, get_engine(cfg.derivatives), weights=OmegaConf.to_container(cfg.trainer.weights),
                    data=observations is not None, causal_chunks=cfg.loss.causal_chunks,
                    causal_eps=cfg.loss.causal_eps, exact=pde.hard_terms if cfg.model.hard_constraints else ())
    trainer = build_trainer(cfg.trainer)
    if cfg.checkpoint.keep < 1 or cfg.checkpoint.every < 0:
        raise ValueError(
            f"checkpoint.keep must be >= 1 and checkpoint.every >= 0, got {cfg.checkpoint.keep} and {cfg.checkpoint.every}"
        )
    points = {}
    for which in loss.point_sets:  # a set whose every term a hard constraint holds is not drawn
        n = cfg.points[which]
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"points.{which} must be a positive integer, got {n!r}")
        points[which] = n
    _choice("logger", cfg.logger, ["csv", "tensorboard"])
    if cfg.logger == "tensorboard":
        try:
            importlib.import_module("torch.utils.tensorboard")
        except ImportError:
            raise ValueError("logger=tensorboard needs the tensorboard package: pip install tensorboard "
                             "(or pip install -e '.[tensorboard]')") from None
    if cfg.logger_every < 0:
        raise ValueError(f"logger_every must be >= 0 (0: no in-training evaluation), got {cfg.logger_every}")
    resolution = list(cfg.evaluation.resolution or [201] * pde.domain.dim)
    pde.domain.grid(resolution)  # validates the resolution
    if cfg.evaluation.chunk_size < 1:
        raise ValueError(f"evaluation.chunk_size must be a positive integer, got {cfg.evaluation.chunk_size}")
    resampler = None
    if cfg.rar.every or cfg.rar.lbfgs_every:
        resampler = RARD(loss, sampler, every=cfg.rar.every, lbfgs_every=cfg.rar.lbfgs_every,
                         candidates=cfg.rar.candidates or 10 * points["interior"], k=cfg.rar.k, c=cfg.rar.c,
                         generator=generator)
        if resampler.candidates < points["interior"]:
            raise ValueError(f"rar.candidates ({resampler.candidates}) must be at least points.interior "
                             f"({points['interior']})")
    return Built(pde, model, sampler, loss, trainer, generator, dtype, device, resolution, points, observations,
                 resampler)


def _observations(cfg: DictConfig, pde: PDE, sampler: Sampler, generator: torch.Generator) -> Observations | None:
    if cfg.data.path and cfg.data.samples:
        raise ValueError("set either data.path or data.samples, not both")
    if cfg.data.path:
        return load_observations(cfg.data.path, pde.domain.coordinates)
    if cfg.data.samples:
        return sample_observations(pde, cfg.data.samples, noise=cfg.data.noise, sampler=sampler, generator=generator)
    if cfg.data.noise:
        raise ValueError("data.noise applies to sampled observations; set data.samples too")
    return None


def sample_points(b: Built, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Draw each point set of the domain from ``generator`` (default: the run's); add the observations."""
    generator = b.generator if generator is None else generator
    points = {
        which: b.pde.domain.sample(which, n, b.sampler, generator=generator).to(device=b.device, dtype=b.dtype)
        for which, n in b.points_per_set.items()
    }
    if b.observations is not None:
        points["data"] = b.observations.points.to(device=b.device, dtype=b.dtype)
        points["data_values"] = b.observations.values.to(device=b.device, dtype=b.dtype)
    return points


def _check_distributed(cfg: DictConfig) -> None:
    """Refuse the settings that data-parallel training does not support, naming the fix."""
    if cfg.derivatives != "autograd":
        raise ValueError(f"data-parallel training (torchrun) needs derivatives=autograd, got {cfg.derivatives}")
    if cfg.trainer.lbfgs_float64:
        raise ValueError("data-parallel training (torchrun) cannot switch precision mid-run; "
                         "drop trainer.lbfgs_float64 or use precision=float64")
    if cfg.trainer.balance_every:
        raise ValueError("data-parallel training (torchrun) does not support trainer.balance_every yet; set it to 0")
    if cfg.rar.every or cfg.rar.lbfgs_every:
        raise ValueError("data-parallel training (torchrun) does not support rar.every or rar.lbfgs_every yet "
                         "(each rank would redraw its own shard); set them to 0")


def _resumed_points(resume: dict, ranks: int, rank: int) -> dict:
    """This rank's points from a checkpoint, which must come from a run with as many ranks."""
    shards = resume.get("shards")
    saved = len(shards) if shards is not None else 1
    if saved != ranks:
        raise ValueError(f"the checkpoint was written by a run on {saved} rank(s); resume it with "
                         f"{'pinn-train' if saved == 1 else f'torchrun --nproc_per_node={saved} -m pinn.cli.train'} "
                         f"resume=RUN_DIR")
    return resume["points"] if shards is None else shards[rank]


def refuse_earlier_checkpoints(run_dir: str | Path) -> None:
    """Raise :class:`io.RunDirError` when ``run_dir`` holds an unfinished run's checkpoints.

    A fresh run there would prune its own checkpoints by step number and keep the other run's,
    and a resume after a crash would load the other run.  A finished run (``metrics.json``) is
    not refused: :func:`run_training` replaces it.
    """
    run_dir = Path(run_dir)
    ckpts = CheckpointDir(run_dir / "checkpoints")
    if ckpts.steps() and not (run_dir / io.METRICS).exists():
        raise io.RunDirError(
            f"{run_dir} holds the checkpoints of an unfinished run (steps {ckpts.steps()}): continue it "
            f"with pinn-train resume={run_dir}, or start this run in a new directory (hydra.run.dir=...), "
            f"or delete {ckpts.path} first")


def _replace_finished_run(run_dir: Path) -> None:
    """Remove a finished run's checkpoints, then its ``metrics.json`` (in that order, so that
    another rank's :func:`refuse_earlier_checkpoints` never sees checkpoints without it)."""
    if (run_dir / io.METRICS).exists():
        shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
        (run_dir / io.METRICS).unlink(missing_ok=True)


def _pde_record(cfg: DictConfig) -> dict:
    """The PDE's resolved config, as plain values: what a checkpoint is checked against on resume."""
    return OmegaConf.to_container(cfg.pde, resolve=True)


def _load_matching(b: Built, cfg: DictConfig, resume: dict) -> None:
    """Load the checkpoint's weights into ``b.model`` after checking that it belongs to this config."""
    saved = resume.get("pde")
    if saved != b.pde.name:
        raise ValueError(f"the checkpoint was written for the PDE {saved!r}, but the config names {b.pde.name!r}; "
                         f"resume it with its own run's config, or start a new run")
    record = resume.get("pde_config")
    if record is not None and record != _pde_record(cfg):
        changed = sorted(k for k in set(record) | set(_pde_record(cfg)) if record.get(k) != _pde_record(cfg).get(k))
        raise ValueError(f"the checkpoint was written with other PDE settings ({', '.join('pde.' + k for k in changed)}"
                         f" differ); resume it with its own run's config, or start a new run")
    ours = b.model.state_dict()
    theirs = resume.get("model")
    if not isinstance(theirs, dict) or set(theirs) != set(ours) or any(
            not isinstance(theirs[k], torch.Tensor) or theirs[k].shape != ours[k].shape for k in ours):
        raise ValueError("the checkpoint's network does not match the config's (model.* or the PDE's coordinates "
                         "differ); resume it with its own run's config, or start a new run")
    b.model.load_state_dict(theirs)


def run_training(cfg: DictConfig, run_dir: str | Path, *, resume: dict | None = None) -> dict:
    """Train, evaluate and write every output of one run into ``run_dir``; return the metrics.

    Args:
        cfg: the composed config.
        run_dir: the run directory.
        resume: a checkpoint (as loaded from ``RUN/checkpoints``) to continue from.

    Checkpoints go to ``run_dir/checkpoints`` every ``checkpoint.every`` steps, at the
    switch to L-BFGS and on SIGTERM/SIGINT (then :class:`TrainingInterrupted` is raised).
    ``metrics.json`` is written last, so its presence marks a finished run.
    """
    run_dir = Path(run_dir)
    if resume is None:
        refuse_earlier_checkpoints(run_dir)
        if distributed.rank() == 0:
            _replace_finished_run(run_dir)
    ckpts = CheckpointDir(run_dir / "checkpoints", keep=cfg.checkpoint.keep)
    b = build(cfg)
    ranks, rank = distributed.world_size(), distributed.rank()
    if ranks > 1:
        _check_distributed(cfg)
    every = cfg.checkpoint.every
    state = None
    if resume is None:
        # Rank 0 draws from the run's generator, so one process is the one-rank case.
        points = sample_points(b, distributed.shard_generator(cfg.seed, rank) if rank else None)
    else:
        if resume["trainer"].get("float64"):
            b.model.double()  # the checkpoint holds float64 weights: load them without rounding
        _load_matching(b, cfg, resume)
        b.generator.set_state(resume["generator"])
        points = _resumed_points(resume, ranks, rank)
        points = {k: v.to(device=b.device, dtype=b.dtype) for k, v in points.items()}
        state = TrainState.from_dict(resume["trainer"])
        log.info("resuming %s at step %d (%s stage)", b.pde.name, state.step, state.stage)
    loss_fn, shards = b.loss, None
    if ranks > 1:
        shards = [None] * ranks
        torch.distributed.all_gather_object(shards, {k: v.cpu() for k, v in points.items()})
        device_ids = [b.device.index if b.device.index is not None else torch.cuda.current_device()] \
            if b.device.type == "cuda" else None
        loss_fn = distributed.GlobalLoss(b.loss, DistributedDataParallel(b.model, device_ids=device_ids))
        log.info("data-parallel over %d ranks: %s points per rank", ranks,
                 ", ".join(f"{len(v)} {k}" for k, v in points.items() if k != "data_values"))

    def save(snapshot: dict) -> None:
        if rank:
            return  # rank 0 alone writes
        trainer_state = snapshot["trainer"]
        loss = trainer_state["history"][-1]["loss"] if trainer_state["history"] else math.nan
        step = trainer_state["adam_steps"] + trainer_state["lbfgs_steps"]
        snapshot = {**snapshot, "points": {k: v.cpu() for k, v in snapshot["points"].items()},
                    "generator": b.generator.get_state(), "pde": b.pde.name, "pde_config": _pde_record(cfg)}
        if shards is not None:
            snapshot["shards"] = shards
        ckpts.save(step, snapshot, loss=loss)
        io.write_history(run_dir / io.HISTORY, trainer_state["history"])

    if resume is None:
        log.info("training %s: %d x %d %s MLP, %s, %s engine, %s steps", b.pde.name, cfg.model.depth,
                 cfg.model.width, cfg.activation, cfg.precision, cfg.derivatives, b.trainer.describe())
    monitor = Monitor(cfg, b, run_dir, quiet=rank != 0)
    with StopFlag() as stop:
        should_stop = stop if ranks == 1 else (lambda: distributed.any_rank(stop(), b.device))
        try:
            if cfg.trainer.compile:
                loss_fn = GuardedCompile(loss_fn, what="the loss")
            result = b.trainer.fit(b.model, loss_fn, points, state=state, callback=monitor,
                                   checkpoint=save, checkpoint_every=every, should_stop=should_stop,
                                   resampler=b.resampler)
        finally:
            monitor.close()
    if rank:
        return {}  # rank 0 alone evaluates and writes
    start = time.perf_counter()
    ev: GridEvaluation = evaluate_grid(b.model, b.pde, b.resolution, chunk_size=cfg.evaluation.chunk_size)
    eval_seconds = time.perf_counter() - start

    io.write_history(run_dir / io.HISTORY, result.history)
    io.write_predictions(run_dir / io.PREDICTIONS, ev.grid, ev.u_pred, ev.u_ref)
    io.save_checkpoint(
        run_dir / io.CHECKPOINT,
        {"model": b.model.state_dict(), "optimizer": result.optimizer_state, "pde": b.pde.name},
    )
    if cfg.plots:
        plot_run(run_dir / "plots", ev.grid, ev.u_pred, ev.u_ref, result.history)
    metrics = {
        **ev.metrics,
        "pde": b.pde.name,
        "train_seconds": result.seconds,
        "eval_seconds": eval_seconds,
        "adam_steps": result.adam_steps,
        "lbfgs_steps": result.lbfgs_steps,
        "quasi_newton": cfg.trainer.quasi_newton,
        "final_loss": result.final_loss,
        "failures": result.failures,
        **({"learned": b.model.values()} if isinstance(b.model, WithCoefficients) else {}),
        "seed": int(cfg.seed),
        "resolution": b.resolution,
    }
    if not all(math.isfinite(v) for v in (metrics["rel_l2"], metrics["final_loss"])):
        log.warning("the run finished with a non-finite error or loss")
    io.write_metrics(run_dir, metrics)
    return metrics
