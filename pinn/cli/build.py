"""Turn a composed config into library objects (a :class:`~pinn.training.job.Job`), and run it.

``build`` and ``run_training`` take a plain ``DictConfig``: they are what the ``@hydra.main``
wrapper calls, and what tests call directly.  Each config group is a ``_target_`` node,
constructed by :func:`pinn.cli.targets.instantiate_checked` with the objects it needs from the
rest of the job (the PDE's box for a network, the loss for a resampler, ...).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import logging
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from pinn.cli._watch import Monitor, StopFlag
from pinn.cli.build_model import (DTYPES, _mapping, _names_list, _node, _required, _trust, build_engine,
                                  build_model, build_pde, resolve_device)
from pinn.cli.targets import instantiate_checked, load_source, resolve_class
from pinn.core.checks import count, number, positive_int
from pinn.nets.adaptive_activations import slope_recovery
from pinn.pdes.base import PDE
from pinn.physics.coefficients import WithCoefficients
from pinn.physics.observations import Observations, load_observations, observed_field, read_points, sample_observations
from pinn.physics.sampling import Sampler
from pinn.training import distributed
from pinn.training.ensemble import Ensemble
from pinn.training.job import Job
from pinn.training.engine_choice import AutoEngine, choose_engine
from pinn.training.loop import Trainer
from pinn.training.marching import Windows, carried_terms
from pinn.training.loss_extras import CausalWeighting, DataMisfit, GradientEnhanced, LossExtra, PointClip, SlopeRecovery
from pinn.training.losses import PINNLoss
from pinn.training.memory import check_fits
from pinn.training.options import RunOptions
from pinn.training.resampling import RARD
from pinn.training.run import refuse_earlier_checkpoints, train
from pinn.training.stages import Stage
from pinn.training.threads import resolve_threads
from pinn.training.weighting import LossWeighting

__all__ = ["build", "build_engine", "build_model", "build_pde", "build_trainer", "load_source", "run_training",
           "refuse_earlier_checkpoints", "DTYPES", "resolve_device"]

log = logging.getLogger("pinn")


def _fused_refusals(cfg: DictConfig) -> list[str]:
    """What ``cfg`` asks for that the fused step does not train (``derivatives=auto``)."""
    asks = {"an ensemble": _ensemble_size(cfg) > 1,
            "torchrun": distributed.world_size() > 1,
            "trainer.compile": bool(cfg.trainer.compile) or bool(cfg.trainer.compile_gradient)}
    return [what for what, asked in asks.items() if asked]


def _loss_extras(cfg: DictConfig, observations: Observations | None) -> list[LossExtra]:
    """The loss's options (:mod:`pinn.training.loss_extras`) that ``cfg.loss`` and the data ask for."""
    loss = cfg.loss
    extras: list[LossExtra] = []
    if observations is not None:
        extras.append(DataMisfit(observations.field))
    if loss.causal_chunks:
        extras.append(CausalWeighting(loss.causal_chunks, loss.causal_eps))
    else:
        CausalWeighting(1, loss.causal_eps)  # checked even where unused: a typo is named at once
        count("loss.causal_chunks", loss.causal_chunks)
    for key, kind in (("gradient_weight", GradientEnhanced), ("slope_recovery", SlopeRecovery),
                      ("point_clip", PointClip)):
        value = loss[key]
        number(f"loss.{key}", value, low=0, hint="(0: off)")
        if value:
            extras.append(kind(value))
    return extras


def build_trainer(cfg: DictConfig, *, trusted: bool = True) -> Trainer:
    """The stages of ``cfg.stages``, in order, the loss weighting of ``cfg.weighting`` and the loop's options."""
    stages = _node(cfg.stages)
    if not stages:
        raise ValueError("stages is empty; choose a schedule, e.g. stages=adam_lbfgs")
    built = [instantiate_checked(node if isinstance(node, dict) else {"_target_": node}, Stage,
                                 key=f"stages.{name}", **_trust(trusted, ())) for name, node in stages.items()]
    weighting = None
    if cfg.weighting is not None:
        weighting = instantiate_checked(_required(cfg.weighting, "weighting"), LossWeighting, key="weighting",
                                        **_trust(trusted, ()))
    t = cfg.trainer
    try:
        return Trainer(built, weighting=weighting, max_failures=t.max_failures, failure_lr_factor=t.failure_lr_factor,
                       nan_at=list(t.nan_at), max_seconds=t.get("max_seconds"))
    except ValueError as e:
        raise ValueError(f"trainer.{e}") from None


