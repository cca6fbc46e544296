"""Time marching: a time-dependent problem trained window by window, as one model.

``marching=windows marching.width=0.5`` splits the PDE's time interval into the fewest equal
windows no longer than the width.  The model becomes a :class:`~pinn.nets.marched.Marched` of one
network per window; the run trains window 0, then window 1 starting from window 0's weights, and
so on, each with the run's stages, on points drawn inside the window.  Window ``k > 0`` meets
window ``k - 1``'s end state exactly (the hard initial constraint of :mod:`pinn.nets.marched`), so
the PDE's initial terms leave its loss; window 0 keeps them (or its hard constraint holds them).

Everything else is the ordinary run: checkpoints carry the window, so a run resumes mid-window
bit-identically; evaluation, plots, export and ``pinn-eval`` see the one model over the whole
interval.  Causal weighting works inside each window (its slabs span the window), and RAR-D
redraws each window's points inside it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import torch
from torch import nn

from pinn.core.checks import number
from pinn.nets.marched import Marched, window_edges
from pinn.pdes.base import PDE
from pinn.physics.fields import parse
from pinn.training.losses import PINNLoss
from pinn.training.state import TrainState

__all__ = ["Windows", "start_terms", "window_loss", "window_points", "next_window"]


class Windows:
    """Time marching by windows of equal length (``marching=windows``).

    Args:
        width: the longest window, in the PDE's time units: ``[t0, t1]`` is split into
            ``ceil((t1 - t0) / width)`` equal windows.
        rescale: each window's networks see its own time span scaled onto ``[-1, 1]`` (as a
            whole-interval network sees the whole interval); ``False``: the whole interval's scaling.
    """

    def __init__(self, *, width: float = 0.5, rescale: bool = True):
        self.width = number("marching.width", width, low=0, strict=True, hint="(time units), e.g. marching.width=0.5")
        if not isinstance(rescale, bool):
            raise ValueError(f"marching.rescale must be true or false, got {rescale!r}")
        self.rescale = rescale

    def edges(self, pde: PDE) -> tuple[float, ...]:
        """The windows' edges over ``pde``'s time interval."""
        axis = _time_axis(pde)
        return window_edges(pde.domain.lower[axis].item(), pde.domain.upper[axis].item(), self.width)

    def model(self, net: nn.Module, pde: PDE) -> Marched:
        """``net`` and copies of it, one per window, as one :class:`~pinn.nets.marched.Marched` model
        (the copies take the previous window's weights when their turn comes)."""
        start_terms(pde)  # refuses what marching cannot carry from window to window
        edges = self.edges(pde)
        windows = [net, *(copy.deepcopy(net) for _ in range(len(edges) - 2))]
        return Marched(windows, edges, time_axis=_time_axis(pde), rescale=self.rescale)


def _time_axis(pde: PDE) -> int:
    axis = pde.domain.time_axis()
    if axis is None:
        raise ValueError(f"time marching needs a time coordinate; {pde.name} is steady (set marching=null)")
    return axis


def start_terms(pde: PDE) -> tuple[str, ...]:
    """The names of ``pde``'s terms on the ``initial`` set: the terms a window ``k > 0`` holds exactly.

    Raises:
        ValueError: where such a term reads a time derivative (a wave's initial velocity), which
            the windows' hard constraint does not carry over.
    """
    axis = _time_axis(pde)
    names = []
    for term in pde.terms():
        if term.points != "initial":
            continue
        timed = [f for f in term.fields if axis in parse(f, pde.domain.coordinates, pde.fields)[1]]
        if timed:
            raise ValueError(f"time marching holds each window's start values exactly, but {pde.name}'s initial term "
                             f"{term.name!r} reads the time derivative {timed[0]!r}, which it cannot carry from one "
                             f"window to the next yet; train {pde.name} without marching (marching=null)")
        names.append(term.name)
    return tuple(names)


def window_loss(loss: PINNLoss, model: Marched, k: int) -> PINNLoss:
    """``loss`` on window ``k``: causal slabs over the window and, for ``k > 0``, the initial terms
    left out (the model holds them)."""
    held = start_terms(loss.pde) if k else ()
    return loss.windowed(model.edges[k], model.edges[k + 1], exact=[t for t in held if t in loss.weights])


def window_points(points: Mapping[str, torch.Tensor], pde: PDE, model: Marched, k: int) -> dict[str, torch.Tensor]:
    """``points`` drawn over the whole interval, moved into window ``k`` (their times mapped onto it)."""
    a, b = model.edges[k], model.edges[k + 1]
    return {name: pde.domain.into_window(x, a, b) for name, x in points.items()}


def next_window(state: TrainState) -> TrainState:
    """The state a new window starts from: its stages from the start; the run's step counts, history,
    time, roll-backs and precision carried on."""
    return TrainState(steps=dict(state.steps), failures=state.failures, faults_fired=list(state.faults_fired),
                      history=state.history, seconds=state.seconds, float64=state.float64)
