"""How :func:`pinn.train` runs a job, as one object: resume, checkpoints, plots, the speed path,
and the caller's hooks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["RunOptions", "SPEEDS"]

#: The speed paths of a run (``derivatives=fused`` takes its own compiled step: leave ``eager``).
SPEEDS = ("eager", "compile", "compile_gradient")


@dataclass(frozen=True)
class RunOptions:
    """How :func:`pinn.train` runs a job.

    Attributes:
        resume: a checkpoint to continue from (as loaded from ``RUN/checkpoints``), or ``True``
            for the newest readable one in the run directory; ``None``: a fresh run.
        checkpoint_every: steps between checkpoints (0: only at each switch of stage and on a stop).
        keep: how many recent checkpoints to keep, besides the lowest-loss one (>= 1).
        plots: draw ``plots/`` (solution, slices, loss).
        speed: one of :data:`SPEEDS`: ``"eager"``; ``"compile"``, ``torch.compile`` the loss
            (guarded: on failure it logs one line and runs eagerly); ``"compile_gradient"``, the
            loss and its parameter gradient in one compiled graph
            (:class:`~pinn.training.compiling.CompiledGradient`; ``derivatives=taylor``, no loss
            weighting; guarded the same way).
        callback: called with each history row; ``None``: a progress bar (or log lines).
        should_stop: polled after every step: true saves a checkpoint and raises
            :class:`~pinn.training.state.TrainingInterrupted`.
        metadata: plain values added to ``metrics.json`` (the CLI adds the resolved config's hash).
    """

    resume: Mapping | bool | None = None
    checkpoint_every: int = 500
    keep: int = 3
    plots: bool = True
    speed: str = "eager"
    callback: Callable[[dict], None] | None = None
    should_stop: Callable[[], bool] | None = None
    metadata: Mapping | None = None

    def __post_init__(self):
        if not (self.resume is None or isinstance(self.resume, (bool, Mapping))):
            raise TypeError(f"pinn.train: resume must be None, True (the newest checkpoint in run_dir) or a loaded "
                            f"checkpoint, got {self.resume!r:.60}")
        for name, least in (("checkpoint_every", 0), ("keep", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"pinn.train: {name} must be an integer >= {least}, got {value!r:.60}")
        if not isinstance(self.plots, bool):
            raise TypeError(f"pinn.train: plots must be True or False, got {self.plots!r:.60}")
        if self.speed not in SPEEDS:
            raise ValueError(f"pinn.train: unknown speed {self.speed!r}; choose one of: {', '.join(SPEEDS)}")
        for name in ("callback", "should_stop"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise TypeError(f"pinn.train: {name} must be callable or None, got {value!r:.60}")
        if self.metadata is not None and not isinstance(self.metadata, Mapping):
            raise TypeError(f"pinn.train: metadata must be a mapping of plain values, got {self.metadata!r:.60}")

    @classmethod
    def from_legacy(cls, **kwargs) -> RunOptions:
        """The options that :func:`pinn.train`'s 0.2 keywords ask for (``compile=True`` is
        ``speed="compile"``, ``compile_gradient=True`` is ``speed="compile_gradient"``)."""
        compile_, gradient = bool(kwargs.pop("compile", False)), bool(kwargs.pop("compile_gradient", False))
        if compile_ and gradient:
            raise ValueError("trainer.compile and trainer.compile_gradient exclude each other: compile_gradient "
                             "compiles the loss as well; set one of them")
        unknown = sorted(set(kwargs) - set(cls.__dataclass_fields__) - {"speed"})
        if unknown:
            raise TypeError(f"pinn.train got unexpected keyword arguments {unknown}; its options are "
                            f"RunOptions({', '.join(cls.__dataclass_fields__)})")
        speed = "compile_gradient" if gradient else "compile" if compile_ else kwargs.pop("speed", "eager")
        return cls(speed=speed, **kwargs)
