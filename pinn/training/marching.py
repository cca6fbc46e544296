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
from pinn.physics.terms import Term
from pinn.training.losses import PINNLoss
from pinn.training.state import TrainState

__all__ = ["StartFields", "Windows", "start_terms", "window_loss", "window_points", "next_window"]


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


def window_loss(loss: PINNLoss, model: Marched, k: int, *, cache: bool = True) -> PINNLoss:
    """``loss`` on window ``k``: causal slabs over the window and, for ``k > 0``, the initial terms
    left out (the model holds them).  ``cache``: the earlier windows' state at the window's start is
    computed once per point set (:class:`StartFields`) instead of through them at every step."""
    held = start_terms(loss.pde) if k else ()
    start = StartFields(model, k, loss.pde, loss.engine) if k and cache else None
    return loss.windowed(model.edges[k], model.edges[k + 1], exact=[t for t in held if t in loss.weights],
                         start=start)


class StartFields:
    """Window ``k``'s start state ``v_{k-1}(x, a_k)`` and the spatial derivatives its terms read, at
    the points of each set: computed once per point set (again when the points change), and added
    to the fields of the window's increment ``c_k(x, t) - c_k(x, a_k)``.

    The sum is ``v_k``'s fields to round-off (the start state does not depend on ``t``, so it adds
    nothing to a time derivative).  The values reach the terms as extra columns of the points,
    named ``start:FIELD``, so that every derivative engine, the pointwise ``vmap`` one included,
    carries them to each point's terms.
    """

    def __init__(self, model: Marched, k: int, pde: PDE, engine):
        self.model, self.k, self.engine = model, k, engine
        self.time_axis = _time_axis(pde)
        self._cache: dict[int, tuple[torch.Tensor, int, tuple[str, ...], torch.Tensor]] = {}

    def prepare(self, model: nn.Module, sets, coordinates, *, fields):
        """``(model, sets, coordinates)`` for the engine: the increment's model, each set's points with
        the start state's columns, terms that add them, and the columns' names."""
        if model is not self.model or self.model.active != self.k:
            return model, sets, coordinates  # another model (or window): evaluated as it is
        names = tuple(sorted({n for _, terms in sets for t in terms for n in t.fields
                              if self.time_axis not in parse(n, coordinates, fields)[1]}))
        columns = tuple(f"start:{n}" for n in names)
        out = [(torch.cat([points, self._values(points, names, coordinates, fields)], 1),
                [_shifted(t, names) for t in terms]) for points, terms in sets]
        return _Increment(self.model, self.k, len(coordinates)), out, (*coordinates, *columns)

    def _values(self, points: torch.Tensor, names, coordinates, fields) -> torch.Tensor:
        """``(N, len(names))``: the start state's fields at ``points`` (cached while the points stay)."""
        hit = self._cache.get(id(points))
        if hit is not None and hit[0] is points and hit[1] == points._version and hit[2] == names:
            return hit[3]
        at = self.model._at(points.detach(), self.model.edges[self.k])
        terms = [Term(f"start:{n}", "interior", (n,), _reader(n)) for n in names]
        with torch.enable_grad():
            res = self.engine.residuals(_Window(self.model, self.k - 1), at, coordinates, terms, fields=fields)
        values = torch.stack([res[f"start:{n}"].detach() for n in names], 1) if names else at[:, :0]
        if len(self._cache) > 8:
            self._cache.clear()
        self._cache[id(points)] = (points, points._version, names, values)
        return values


class _Window(nn.Module):
    """Window ``k`` of a marched model, through the earlier windows (``v_k``)."""

    def __init__(self, model: Marched, k: int):
        super().__init__()
        self.model, self.k = model, k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model._window(self.k, x)


class _Increment(nn.Module):
    """Window ``k``'s increment ``c_k(x, t) - c_k(x, a_k)`` of the first ``dim`` columns of its input
    (the rest hold the start state, read by the terms)."""

    def __init__(self, model: Marched, k: int, dim: int):
        super().__init__()
        self.model, self.k, self.dim = model, k, dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.increment(self.k, x[..., :self.dim])


def _reader(name: str):
    """A term that reads the field ``name`` as it is."""
    def fn(f, c):
        return f[name]

    return fn


def _shifted(term: Term, names) -> Term:
    """``term`` reading each field of ``names`` plus the start state's (the column ``start:FIELD``)."""
    added = [n for n in term.fields if n in names]

    def fn(f, c):
        return term.fn({**f, **{n: f[n] + c[f"start:{n}"] for n in added}}, c)

    return Term(term.name, term.points, term.fields, fn)


def window_points(points: Mapping[str, torch.Tensor], pde: PDE, model: Marched, k: int) -> dict[str, torch.Tensor]:
    """``points`` drawn over the whole interval, moved into window ``k`` (their times mapped onto it)."""
    a, b = model.edges[k], model.edges[k + 1]
    return {name: pde.domain.into_window(x, a, b) for name, x in points.items()}


def next_window(state: TrainState) -> TrainState:
    """The state a new window starts from: its stages from the start; the run's step counts, history,
    time, roll-backs and precision carried on."""
    return TrainState(steps=dict(state.steps), failures=state.failures, faults_fired=list(state.faults_fired),
                      history=state.history, seconds=state.seconds, float64=state.float64)
