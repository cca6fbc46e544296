"""Where training stands, and what it returns: plain values and tensors, safe for checkpoints."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

__all__ = ["TrainState", "TrainResult", "TrainingInterrupted", "DivergenceError"]


class TrainingInterrupted(Exception):
    """Training stopped on request (a signal); a checkpoint was offered first."""

    def __init__(self, step: int):
        super().__init__(f"training interrupted at step {step}")
        self.step = step


class BudgetSpent(Exception):
    """The run's time budget (``Trainer(max_seconds=...)``) is spent: training ends normally here."""

    def __init__(self, step: int):
        super().__init__(f"time budget spent at step {step}")
        self.step = step


class DivergenceError(FloatingPointError):
    """The loss or gradient stayed non-finite after ``max_failures`` roll-backs."""


@dataclass
class TrainState:
    """Where training stands, in plain values and tensors (safe for ``weights_only`` loading).

    Attributes:
        stage: the current stage's kind (``"adam"`` or ``"lbfgs"``), or ``"done"``.
        stage_index: the current stage's position in the trainer's list.
        stage_step: steps taken in the current stage.
        steps: steps taken by stage kind, ``{"adam": 500, "lbfgs": 2000}`` (a user's stage counts under
            its own kind, ``"sgd"``); :attr:`adam_steps` and :attr:`lbfgs_steps` read it.
        optimizer: the current stage's optimizer state dict (``None`` before it starts).
        scheduler: its learning-rate scheduler state dict, if any.
        failures: roll-backs after a non-finite loss so far.
        best_loss: the stage's lowest logged loss so far (for stall detection).
        stalled: logged chunks in a row that did not lower it.
        faults_fired: injected-fault steps already fired (see ``Trainer(nan_at=...)``).
        history: the history rows so far.
        seconds: training wall time so far, over all sessions.
        loss_weights: the loss weights set by a :class:`~pinn.training.weighting.LossWeighting`
            (``None``: never changed).
        float64: whether a stage switched the model and points to float64.
    """

    stage: str = "adam"
    stage_index: int = 0
    stage_step: int = 0
    steps: dict[str, int] = field(default_factory=dict)
    optimizer: dict | None = None
    scheduler: dict | None = None
    failures: int = 0
    best_loss: float = math.inf
    stalled: int = 0
    faults_fired: list[int] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    compile_seconds: float = 0.0
    loss_weights: dict | None = None
    float64: bool = False

    @property
    def step(self) -> int:
        """Steps taken over all stages."""
        return sum(self.steps.values())

    @property
    def adam_steps(self) -> int:
        """Adam steps taken, over all Adam stages."""
        return self.steps.get("adam", 0)

    @property
    def lbfgs_steps(self) -> int:
        """Quasi-Newton iterations taken, over all such stages."""
        return self.steps.get("lbfgs", 0)

    def to_dict(self) -> dict:
        """Plain values; ``adam_steps`` and ``lbfgs_steps`` besides ``steps``, for readers of a checkpoint."""
        return {**asdict(self), "adam_steps": self.adam_steps, "lbfgs_steps": self.lbfgs_steps}

    @classmethod
    def from_dict(cls, data: Mapping) -> TrainState:
        data = dict(data)
        adam, lbfgs = data.pop("adam_steps", 0), data.pop("lbfgs_steps", 0)
        if "steps" not in data:  # written before per-kind counters (pinn 0.2)
            data["steps"] = {k: v for k, v in (("adam", adam), ("lbfgs", lbfgs)) if v}
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"checkpoint has unknown trainer fields {unknown}; was it written by another "
                             f"version of pinn? Start the run again")
        return cls(**dict(data))


@dataclass
class TrainResult:
    """What :meth:`pinn.training.loop.Trainer.fit` returns.

    Attributes:
        history: one row per logged step: ``step``, ``stage``, ``loss``, each term, ``lr``
            (the stage's learning rate), ``seconds``.
        adam_steps: Adam steps taken.
        lbfgs_steps: quasi-Newton iterations taken (fewer than asked if it stalled).
        final_loss: the loss of the returned parameters.
        seconds: wall time of training, over all sessions of a resumed run.
        compile_seconds: the part of ``seconds`` that a compiled backend spent compiling.
        optimizer_state: the state dict of the last optimizer used.
        failures: roll-backs after a non-finite loss.
        steps: steps taken by stage kind (``{"adam": 500, "lbfgs": 1890}``; a user's stage under its own).
        budget_spent_at: the step at which the time budget (``Trainer(max_seconds=...)``) ended
            training, or ``None`` when every stage ran its course.
    """

    history: list[dict]
    adam_steps: int
    lbfgs_steps: int
    final_loss: float
    seconds: float
    optimizer_state: dict
    failures: int = 0
    budget_spent_at: int | None = None
    steps: dict[str, int] = field(default_factory=dict)
    compile_seconds: float = 0.0
