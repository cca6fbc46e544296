"""One call of :meth:`~pinn.training.loop.Trainer.fit`: the moving parts that every stage uses.

A :class:`Session` holds the model, the loss, the current points and the
:class:`~pinn.training.state.TrainState`, and gives the stages what they share: the loss
with injected faults, history rows, checkpoints and stop requests, and roll-back to the
last good state after a non-finite loss.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn

from pinn.training.backends import LossBackend, as_backend, finite_grads
from pinn.training.state import BudgetSpent, DivergenceError, TrainingInterrupted, TrainState
from pinn.training.weighting import WeightingContext

__all__ = ["Session"]

log = logging.getLogger(__name__)

#: The state fields a roll-back restores.
_ROLLED_BACK = ("stage_step", "steps", "best_loss", "stalled", "history", "loss_weights")


class Session:
    """The state of one training call, shared by its stages.

    Args:
        model: the network, trained in place.
        loss_fn: a :class:`~pinn.training.backends.LossBackend`, or a loss ``loss_fn(model, points) ->
            (loss, parts)`` (then trained eagerly); its plain loss may carry ``weights``.  With a loss
            weighting, the steps that give it its turn take the eager path (it reads each term's
            graph): all of them, unless the backend :attr:`~pinn.training.backends.LossBackend.takes_weighting`.
        points: the collocation points by set.
        state: where training stands.
        policy: ``(max_failures, failure_lr_factor, nan_at)`` of the trainer.
        weighting: the loss weighting, or ``None``.
        callback: called with each new history row.
        checkpoint: called with snapshots to save; ``checkpoint_every``: steps between them.
        should_stop: polled after every step; a true answer saves and raises
            :class:`~pinn.training.state.TrainingInterrupted`.
        resampler: redraws the points (see :meth:`maybe_resample`).
    """

    def __init__(self, model: nn.Module, loss_fn, points: Mapping[str, torch.Tensor], state: TrainState, *,
                 policy: tuple[int, float, Sequence[int]], weighting=None, callback=None,
                 checkpoint: Callable[[dict], None] | None = None, checkpoint_every: int = 0,
                 should_stop: Callable[[], bool] | None = None, resampler=None,
                 max_seconds: float | None = None):
        backend = as_backend(loss_fn)
        self.backend: LossBackend = backend.eager() if weighting is not None and not backend.takes_weighting \
            else backend
        self.loss_fn = self.backend  # called like the loss: its value, eagerly
        self.model, self.points, self.state = model, dict(points), state
        self.max_failures, self.failure_lr_factor, self.nan_at = policy
        self.weighting, self.callback, self.resampler = weighting, callback, resampler
        self._tick = getattr(callback, "tick", None)  # told of every step (a progress bar), if it asks
        self.checkpoint, self.every, self.should_stop = checkpoint, checkpoint_every, should_stop or (lambda: False)
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.start = time.perf_counter() - state.seconds
        self.max_seconds = max_seconds
        self._compiled_before = state.compile_seconds - self.backend.compile_seconds
        self.lr_now = 0.0
        self.base_weights = dict(self.backend.weights)
        if self.backend.static_points and resampler is not None:
            self.points = {k: v.clone() for k, v in self.points.items()}  # buffers of its own, refilled in place

    # -- the loss and the history --------------------------------------------------------

    def loss(self, first: int, last: int | None = None):
        """The loss's value; NaN if an injected fault in steps ``first..last`` has not fired yet."""
        loss, parts = self.backend(self.model, self.points)
        if self.fault_due(first, last):
            loss = loss * float("nan")
        return loss, parts

    def value_and_grad(self, first: int, last: int | None = None, *, reweight: bool = False):
        """``(loss, parts)`` with the parameters' gradients set where the loss is finite (clear them
        first); NaN if an injected fault in steps ``first..last`` fires.  ``reweight``: give the loss
        weighting its turn before the backward pass (first-order stages)."""
        return self.backend.value_and_grad(self.model, self.points, fault=self.fault_due(first, last),
                                           before_backward=self._reweighting() if reweight else None)

    def adam_update(self, opt, step: int):
        """One step of ``opt`` as the backend takes it (in one graph, for the fused one): ``(loss, parts,
        ok)``, ``ok`` false where nothing changed (a device flag with ``backend.defers_checks``)."""
        return self.backend.adam_update(opt, self.model, self.points, fault=self.fault_due(step),
                                        before_backward=self._reweighting())

    def _reweighting(self):
        """:meth:`reweight`, where a loss weighting is due at this step: the backend then takes the step
        eagerly (it is the eager one, or one that :attr:`~pinn.training.backends.LossBackend.takes_weighting`)."""
        w = self.weighting
        return self.reweight if w is not None and w.due(self.state.stage_step) else None

    def advance(self, kind: str, n: int = 1) -> None:
        """Count ``n`` steps of the current stage, under its ``kind`` (``state.steps[kind]``)."""
        self.state.stage_step += n
        self.state.steps[kind] = self.state.steps.get(kind, 0) + n

    def fault_due(self, first: int, last: int | None = None) -> bool:
        """Whether an injected fault (``nan_at``) in steps ``first..last`` fires now (it is then marked fired)."""
        due = [s for s in self.nan_at if first <= s <= (last or first) and s not in self.state.faults_fired]
        if due:
            self.state.faults_fired.append(due[0])
        return bool(due)

    def record(self, stage: str, loss: torch.Tensor, parts: Mapping[str, torch.Tensor]) -> None:
        row = {"step": self.state.step, "stage": stage, "loss": float(loss)}
        row.update({name: float(v) for name, v in parts.items()})
        row["lr"] = self.lr_now
        row["seconds"] = time.perf_counter() - self.start
        self.state.history.append(row)
        if self.callback is not None:
            self.callback(row)

    def reweight(self, parts: Mapping[str, torch.Tensor]) -> None:
        """Let the loss weighting, if one is due at this stage step, set new term weights.

        First-order stages call this before the backward pass; the weights take effect from
        the next step's loss and are checkpointed.
        """
        w = self.weighting
        if w is None or not w.due(self.state.stage_step):
            return
        loss = self.backend.loss
        extra = {"context": WeightingContext(self.model, loss, self.points)} if w.needs_context else {}
        new = w.update(loss.weights, parts, self.params, **extra)
        if new:
            loss.weights.update(new)
            self.state.loss_weights = dict(new)

    def exact_gradients(self):
        """A context in which the loss's gradients are the loss's own (no gradient clipping), for
        stages whose line searches compare gradients with loss values."""
        return self.backend.exact_gradients()

    def finite_grads(self) -> bool:
        return finite_grads(self.params)

    # -- checkpoints, stop requests, resampling --------------------------------------------

    def elapsed(self) -> float:
        """Training wall time so far, over all sessions of a resumed run."""
        return time.perf_counter() - self.start

    def compile_seconds(self) -> float:
        """The part of :meth:`elapsed` spent compiling (the backend's), over all sessions of the run."""
        return self._compiled_before + self.backend.compile_seconds

    def training_seconds(self) -> float:
        """:meth:`elapsed` less :meth:`compile_seconds`: what a time budget counts."""
        return self.elapsed() - self.compile_seconds()

    def snapshot(self) -> dict:
        self.state.seconds, self.state.compile_seconds = self.elapsed(), self.compile_seconds()
        return {"model": self.model.state_dict(), "trainer": self.state.to_dict(), "points": dict(self.points)}

    def checkpoint_due(self, before: int) -> bool:
        """Whether :meth:`after_step` would write a checkpoint for a step from ``before`` (stop requests aside)."""
        return self.checkpoint is not None and bool(self.every) and self.state.step // self.every > before // self.every

    def after_step(self, opt, sched=None, *, before: int, stop: bool | None = None) -> bool:
        """Offer a checkpoint when one is due (every ``checkpoint_every`` steps), and stop when asked.

        Returns whether a checkpoint was written: the stage then takes this state as its last good
        one, as a run resumed from that checkpoint does, so that a later roll-back goes to the same
        step whether or not the run was interrupted in between."""
        if self._tick is not None:
            self._tick(self.state.step)
        if stop is None:  # else the caller polled it already
            stop = self.should_stop()
        spent = self.max_seconds is not None and self.training_seconds() >= self.max_seconds
        save = (self.checkpoint is not None and stop) or self.checkpoint_due(before)
        if spent:
            self.state.optimizer = opt.state_dict()
            self.state.scheduler = sched.state_dict() if sched is not None else None
            raise BudgetSpent(self.state.step)  # the trainer ends the run normally, and evaluates it
        if not save and not stop:
            return False
        self.state.optimizer = opt.state_dict()
        self.state.scheduler = sched.state_dict() if sched is not None else None
        if save and self.checkpoint is not None:
            self.checkpoint(self.snapshot())
        if stop:
            raise TrainingInterrupted(self.state.step)
        return save

    def maybe_resample(self, every: int, before: int, after: int, *, last: bool) -> bool:
        """Redraw the points if a multiple of ``every`` lies in ``(before, after]`` and the stage goes on."""
        if not self.resample_due(every, before, after, last=last):
            return False
        new = self.resampler(self.model, self.points)
        if self.backend.static_points:  # refilled in place: fixed addresses (CUDA graphs)
            for k, v in new.items():
                old = self.points.get(k)
                if old is not None and old.shape == v.shape and old.dtype == v.dtype and old.device == v.device:
                    old.copy_(v)
                else:
                    self.points[k] = v
        else:
            self.points = new
        return True

    def resample_due(self, every: int, before: int, after: int, *, last: bool) -> bool:
        """Whether :meth:`maybe_resample` redraws the points now."""
        return not (self.resampler is None or not every or last or before // every == after // every)

    # -- roll-back after a non-finite loss ------------------------------------------------

    def good(self, opt, sched=None) -> dict:
        """A copy of everything a roll-back restores."""
        return {
            "model": copy.deepcopy(self.model.state_dict()),
            "optimizer": copy.deepcopy(opt.state_dict()),
            "scheduler": copy.deepcopy(sched.state_dict()) if sched is not None else None,
            "state": {k: copy.deepcopy(getattr(self.state, k)) for k in _ROLLED_BACK},
        }

    def restore(self, good: dict, opt, sched=None) -> None:
        with torch.no_grad():
            self.model.load_state_dict(good["model"])
        opt.load_state_dict(copy.deepcopy(good["optimizer"]))
        if sched is not None:
            sched.load_state_dict(good["scheduler"])
        for k, v in good["state"].items():
            setattr(self.state, k, copy.deepcopy(v))
        if self.base_weights:
            self.backend.weights.update(self.state.loss_weights or self.base_weights)

    def fail(self, where: str) -> None:
        """Count a roll-back; raise :class:`DivergenceError` past ``max_failures``."""
        self.state.failures += 1
        if self.state.failures > self.max_failures:
            raise DivergenceError(
                f"the loss or gradient became non-finite {self.state.failures} times (last {where}); lower the "
                f"learning rate, raise max_failures (trainer.max_failures) or use float64 (precision=float64)")
        log.warning("non-finite loss or gradient %s; rolled back to the last good state and lowered the learning "
                    "rate by %g (failure %d of at most %d)", where, self.failure_lr_factor, self.state.failures,
                    self.max_failures)
