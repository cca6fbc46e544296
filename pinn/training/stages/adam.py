"""The Adam stage: first-order steps with an exponentially decaying learning rate."""

from __future__ import annotations

from typing import Any

import torch

from pinn.training.stages.base import Stage, count, positive, positive_int

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
        s = session.state
        opt = adam(session.params, lr=self.lr, impl=self.impl)
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=self.lr_decay ** (1 / 1000))
        if s.optimizer is not None:
            opt.load_state_dict(s.optimizer)
            sched.load_state_dict(s.scheduler)
        if session.fused_adam is not None:
            self._run_fused(session, opt, sched)
            s.optimizer, s.scheduler = opt.state_dict(), sched.state_dict()
            return s.optimizer
        good = session.good(opt, sched)
        compiled = session.compiled_gradient  # the loss and its gradient in one graph, if asked for
        while s.stage_step < self.steps:
            before = s.step
            opt.zero_grad(set_to_none=True)
            loss, parts = session.loss(s.step + 1, compute=compiled)
            finite = bool(torch.isfinite(loss))
            if finite and compiled is None:
                session.reweight(parts)
                loss.backward()
            if not finite or not session.finite_grads():
                session.restore(good, opt, sched)
                for group in opt.param_groups:
                    group["lr"] *= session.failure_lr_factor
                session.fail(f"at Adam step {before + 1}")
                good = session.good(opt, sched)
                continue
            opt.step()
            sched.step()
            session.lr_now = opt.param_groups[0]["lr"]
            s.stage_step += 1
            s.adam_steps += 1
            if s.stage_step % self.log_every == 0 or s.stage_step == self.steps:
                session.record(self.kind, loss.detach(), {k: v.detach() for k, v in parts.items()})
                good = session.good(opt, sched)
            every = getattr(session.resampler, "every", 0)
            session.maybe_resample(every, s.stage_step - 1, s.stage_step, last=s.stage_step == self.steps)
            if session.after_step(opt, sched, before=before):
                good = session.good(opt, sched)  # where a resume from this checkpoint starts
        s.optimizer, s.scheduler = opt.state_dict(), sched.state_dict()
        return s.optimizer

    def _run_fused(self, session, opt, sched) -> None:
        """The loop of the fused step (``derivatives=fused``): loss, gradient and update in one graph.

        A non-finite step changes nothing but a flag; the flag is read (the only host
        synchronisation) where the state is about to be used: a history row, a checkpoint, a
        resampling, a stop.  A bad flag then rolls back to the last good state, as the eager loop
        does at the bad step itself; with the fault replayed deterministically, both end alike."""
        s = session.state
        step_fn = session.fused_adam
        p0 = session.params[0]
        lr = torch.zeros((), dtype=torch.float64, device=p0.device)
        poison = torch.ones((), dtype=p0.dtype, device=p0.device)
        nan = torch.full((), float("nan"), dtype=p0.dtype, device=p0.device)
        fine = torch.ones((), dtype=torch.bool, device=p0.device)  # every step since the last check was finite
        good = session.good(opt, sched)
        first = s.step + 1
        while s.stage_step < self.steps:
            before = s.step
            lr.fill_(opt.param_groups[0]["lr"])
            loss, parts, ok = step_fn(opt, session.points, lr=lr,
                                      poison=nan if session.fault_due(before + 1) else poison)
            torch.logical_and(fine, ok, out=fine)
            sched.step()
            session.lr_now = opt.param_groups[0]["lr"]
            s.stage_step += 1
            s.adam_steps += 1
            every = getattr(session.resampler, "every", 0)
            last = s.stage_step == self.steps
            row = s.stage_step % self.log_every == 0 or last
            resample = session.resample_due(every, s.stage_step - 1, s.stage_step, last=last)
            stop = session.should_stop()
            if (row or resample or stop or session.checkpoint_due(before)) and not bool(fine):
                where = f"in Adam steps {first}-{s.step}" if first < s.step else f"at Adam step {s.step}"
                session.restore(good, opt, sched)
                for group in opt.param_groups:
                    group["lr"] *= session.failure_lr_factor
                session.fail(where)
                fine.fill_(True)
                good = session.good(opt, sched)
                first = s.step + 1
                continue
            if row:
                session.record(self.kind, loss.detach(), {k: v.detach() for k, v in parts.items()})
                good = session.good(opt, sched)
                first = s.step + 1
            session.maybe_resample(every, s.stage_step - 1, s.stage_step, last=last)
            if session.after_step(opt, sched, before=before, stop=stop):
                good = session.good(opt, sched)
                first = s.step + 1