def _logger_class(cfg: DictConfig) -> type | None:
    """The class of ``cfg.logger`` if it names one (checked, not constructed: it writes files)."""
    node = _node(cfg.logger)
    if not node:
        return None
    cls = resolve_class(node.get("_target_"), object, key="logger._target_", trusted=True)
    every = node.get("every", 0)
    count("logger.every", every, hint="(0: no evaluation during training)")
    check = getattr(cls, "check", None)  # a logger may say, before it writes anything, what it lacks
    if callable(check):
        check()
    return cls


#: The magnitudes a config number may have (0 aside): beyond them a run overflows or underflows in
#: float32 and float64 alike, somewhere after training has started.
MAGNITUDES = (1e-100, 1e100)


def check_magnitudes(node, key: str = "") -> None:
    """Refuse a number in the config whose magnitude lies outside :data:`MAGNITUDES` (``pde.c=1e308``,
    ``pde.nu=5e-324``), or that is not finite where a count is expected, naming the key."""
    if isinstance(node, dict):
        for k, v in node.items():
            check_magnitudes(v, f"{key}.{k}" if key else str(k))
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            check_magnitudes(v, f"{key}[{i}]")
    elif isinstance(node, (int, float)) and not isinstance(node, bool) and node == node and abs(node) != float("inf"):
        low, high = MAGNITUDES
        if abs(node) > high or 0 < abs(node) < low:
            raise ValueError(f"{key}={node!r} is outside the range pinn computes with (magnitudes from {low:g} to "
                             f"{high:g}, or 0); rescale the problem")


def build(cfg: DictConfig) -> Job:
    """Check every value of ``cfg`` and construct the objects; raises ``ValueError`` on bad input.

    With ``ensemble.members=K > 1`` the job's model is an :class:`~pinn.training.ensemble.Ensemble`
    of the K networks of the single runs with seeds ``seed, ..., seed + K - 1``, each member's
    points drawn from its own run's generator: member ``k`` trains as that run would.
    """
    check_magnitudes(OmegaConf.to_container(cfg, resolve=True))
    resolve_threads(cfg.get("threads", "auto"))  # checks the setting
    size = _ensemble_size(cfg)
    first = _build_one(cfg)
    if size == 1:
        check_fits(first)  # refuse, before training, what cannot fit in memory
        return first
    _check_ensemble(cfg)
    check_fits(first, members=size)
    others = []
    for k in range(1, size):
        member = copy.deepcopy(cfg)
        member.seed = int(cfg.seed) + k
        others.append(_build_one(member))
    members = [first, *others]
    return dataclasses.replace(first, model=Ensemble([j.model for j in members]),
                               member_generators=[j.generator for j in members])


