"""The quasi-Newton stage: L-BFGS, BFGS or self-scaled BFGS with a strong-Wolfe line search."""

from __future__ import annotations

import logging
import math

import torch

from pinn.core.checks import count, positive, positive_int
from pinn.training.dense_bfgs import METHOD_NAMES, QUASI_NEWTON_METHODS, DenseQuasiNewton
from pinn.training.lbfgs import LBFGS
from pinn.training.stages.base import Stage

__all__ = ["QuasiNewton", "METHODS"]

log = logging.getLogger(__name__)

#: The methods, by name: L-BFGS on flat buffers (:class:`pinn.training.lbfgs.LBFGS`) or a dense inverse Hessian.
METHODS = ("lbfgs", *QUASI_NEWTON_METHODS)
#: Logged chunks in a row without a new lowest loss that end the stage (the line search is at round-off).
STALL_CHUNKS = 3


class QuasiNewton(Stage):
    """``steps`` quasi-Newton iterations, in chunks of ``chunk`` (one history row each).

    Args:
        steps: number of iterations (>= 0).
        method: ``"lbfgs"`` (:class:`pinn.training.lbfgs.LBFGS`: ``torch.optim.LBFGS``'s iterates
            with its history on flat buffers), or a dense inverse Hessian
            (:class:`pinn.training.dense_bfgs.DenseQuasiNewton`): ``"bfgs"`` or ``"ssbfgs"``
            (self-scaled BFGS).  The dense methods hold ``n^2`` numbers for ``n`` parameters
            (87 MB in float64 for a 4x32 network) and are at their best in float64.
        lr: the step scale (1 with a line search).
        history: L-BFGS memory size (not used by the dense methods).
        chunk: iterations per optimizer call and history row.  The stage ends early after
            three chunks in a row that do not lower the loss.
        float64: switch the model and the points to float64 for this stage and after.

    The session's resampler redraws the points at the first chunk boundary at or past every
    multiple of ``resampler.lbfgs_every`` iterations.
    """

    evaluations_per_step = 1.25  # with the line search's trials

    kind = "lbfgs"

    def __init__(self, *, steps: int = 2000, method: str = "lbfgs", lr: float = 1.0, history: int = 50,
                 chunk: int = 25, float64: bool = False):
        self.steps = count("steps", steps)
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; choose one of: {', '.join(METHODS)}")
        self.method = method
        self.lr = positive("lr", lr)
        self.history = positive_int("history", history)
        self.chunk = positive_int("chunk", chunk)
        if not isinstance(float64, bool):
            raise ValueError(f"float64 must be true or false, got {float64!r}")
        self.float64 = float64

    def describe(self) -> str:
        return f"{self.steps} {METHOD_NAMES[self.method]}"

    def _optimizer(self, params):
        if self.method == "lbfgs":
            return LBFGS(params, lr=self.lr, max_iter=self.chunk, history_size=self.history,
                         line_search_fn="strong_wolfe", tolerance_grad=0.0, tolerance_change=0.0)
        return DenseQuasiNewton(params, method=self.method, lr=self.lr, max_iter=self.chunk)

    def _finished(self, s) -> bool:
        return s.stage_step >= self.steps or s.stalled >= STALL_CHUNKS

    def run(self, session) -> dict:
        # The line search needs the true gradient of the loss it evaluates: gradient clipping
        # (loss.point_clip) is for first-order stages only.
        with session.exact_gradients():
            return self._run(session)

    def _run(self, session) -> dict:
        s = session.state
        if self.float64 or s.float64:
            session.model.double()  # in place: the parameter objects stay the same
            session.points = {k: v.double() for k, v in session.points.items()}
            s.float64 = True
        opt = self._optimizer(session.params)
        if s.optimizer is not None:
            opt.load_state_dict(s.optimizer)
        bad = {"hit": False}

        def closure():
            opt.zero_grad(set_to_none=True)
            loss, _ = session.value_and_grad(s.step + 1, s.step + opt.param_groups[0]["max_iter"])
            if not torch.isfinite(loss):
                bad["hit"] = True
                return loss.detach()
            if not session.finite_grads():
                bad["hit"] = True
            return loss

        while not self._finished(s):
            before = s.step
            good = session.good(opt)
            chunk = min(self.chunk, self.steps - s.stage_step)
            opt.param_groups[0]["max_iter"] = chunk
            opt.param_groups[0]["max_eval"] = chunk * 5 // 4
            n_before = opt.state[session.params[0]].get("n_iter", 0)
            bad["hit"] = False
            session.lr_now = opt.param_groups[0]["lr"]
            opt.step(closure)
            taken = opt.state[session.params[0]].get("n_iter", 0) - n_before
            # The closure's last call may have been a rejected line-search trial: evaluate
            # the accepted parameters once more so the history is exact (about 2% extra).
            loss, parts = session.loss_fn(session.model, session.points)
            loss = loss.detach()
            finite_params = all(bool(torch.isfinite(p).all()) for p in session.params)
            if bad["hit"] or not torch.isfinite(loss) or not finite_params:
                session.restore(good, opt)
                opt.param_groups[0]["lr"] *= session.failure_lr_factor
                session.fail(f"in {METHOD_NAMES[self.method]} after iteration {s.stage_step}")
                continue
            session.advance(self.kind, taken)
            session.record(self.method, loss, {k: v.detach() for k, v in parts.items()})  # the method names the row
            self._track_stall(s, float(loss), taken)
            every = getattr(session.resampler, "lbfgs_every", 0)
            if session.maybe_resample(every, s.stage_step - taken, s.stage_step, last=self._finished(s)):
                s.best_loss, s.stalled = math.inf, 0  # a new point set: its losses are not comparable
            session.after_step(opt, before=before)
        s.optimizer = opt.state_dict()
        return s.optimizer

    def _track_stall(self, s, loss: float, taken: int) -> None:
        """A chunk that ends without lowering the best loss means the line search is stuck at
        round-off; :data:`STALL_CHUNKS` in a row end the stage instead of burning evaluations."""
        s.stalled = s.stalled + 1 if loss >= s.best_loss else 0
        s.best_loss = min(s.best_loss, loss)
        if taken == 0 or s.stalled >= STALL_CHUNKS:
            s.stalled = STALL_CHUNKS
            log.info("%s stalled at loss %.3e after %d iterations; stopping (precision=float64 may go further)",
                     METHOD_NAMES[self.method], s.best_loss, s.stage_step)
