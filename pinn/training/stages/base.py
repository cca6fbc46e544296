"""The stage interface: one optimiser phase of training."""

from __future__ import annotations

import abc
from typing import ClassVar

from pinn.core.checks import count, positive, positive_int  # re-exported: a user's stage checks its settings

__all__ = ["Stage", "count", "positive", "positive_int"]


class Stage(abc.ABC):
    """One phase of training (Adam, a quasi-Newton method, ...), run by the trainer in order.

    A stage advances ``session.state`` until it has taken ``steps`` steps of its own
    (``state.stage_step``), counting them under its ``kind`` with ``session.advance(kind)``
    (``state.steps[kind]``).  It must be resumable: when ``state.optimizer`` is set, it continues
    from that optimizer state.  Use the session's ``value_and_grad`` (or ``adam_update``),
    ``record``, ``after_step``, ``good``/``restore``/``fail`` and ``maybe_resample`` helpers (see
    :class:`pinn.training.session.Session`).

    Attributes:
        kind: the name its steps are counted and its history rows labelled under (``"adam"``,
            ``"lbfgs"``, a user's ``"sgd"``).
        steps: the number of steps to take (>= 0).
        evaluations_per_step: the loss-and-gradient evaluations of the derivative engine a step
            takes on average (``derivatives=auto`` estimates a run's length from it; 0 for a stage
            that differentiates its own way).
    """

    kind: ClassVar[str]
    steps: int
    evaluations_per_step: ClassVar[float] = 1.0

    @abc.abstractmethod
    def run(self, session) -> dict | None:
        """Take the remaining steps; return the last optimizer state dict."""

    def prepare(self) -> None:  # noqa: B027 - a hook: most stages have nothing to prepare
        """Called by the trainer before its clock starts: pay one-time costs here (imports, a first
        optimizer construction), not inside the timed steps.  By default nothing."""

    def describe(self) -> str:
        """A few words for the log, e.g. ``500 Adam``."""
        return f"{self.steps} {type(self).__name__}"