def _build_one(cfg: DictConfig) -> Job:
    """The job of ``cfg`` with one network."""
    pde = build_pde(cfg)
    generator = torch.Generator().manual_seed(int(cfg.seed))
    engine = build_engine(cfg)
    model, trained_pde = build_model(cfg, pde, generator, engine)
    sampler = instantiate_checked(_required(cfg.sampler, "sampler"), Sampler, key="sampler", trusted=True)
    observations = _observations(cfg, pde, sampler, generator)
    if isinstance(model, WithCoefficients) and observations is None:
        raise ValueError("learning pde coefficients needs observations: set data.path or data.samples")
    loss = PINNLoss(trained_pde, engine, weights=_mapping(cfg.loss.weights), extras=_loss_extras(cfg, observations),
                    exact=pde.hard_terms if cfg.hard_constraints else ())
    if cfg.loss.slope_recovery:
        slope_recovery(model)  # raises, naming the fix, if the model has no adaptive activation
    trainer = build_trainer(cfg)
    if cfg.checkpoint.keep < 1 or cfg.checkpoint.every < 0:
        raise ValueError(
            f"checkpoint.keep must be >= 1 and checkpoint.every >= 0, got {cfg.checkpoint.keep} and "
            f"{cfg.checkpoint.every}"
        )
    points = {}
    sets = list(loss.point_sets)  # a set whose every term a hard constraint holds is not drawn ...
    if cfg.get("marching") is not None:  # ... unless a later window meets one of its terms softly
        sets += [t.points for t in pde.terms() if t.name in carried_terms(pde) and t.points not in sets]
    for which in dict.fromkeys(sets):
        # A named part of a shape's boundary gets its share of points.boundary, by measure.
        n = cfg.points[which] if ":" not in which else max(1, round(cfg.points.boundary * pde.domain.share(which)))
        positive_int(f"points.{which}", n)
        points[which] = n
    if isinstance(engine, AutoEngine):
        loss, why = choose_engine(engine, loss, model, stages=trainer.stages, points=sum(points.values()),
                                  refusals=_fused_refusals(cfg))
        log.info("derivatives=auto chose %s", why)
    _logger_class(cfg)
    resolution = list(cfg.evaluation.resolution or pde.domain.default_resolution())
    positive_int("evaluation.chunk_size", cfg.evaluation.chunk_size)
    resampler = None
    if cfg.resampler is not None:
        resampler = instantiate_checked(_required(cfg.resampler, "resampler"), RARD, key="resampler", trusted=True,
                                        context={"loss": loss, "sampler": sampler, "generator": generator})
        try:
            resampler.check(points.get("interior", 0))
        except ValueError as e:
            raise ValueError(f"resampler.{e} (points.interior)") from None
    marching = None
    if cfg.get("marching") is not None:  # the model was built marched (build_model); this plans its windows
        marching = instantiate_checked(_required(cfg.marching, "marching"), Windows, key="marching", trusted=True)
    job = Job(pde=pde, model=model, trainer=trainer, points=points, generator=generator, loss=loss, sampler=sampler,
              observations=observations, resampler=resampler, resolution=resolution,
              chunk_size=cfg.evaluation.chunk_size, residual_maps=cfg.evaluation.residual_maps, seed=int(cfg.seed),
              record=_required(cfg.pde, "pde"), marching=marching)
    return job


#: The most observations a run samples from its reference (each costs a reference evaluation and
#: a network pass per step).
MAX_OBSERVATIONS = 10_000_000

#: The most ensemble members one run trains (each is a full network and point set in memory).
MAX_MEMBERS = 1024


def _ensemble_size(cfg: DictConfig) -> int:
    node = cfg.get("ensemble")  # absent from configs saved before ensembles existed
    members = 1 if node is None else node.get("members", 1)
    if isinstance(members, bool) or not isinstance(members, int) or not 1 <= members <= MAX_MEMBERS:
        raise ValueError(f"ensemble.members must be an integer from 1 to {MAX_MEMBERS}, got {members!r}")
    return members


def _check_ensemble(cfg: DictConfig) -> None:
    """Refuse, from the config, what an ensemble (``ensemble.members > 1``) cannot do; the job
    itself refuses the rest (:meth:`pinn.training.job.Job._check_ensemble`)."""
    if _names_list(cfg.pde.get("learn"), "pde.learn", "pde.learn=[nu]"):
        raise ValueError("an ensemble does not learn pde coefficients yet; set pde.learn=null")
    if distributed.world_size() > 1:
        raise ValueError("an ensemble already trains its members at once; run it without torchrun")
    if cfg.get("marching") is not None:
        raise ValueError("an ensemble does not march in time yet; set marching=null or ensemble.members=1")
    for key in ("trainer.compile", "trainer.compile_gradient"):
        if OmegaConf.select(cfg, key, default=False):
            raise ValueError(f"an ensemble does not support {key} yet; set {key}=false")


def _observations(cfg: DictConfig, pde: PDE, sampler: Sampler, generator: torch.Generator) -> Observations | None:
    if cfg.data.path and cfg.data.samples:
        raise ValueError("set either data.path or data.samples, not both")
    field = observed_field(pde, cfg.data.get("field"))
    at = cfg.data.get("at")
    if at and cfg.data.path:
        raise ValueError("data.at places sampled observations; data.path reads observed values: set one of them")
    if cfg.data.path:
        obs = load_observations(cfg.data.path, pde.domain.coordinates, field=field)
        _check_inside(obs, pde, cfg.data.path)
        return obs
    if at:
        points = read_points(at, pde.domain.coordinates)
        if cfg.data.samples and cfg.data.samples != len(points):
            raise ValueError(f"data.samples={cfg.data.samples} but data.at holds {len(points)} points; "
                             f"drop data.samples (the table sets the number)")
        obs = sample_observations(pde, len(points), noise=cfg.data.noise, noise_std=cfg.data.noise_std,
                                  sampler=sampler, generator=generator, field=field, points=points)
        _check_inside(obs, pde, at)
        return obs
    if cfg.data.samples:
        samples = cfg.data.samples
        if isinstance(samples, int) and not isinstance(samples, bool) and samples > MAX_OBSERVATIONS:
            raise ValueError(f"data.samples={samples:,} is more than the {MAX_OBSERVATIONS:,} observations a run may "
                             f"sample; use fewer")
        return sample_observations(pde, cfg.data.samples, noise=cfg.data.noise, noise_std=cfg.data.noise_std,
                                   sampler=sampler, generator=generator, field=field)
    if cfg.data.noise or cfg.data.noise_std:
        raise ValueError("data.noise and data.noise_std apply to sampled observations; set data.samples or data.at")
    return None


