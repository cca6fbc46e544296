"""The Adam stage: first-order steps with an exponentially decaying learning rate."""

from __future__ import annotations

from typing import Any

import torch

from pinn.core.checks import count, positive, positive_int
from pinn.training.stages.base import Stage

__all__ = ["ADAM_IMPLS", "Adam", "adam"]

#: Adam implementations, as keyword arguments of ``torch.optim.Adam``.
ADAM_IMPLS: dict[str, dict[str, Any]] = {"foreach": {"foreach": True}, "fused": {"fused": True},
                                         "for-loop": {"foreach": False}}


def adam(params, *, lr: float, impl: str = "foreach") -> torch.optim.Adam:
    """``torch.optim.Adam`` with the implementation ``impl`` (see :data:`ADAM_IMPLS`)."""
    if impl not in ADAM_IMPLS:
        raise ValueError(f"unknown Adam implementation {impl!r}; choose one of: {', '.join(ADAM_IMPLS)}")
    return torch.optim.Adam(params, lr=lr, **ADAM_IMPLS[impl])


class Adam(Stage):
    """``steps`` Adam steps.

    Args:
        steps: number of steps (>= 0).
        lr: the learning rate.
        lr_decay: the learning rate is multiplied by this every 1000 steps.
        log_every: steps between history rows (and in-memory roll-back points).
        impl: ``"foreach"`` (one multi-tensor kernel per update; the default), ``"fused"``
            (a single fused kernel) or ``"for-loop"`` (one kernel per tensor): the same
            arithmetic up to rounding; ``scripts/bench_step.py`` times them.

    The session's loss weighting, if any, is asked for new weights before each step's
    backward pass, and its resampler redraws the points every ``resampler.every`` steps.
    """

    kind = "adam"

    def __init__(self, *, steps: int = 500, lr: float = 1e-3, lr_decay: float = 1.0, log_every: int = 100,
                 impl: str = "foreach"):
        self.steps = count("steps", steps)
        self.lr = positive("lr", lr)
        self.lr_decay = positive("lr_decay", lr_decay)
        self.log_every = positive_int("log_every", log_every)
        if impl not in ADAM_IMPLS:
            raise ValueError(f"unknown impl {impl!r}; choose one of: {', '.join(ADAM_IMPLS)}")
        self.impl = impl

    def describe(self) -> str:
        return f"{self.steps} Adam"

    def prepare(self) -> None:
        """The first ``torch.optim.Adam`` of a process imports dynamo (1.7 s here): build a
        throwaway one before the clock starts, so that the training time is the training's."""
        adam([torch.zeros(1, requires_grad=True)], lr=self.lr, impl=self.impl)

    def run(self, session) -> dict:
        """The one Adam loop, whatever takes the steps (see :mod:`pinn.training.backends`).

        A step whose loss or gradient is not finite changes nothing but a flag.  The flag is read
        after every step, or, where the backend defers checks (the fused step, which keeps the host
        off its hot path), where the state is about to be used: a history row, a checkpoint, a
        resampling, a stop.  A bad flag rolls back to the last good state and lowers the learning
        rate; with the fault replayed deterministically, both end alike."""
        s = session.state
        opt = adam(session.params, lr=self.lr, impl=self.impl)
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=self.lr_decay ** (1 / 1000))
        if s.optimizer is not None:
            opt.load_state_dict(s.optimizer)
            sched.load_state_dict(s.scheduler)
        defer = session.backend.defers_checks
        fine = _Flag()  # every step since the last check was finite
        good = session.good(opt, sched)
        first = s.step + 1
        while s.stage_step < self.steps:
            before = s.step
            loss, parts, ok = session.adam_update(opt, before + 1)
            fine.add(ok)
            if not defer and not fine.read():  # checked at once: nothing of this step was applied
                good, first = self._roll_back(session, opt, sched, good, fine, f"at Adam step {before + 1}")
                continue
            sched.step()
            session.lr_now = opt.param_groups[0]["lr"]
            session.advance(self.kind)
            every = getattr(session.resampler, "every", 0)
            last = s.stage_step == self.steps
            row = s.stage_step % self.log_every == 0 or last
            resample = session.resample_due(every, s.stage_step - 1, s.stage_step, last=last)
            stop = session.should_stop()
            if defer and (row or resample or stop or session.checkpoint_due(before)) and not fine.read():
                where = f"in Adam steps {first}-{s.step}" if first < s.step else f"at Adam step {s.step}"
                good, first = self._roll_back(session, opt, sched, good, fine, where)
                continue
            if row:
                session.record(self.kind, loss.detach(), {k: v.detach() for k, v in parts.items()})
                good = session.good(opt, sched)
                first = s.step + 1
            session.maybe_resample(every, s.stage_step - 1, s.stage_step, last=last)
            if session.after_step(opt, sched, before=before, stop=stop):
                good = session.good(opt, sched)  # where a resume from this checkpoint starts
                first = s.step + 1
        s.optimizer, s.scheduler = opt.state_dict(), sched.state_dict()
        return s.optimizer

    @staticmethod
    def _roll_back(session, opt, sched, good: dict, fine, where: str) -> tuple[dict, int]:
        """Restore the last ``good`` state, lower the learning rate and count the failure; return the
        new good state and the first step after it."""
        session.restore(good, opt, sched)
        for group in opt.param_groups:
            group["lr"] *= session.failure_lr_factor
        session.fail(where)
        fine.reset()
        return session.good(opt, sched), session.state.step + 1


class _Flag:
    """Whether every step since the last reset was finite: a ``bool``, or a device flag kept on the
    device (combined in place, read only by :meth:`read`) for a backend that defers its checks."""

    def __init__(self):
        self.value: bool | torch.Tensor = True

    def add(self, ok) -> None:
        if isinstance(ok, torch.Tensor):
            if isinstance(self.value, torch.Tensor):
                torch.logical_and(self.value, ok, out=self.value)
            else:
                self.value = ok.clone() if self.value else torch.zeros_like(ok)
        elif isinstance(self.value, torch.Tensor):
            self.value = self.value & ok
        else:
            self.value = self.value and ok

    def read(self) -> bool:
        return bool(self.value)

    def reset(self) -> None:
        self.value = True
