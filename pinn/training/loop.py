"""The training loop: a list of stages (Adam, then a quasi-Newton method, by default) run in order.

The loop is resumable: everything it needs besides the model lives in a
:class:`~pinn.training.state.TrainState` of plain values and tensors, which checkpoints
save with the model.  A run resumed from a checkpoint replays exactly the steps the
uninterrupted run would have taken, so on the CPU it ends bit-identical.

A non-finite loss or gradient rolls the run back to the last good state, lowers the
learning rate and carries on, up to ``max_failures`` times (see :mod:`pinn.training.session`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import torch
from torch import nn

from pinn.core.checks import count, positive
from pinn.training.session import Session
from pinn.training.stages import Adam, QuasiNewton, Stage
from pinn.training.state import BudgetSpent, DivergenceError, TrainingInterrupted, TrainResult, TrainState
from pinn.training.weighting import LossWeighting

__all__ = ["Trainer", "TrainResult", "TrainState", "TrainingInterrupted", "DivergenceError"]

class Resampler(Protocol):
    """Redraws collocation points: ``resampler(model, points) -> points``, every ``every`` first-order
    steps and every ``lbfgs_every`` quasi-Newton iterations."""

    every: int
    lbfgs_every: int

    def __call__(self, model: nn.Module, points: Mapping[str, torch.Tensor]) -> dict: ...


class Trainer:
    """Runs ``stages`` in order on one model, loss and point set.

    Args:
        stages: the stages (default: 500 Adam steps, then 2000 L-BFGS iterations).
        weighting: sets the loss weights during first-order stages (e.g.
            :class:`~pinn.training.weighting.GradNorm`); ``None`` keeps them fixed.  The
            weights are part of the checkpointed state.
        max_failures: roll-backs allowed after a non-finite loss or gradient before
            training stops with :class:`DivergenceError`.
        failure_lr_factor: each roll-back multiplies the current stage's learning rate by this.
        nan_at: fault injection for tests: at each of these (global) steps, once, the loss is
            made NaN as if training had diverged there (in a quasi-Newton stage, at the
            first evaluation of the chunk of iterations that holds the step).
        max_seconds: a training time budget: when it is spent, training ends normally after the
            step in progress (``TrainResult.budget_spent_at``); ``None``: none.  The time a
            compiled backend spends compiling is not counted (``TrainResult.compile_seconds``).
    """

    def __init__(self, stages: Sequence[Stage] | None = None, *, weighting: LossWeighting | None = None,
                 max_failures: int = 3, failure_lr_factor: float = 0.5, nan_at: Sequence[int] = (),
                 max_seconds: float | None = None):
        self.stages = tuple(stages) if stages is not None else (Adam(), QuasiNewton())
        if not self.stages:
            raise ValueError("Trainer needs at least one stage, e.g. Trainer([Adam(steps=1000), QuasiNewton()])")
        bad = [s for s in self.stages if not isinstance(s, Stage)]
        if bad:
            raise TypeError(f"stages must be pinn.training.stages.Stage objects, got {type(bad[0]).__name__}")
        if weighting is not None and not isinstance(weighting, LossWeighting):
            raise TypeError(f"weighting must be a LossWeighting, got {type(weighting).__name__}")
        self.weighting = weighting
        self.max_failures = count("max_failures", max_failures)
        self.failure_lr_factor = positive("failure_lr_factor", failure_lr_factor)
        if self.failure_lr_factor >= 1:
            raise ValueError(f"failure_lr_factor must be < 1, got {failure_lr_factor}")
        self.nan_at = tuple(count("nan_at", s) for s in nan_at)
        if max_seconds is not None and (isinstance(max_seconds, bool) or not isinstance(max_seconds, (int, float))
                                        or not 0 < max_seconds < float("inf")):
            raise ValueError(f"max_seconds must be a positive number of seconds (or null: no budget), got "
                             f"{max_seconds!r}")
        self.max_seconds = None if max_seconds is None else float(max_seconds)

    @property
    def total_steps(self) -> int:
        """The steps all stages take together (for progress bars)."""
        return sum(s.steps for s in self.stages)

    @property
    def log_every(self) -> int:
        """The first stage's steps between history rows (100 if no stage says)."""
        return next((s.log_every for s in self.stages if hasattr(s, "log_every")), 100)

    def describe(self) -> str:
        return " + ".join(s.describe() for s in self.stages) or "no stages"

    def fit(self, model: nn.Module, loss_fn, points: Mapping[str, torch.Tensor], *,
            state: TrainState | None = None, callback: Callable[[dict], None] | None = None,
            checkpoint: Callable[[dict], None] | None = None, checkpoint_every: int = 0,
            should_stop: Callable[[], bool] | None = None, resampler: Resampler | None = None) -> TrainResult:
        """Train ``model`` in place on the collocation ``points``.

        Args:
            state: where to resume from (with ``model`` already holding the matching weights);
                ``None`` starts afresh.
            callback: called with each new history row.
            checkpoint: called with ``{"model", "trainer", "points"}`` snapshots to save, every
                ``checkpoint_every`` steps (0: never), at each switch of stage and on a stop.
            should_stop: polled after every step; when it returns true a snapshot is offered
                and :class:`TrainingInterrupted` is raised.
            resampler: redraws the points every ``resampler.every`` first-order steps and
                every ``resampler.lbfgs_every`` quasi-Newton iterations (e.g.
                :class:`pinn.training.resampling.RARD`); ``None``: the points stay fixed.
        """
        if resampler is not None and not (count("resampler.every", resampler.every)
                                          or count("resampler.lbfgs_every", getattr(resampler, "lbfgs_every", 0))):
            raise ValueError("the resampler redraws nowhere: give it every > 0 or lbfgs_every > 0")
        s = state or TrainState()
        for stage in self.stages:
            stage.prepare()  # one-time costs before the session's clock starts
        session = Session(model, loss_fn, points, s, policy=(self.max_failures, self.failure_lr_factor, self.nan_at),
                          weighting=self.weighting, callback=callback, checkpoint=checkpoint,
                          checkpoint_every=count("checkpoint_every", checkpoint_every), should_stop=should_stop,
                          resampler=resampler, max_seconds=self.max_seconds)
        if s.loss_weights is not None:  # resumed after reweighting: continue with those weights
            loss_fn.weights.update(s.loss_weights)
        last = None
        budget_spent_at = None
        for index, stage in enumerate(self.stages):
            if index < s.stage_index:
                continue
            s.stage = stage.kind
            if stage.steps:
                try:
                    last = stage.run(session)
                except BudgetSpent as spent:  # the time budget ends the run here, as if its stages were done
                    last = s.optimizer
                    budget_spent_at = spent.step
                    break
            s.stage_index, s.stage_step, s.optimizer, s.scheduler = index + 1, 0, None, None
            s.best_loss, s.stalled = float("inf"), 0
            following = self.stages[index + 1:]
            if checkpoint is not None and stage.steps and following and following[0].steps:
                s.stage = following[0].kind
                checkpoint(session.snapshot())  # right after the switch
        s.stage = "done"
        final, _ = loss_fn(session.model, session.points)
        s.seconds, s.compile_seconds = session.elapsed(), session.compile_seconds()
        return TrainResult(history=s.history, adam_steps=s.adam_steps, lbfgs_steps=s.lbfgs_steps, steps=dict(s.steps),
                           final_loss=float(final.detach()), seconds=s.seconds, optimizer_state=last or {},
                           failures=s.failures, budget_spent_at=budget_spent_at,
                           compile_seconds=s.compile_seconds)