def config_hash(cfg: DictConfig) -> str:
    """SHA-256 of the resolved config as sorted JSON, without what does not change the trained
    network (``resume``, ``pde.source``, how it is evaluated, drawn, logged, threaded and
    checkpointed: a resume may change those): equal for two runs that train the same thing."""
    plain = _mapping(cfg)
    for key in ("resume", "hydra", "evaluation", "plots", "threads", "debug", "logger", "checkpoint"):
        plain.pop(key, None)
    if isinstance(plain.get("pde"), dict):
        plain["pde"].pop("source", None)
    if isinstance(plain.get("trainer"), dict) and not plain["trainer"].get("compile_gradient"):
        plain["trainer"].pop("compile_gradient", None)  # off: the hash of runs made before the option existed
    if plain.get("geometry") is None:
        plain.pop("geometry", None)  # the PDE's own domain: the hash of runs made before the group existed
    if isinstance(plain.get("trainer"), dict):
        plain["trainer"].pop("max_seconds", None)  # how long, like checkpointing: a resume may change it
    return hashlib.sha256(json.dumps(plain, sort_keys=True, default=str).encode()).hexdigest()


def _check_inside(obs: Observations, pde: PDE, path) -> None:
    """Refuse observations outside the PDE's box (by more than round-off): a wrong unit or column
    order, which would otherwise be fitted silently."""
    lo, hi = pde.domain.lower.double(), pde.domain.upper.double()
    slack = 1e-9 * (hi - lo)
    outside = ((obs.points < lo - slack) | (obs.points > hi + slack)).any(dim=1)
    if bool(outside.any()):
        k = int(outside.nonzero()[0, 0])
        row = dict(zip(pde.domain.coordinates, obs.points[k].tolist()))
        raise ValueError(f"{path}: {int(outside.sum())} of {len(outside)} observations lie outside the domain "
                         f"{dict(zip(pde.domain.coordinates, zip(lo.tolist(), hi.tolist())))}, e.g. row {k}: {row}; "
                         f"check the coordinates' order and units")


def run_training(cfg: DictConfig, run_dir: str | Path, *, resume: dict | None = None, job: Job | None = None) -> dict:
    """Build the job of ``cfg`` (unless ``job``, already built from it, is given) and :func:`pinn.train`
    it into ``run_dir``; return the metrics.

    Checkpoints go to ``run_dir/checkpoints`` every ``checkpoint.every`` steps, at each switch
    of stage and on SIGTERM/SIGINT (then :class:`~pinn.training.state.TrainingInterrupted` is
    raised).  ``resume``: a checkpoint (as loaded from ``RUN/checkpoints``) to continue from.
    """
    run_dir = Path(run_dir)
    threads, why = resolve_threads(cfg.get("threads", "auto"))
    torch.set_num_threads(threads)
    log.info("using %d thread(s) (%s)", threads, why)
    if job is None:
        job = build(cfg)
    monitor = Monitor(cfg, job, run_dir, quiet=distributed.rank() != 0)
    with StopFlag() as stop:
        try:
            options = RunOptions.from_legacy(
                resume=resume, checkpoint_every=cfg.checkpoint.every, keep=cfg.checkpoint.keep, plots=cfg.plots,
                compile=cfg.trainer.compile, compile_gradient=cfg.trainer.get("compile_gradient", False),
                callback=monitor, should_stop=stop, metadata={"config_sha256": config_hash(cfg)})
            metrics = train(job, run_dir, options)
            monitor.finish(cfg, metrics)
            return metrics
        finally:
            monitor.close()
