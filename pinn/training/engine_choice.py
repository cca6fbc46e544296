"""``derivatives=auto``: the derivative engine chosen from the run's options and its length.

The fused step (``derivatives=fused``, :mod:`pinn.training.fused_step`) trains a plain MLP about 3x
faster per step than the autograd engine on CPU, after a compile of 20-40 s in a fresh process
(docs/performance.md).  So it pays only where the run (a) is one the fused step trains: the
networks and options it runs (:func:`~pinn.training.fused_step.fused_step_support`), no time
marching, ensemble, torchrun or ``trainer.compile*``; and (b) is
long enough that the time saved exceeds the compile.  The time an eager step takes grows with the
points times the network's parameters, so (b) is estimated as

    work = loss evaluations x points x parameters >= payback

with the loss evaluations counted from the stages (an Adam step one, a quasi-Newton iteration
1.25 with its line search; a stage with its own derivative path, Gauss-Newton, none).  ``payback``
defaults to 1e11, from the default Burgers run (work 5e10): eager 58 s, fused 33-37 s warm plus
44-49 s of compiling from a cold start, so the fused step saves about 23 s per 5e10 and its
compile is paid back from about 1e11.  The choice depends on the configuration only, never on a
timing, so a run and its resume choose alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pinn.diff.autograd import AutogradEngine
from pinn.diff.fused import FusedEngine
from pinn.training.fused_step import fused_step_support
from pinn.training.losses import PINNLoss

__all__ = ["AutoEngine", "choose_engine", "run_work"]


class AutoEngine(AutogradEngine):
    """``derivatives=auto``: the autograd engine until the run's builder resolves it with
    :func:`choose_engine` (a loss built on it directly differentiates as autograd).

    Args:
        payback: the work (loss evaluations x points x parameters) from which the fused step's
            compile is paid back (see the module's docs).
    """

    name = "auto"

    def __init__(self, *, payback: float = 1e11):
        if not isinstance(payback, (int, float)) or isinstance(payback, bool) or not payback >= 0:
            raise ValueError(f"derivatives.payback must be a number >= 0, got {payback!r}")
        self.payback = float(payback)


def run_work(stages: Sequence[Any], points: int, parameters: int) -> float:
    """Loss evaluations x points x parameters of a run: each stage's ``steps`` times its
    ``evaluations_per_step``."""
    evaluations = sum(s.steps * getattr(s, "evaluations_per_step", 1.0) for s in stages)
    return float(evaluations) * points * parameters


def choose_engine(auto: AutoEngine, loss: PINNLoss, model, *, stages: Sequence[Any], points: int,
                  refusals: Sequence[str] = ()) -> tuple[PINNLoss, str]:
    """The loss of the engine ``auto`` picks, and one line saying why.

    Args:
        auto: the ``derivatives=auto`` engine (its ``payback``).
        loss: the run's loss, built on ``auto`` (or any eager engine).
        model: the run's network.
        stages: the trainer's stages (their ``steps`` and ``evaluations_per_step``).
        points: the collocation points drawn per step, all sets together.
        refusals: what the run asks for that the fused step does not take (``"time marching"``,
            ``"a loss weighting"``, ...), found by the caller.

    Returns:
        ``(loss, why)``: ``loss`` on a :class:`FusedEngine` or an :class:`AutogradEngine`.
    """
    eager = loss.with_engine(AutogradEngine())
    if refusals:
        return eager, f"autograd: the fused step does not take {refusals[0]}"
    fused = loss.with_engine(FusedEngine())
    why = fused_step_support(fused, model)
    if why is not None:
        return eager, f"autograd: {why}"
    parameters = sum(p.numel() for p in model.parameters())
    work = run_work(stages, points, parameters)
    if work < auto.payback:
        return eager, (f"autograd: the run is too short to pay back the fused step's compile (work {work:.2g} "
                       f"< derivatives.payback {auto.payback:.2g})")
    return fused, f"fused: the run pays back its compile (work {work:.2g} >= derivatives.payback {auto.payback:.2g})"
