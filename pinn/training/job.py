"""A training job as plain objects: what :func:`pinn.train` runs.

The CLI builds one from a composed config (:func:`pinn.cli.build.build`); a notebook builds
one by hand (README, "From Python").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from pinn.core.checks import positive_int
from pinn.evaluation.grid import check_grid_size
from pinn.nets.marched import Marched
from pinn.pdes.base import PDE
from pinn.physics.observations import Observations
from pinn.physics.sampling import LatinHypercubeSampler, Sampler
from pinn.training.ensemble import ENGINES, Ensemble
from pinn.training.fused_step import fused_step_support
from pinn.training.loop import Trainer
from pinn.training.marching import Windows
from pinn.training.loss_extras import DataMisfit
from pinn.training.losses import PINNLoss
from pinn.training.stages import QuasiNewton

__all__ = ["Job", "MAX_POINTS"]

#: The most points one set may hold (a set of 10^12 would fail in the allocator, unnamed).
MAX_POINTS = 100_000_000


@dataclass
class Job:
    """Everything one training run needs.

    Attributes:
        pde: the PDE: its reference solution, observations and evaluation are the truth.
        model: the network, trained in place.
        trainer: the stages and the loop's options.
        points: collocation points per set, e.g. ``{"interior": 5000, "initial": 256}``; the
            sets the loss reads (``loss.point_sets``).
        generator: the random source of the points (and of resampling); seed it.
        loss: the loss; ``None``: :class:`~pinn.training.losses.PINNLoss` of ``pde`` with the
            autograd engine.  With learned coefficients it is built on a second PDE instance.
        sampler: how points are drawn (default Latin hypercube).
        observations: data fitted by the loss's ``data`` term, if any.
        resampler: redraws the points during training (e.g. RAR-D), if any.
        resolution: the evaluation grid, points per coordinate (``None``: 201 each in 1-D and 2-D,
            fewer beyond; see :meth:`pinn.physics.domains.Domain.default_resolution`).
        chunk_size: points per evaluation batch.
        residual_maps: also map ``|residual|`` of each equation over the evaluation's points
            (``predictions.npz``, ``plots/residuals.png``, ``residual_rms_*`` in ``metrics.json``).
        seed: recorded in ``metrics.json``; with data parallelism, rank ``r > 0`` draws its
            shard from a generator seeded by ``(seed, r)``.
        record: plain values a checkpoint must match to be resumed (the CLI gives the PDE's
            config); ``{}``: only the PDE's name and the network's shapes are checked.
        marching: with a :class:`~pinn.nets.marched.Marched` model, how its windows are planned
            (:class:`~pinn.training.marching.Windows`; ``None``: as built, one after another).
        member_generators: with an :class:`~pinn.training.ensemble.Ensemble` model, member ``k``'s
            points are drawn from the ``k``-th (the CLI gives member ``k`` the generator of the
            single run with seed ``seed + k``, after its weights were drawn); ``()``: K generators
            seeded from ``generator``.
    """

    pde: PDE
    model: nn.Module
    trainer: Trainer
    points: Mapping[str, int]
    generator: torch.Generator
    loss: PINNLoss = None  # type: ignore[assignment]  # None: PINNLoss of the pde, made in __post_init__
    sampler: Sampler = field(default_factory=LatinHypercubeSampler)
    observations: Observations | None = None
    resampler: Any = None
    resolution: Sequence[int] = None  # type: ignore[assignment]  # None: the PDE's default, set in __post_init__
    chunk_size: int = 65536
    residual_maps: bool = True
    seed: int = 0
    record: Mapping = field(default_factory=dict)
    member_generators: Sequence[torch.Generator] = ()
    marching: Windows | None = None

    def __post_init__(self):
        self._check_types()
        if self.loss is None:
            from pinn.diff.autograd import AutogradEngine

            self.loss = PINNLoss(self.pde, AutogradEngine(), extras=[DataMisfit(self.observations.field)]
                                 if self.observations is not None else [])
        missing = sorted(set(self.loss.point_sets) - set(self.points))
        if missing:
            raise ValueError(f"points has no size for the sets {missing} that the loss reads; e.g. "
                             f"points={{{', '.join(repr(s) + ': 1000' for s in self.loss.point_sets)}}}")
        for which, n in self.points.items():
            positive_int(f"points[{which!r}]", n)
            if n > MAX_POINTS:
                raise ValueError(f"points[{which!r}] = {n:,} is more than the {MAX_POINTS:,} points one set may hold; "
                                 f"use fewer, or train on them in turns with a resampler")
        self.resolution = list(self.resolution or self.pde.domain.default_resolution())
        self.pde.domain.grid(self.resolution)  # validates it
        check_grid_size(self.resolution, key="evaluation.resolution")
        positive_int("chunk_size", self.chunk_size)
        if isinstance(self.model, Ensemble):
            self._check_ensemble(self.model)
        if isinstance(self.model, Marched):
            self._check_marched()
        elif self.marching is not None:
            raise ValueError("Job.marching plans the windows of a marched model; build the model with "
                             "Windows.model(net, pde)")
        # a term reading what it does not declare: named now (the CLI's up-front check builds a job
        # too), not after training has started
        # one network stands for an ensemble's members and a marched run's windows (what the terms read)
        one = self.model.member(0) if isinstance(self.model, Ensemble) else \
            self.model.windows[0] if isinstance(self.model, Marched) else self.model
        self.loss.check_reads(one)

    def _check_ensemble(self, model: Ensemble) -> None:
        """Refuse what an ensemble cannot train with, naming the setting to change."""
        if self.loss.engine.name not in ENGINES:
            raise ValueError(f"an ensemble needs derivatives=taylor or derivatives=func (vmap over the members), got "
                             f"derivatives={self.loss.engine.name}")
        if any(isinstance(s, QuasiNewton) and s.steps for s in self.trainer.stages):
            raise ValueError("an ensemble trains with first-order stages only (a quasi-Newton stage's line search "
                             "and dot products would couple the members); set stages.quasi_newton.steps=0")
        for what, value, fix in (("resampling", self.resampler, "resampler=null"),
                                 ("loss weighting", self.trainer.weighting, "weighting=null")):
            if value is not None:
                raise ValueError(f"an ensemble does not support {what} yet; set {fix}")
        if self.member_generators and len(self.member_generators) != model.size:
            raise ValueError(f"member_generators holds {len(self.member_generators)} generators for an ensemble of "
                             f"{model.size} members; give one per member, or none")
        if not all(isinstance(g, torch.Generator) for g in self.member_generators):
            raise TypeError("member_generators must be torch.Generator objects, one per member")

    def _check_marched(self) -> None:
        """Refuse what time marching (:mod:`pinn.training.marching`) cannot train with, naming the fix."""
        if self.loss.engine.name == "fused":
            why = fused_step_support(self.loss, self.model)
            if why is not None:
                raise ValueError(f"{why}; set derivatives=autograd")

    def _check_types(self) -> None:
        """Name the field that got the wrong kind of object, before anything uses it."""
        expected = {"pde": PDE, "model": nn.Module, "trainer": Trainer, "generator": torch.Generator,
                    "sampler": Sampler}
        for name, kind in expected.items():
            value = getattr(self, name)
            if not isinstance(value, kind):
                raise TypeError(f"Job.{name} must be a {kind.__module__}.{kind.__qualname__}, got {value!r:.60}"
                                + (" (build the object: e.g. pinn.physics.sampling.LatinHypercubeSampler())"
                                   if isinstance(value, str) else ""))
        if not isinstance(self.points, Mapping):
            raise TypeError(f"Job.points must be a mapping of point sets to sizes, e.g. {{'interior': 2000}}, got "
                            f"{self.points!r:.60}")
        if self.loss is not None and not isinstance(self.loss, PINNLoss):
            raise TypeError(f"Job.loss must be a pinn.training.losses.PINNLoss or None, got {self.loss!r:.60}")
        if self.observations is not None and not isinstance(self.observations, Observations):
            raise TypeError(f"Job.observations must be Observations or None, got {self.observations!r:.60}")
        if not any(True for _ in self.model.parameters()):
            raise ValueError("Job.model has no parameters to train")

    @property
    def total_steps(self) -> int:
        """The steps of the whole run: the trainer's, once per window of a marched run (progress bars)."""
        return self.trainer.total_steps * (self.model.count if isinstance(self.model, Marched) else 1)

    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def sample_points(self, generator: torch.Generator | None = None, *,
                      sets: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
        """Draw each point set the loss reads (or ``sets``) from ``generator`` (default: the job's); add
        the observations.

        An ensemble's points are one set per member, stacked: ``(K, N, d)``, member ``k``'s drawn
        from its own generator (:attr:`member_generators`); the observations are shared.
        """
        generator = self.generator if generator is None else generator
        if isinstance(self.model, Ensemble):
            generators = list(self.member_generators) or [
                torch.Generator().manual_seed(int(torch.randint(2**62, (), generator=generator)))
                for _ in range(self.model.size)]
            members = [self._draw(g, sets) for g in generators]
            return {name: torch.stack([m[name] for m in members]) for name in members[0]}
        return self._draw(generator, sets)

    def _draw(self, generator: torch.Generator, sets: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
        points = {which: self.pde.domain.sample(which, self.points[which], self.sampler, generator=generator)
                  .to(device=self.device, dtype=self.dtype) for which in (sets or self.loss.point_sets)}
        if self.observations is not None:
            points["data"] = self.observations.points.to(device=self.device, dtype=self.dtype)
            points["data_values"] = self.observations.values.to(device=self.device, dtype=self.dtype)
        return points
