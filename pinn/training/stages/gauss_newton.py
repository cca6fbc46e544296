"""The Gauss-Newton stage: Levenberg-Marquardt steps from per-sample gradients
(:mod:`pinn.training.gauss_newton`)."""

from __future__ import annotations

import logging
import math

import torch

from pinn.core.checks import positive, positive_int
from pinn.training.gauss_newton import LevenbergMarquardt, residual_jacobian, residual_vector
from pinn.training.loss_extras import CausalWeighting, GradientEnhanced, SlopeRecovery
from pinn.training.stages.base import Stage, count

__all__ = ["GaussNewton"]

log = logging.getLogger(__name__)


class GaussNewton(Stage):
    """``steps`` Levenberg-Marquardt iterations, each from a fresh Jacobian of every residual point.

    Args:
        steps: number of iterations (>= 0): one Jacobian and one dense solve each, plus a loss
            evaluation per trial step.
        damping: the starting damping, relative to the largest diagonal entry of ``J^T J``.
        log_every: iterations between history rows.
        chunk_size: points per vmapped chunk of per-sample gradients (bounds memory).
        float64: switch the model and the points to float64 for this stage and after (the dense
            solve needs it to reach errors below about 1e-4).
        patience: rejected trials in a row (each a tenfold or more damping) that end the stage:
            the fit is at round-off.

    It fits a sum of squared residuals, which the PINN loss is; the loss extras that are not
    (causal weighting, gPINN, slope recovery) are refused, as are ensembles and data-parallel
    runs.  Point clipping is off in it, as in the quasi-Newton stage.
    """

    evaluations_per_step = 0.0  # its Jacobians are per-sample gradients, not the engine's loss

    kind = "gn"

    def __init__(self, *, steps: int = 200, damping: float = 1e-3, log_every: int = 10, chunk_size: int = 256,
                 float64: bool = True, patience: int = 16):
        self.steps = count("steps", steps)
        self.damping = positive("damping", damping)
        self.log_every = positive_int("log_every", log_every)
        self.chunk_size = positive_int("chunk_size", chunk_size)
        if not isinstance(float64, bool):
            raise ValueError(f"float64 must be true or false, got {float64!r}")
        self.float64 = float64
        self.patience = positive_int("patience", patience)

    def describe(self) -> str:
        return f"{self.steps} Levenberg-Marquardt"

    def run(self, session) -> dict:
        loss = _least_squares_loss(session)
        with session.exact_gradients():
            return self._run(session, loss)

    def _run(self, session, loss) -> dict:
        s, model = session.state, session.model
        if self.steps == 0 or s.stage_step >= self.steps:
            return s.optimizer or {}
        if self.float64 or s.float64:
            model.double()
            session.points = {k: v.double() for k, v in session.points.items()}
            s.float64 = True
        opt = LevenbergMarquardt(damping=self.damping)
        if s.optimizer is not None:
            opt.load_state_dict(s.optimizer)
        params = session.params

        def evaluate() -> float:
            value, _ = session.loss_fn(model, session.points)
            return float(value.detach())

        while s.stage_step < self.steps and opt.rejected < self.patience:
            before = s.step
            good = session.good(opt)
            r = residual_vector(loss, model, session.points).detach()
            value = float(r @ r) * (math.nan if session.fault_due(s.step + 1) else 1.0)
            jac = residual_jacobian(loss, model, session.points, chunk_size=self.chunk_size)
            if not math.isfinite(value) or not bool(torch.isfinite(jac).all()):
                session.restore(good, opt)
                opt.lam = None if opt.lam is None else opt.lam * 10
                session.fail(f"in Levenberg-Marquardt after iteration {s.stage_step}")
                continue
            _, value = opt.step(r, jac, value, params, evaluate)
            session.lr_now = opt.lam or 0.0  # the damping, logged in the lr column
            session.advance(self.kind)
            last = s.stage_step >= self.steps or opt.rejected >= self.patience
            if s.stage_step % self.log_every == 0 or last:
                total, parts = session.loss_fn(model, session.points)
                session.record("lm", total.detach(), {k: v.detach() for k, v in parts.items()})
            session.after_step(opt, before=before)
        if opt.rejected >= self.patience:
            log.info("Levenberg-Marquardt stalled after %d iterations (%d trials rejected in a row, damping %.1e): "
                     "the fit is at round-off", s.stage_step, opt.rejected, opt.lam or 0.0)
        s.optimizer = opt.state_dict()
        return s.optimizer


def _least_squares_loss(session):
    """The session's :class:`~pinn.training.losses.PINNLoss`, checked to be a plain sum of squares."""
    from pinn.training.losses import PINNLoss

    loss = getattr(session.backend, "loss", None)
    if not isinstance(loss, PINNLoss):
        raise ValueError(f"the Gauss-Newton stage needs a single network's PINNLoss (not an ensemble's or a "
                         f"data-parallel one); got {type(loss).__name__}: use stages=adam_lbfgs")
    for kind, what in ((CausalWeighting, "causal weighting (loss.causal_chunks)"),
                       (GradientEnhanced, "gPINN (loss.gradient_weight)"),
                       (SlopeRecovery, "slope recovery (loss.slope_recovery)")):
        if loss._extra(kind) is not None:
            raise ValueError(f"the Gauss-Newton stage fits a sum of squared residuals, and {what} is not one: set "
                             f"it to 0, or use a quasi-Newton stage (stages=adam_lbfgs)")
    return loss
