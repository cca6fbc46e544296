"""Time marching: a time-dependent problem trained window by window, as one model.

``marching=windows marching.width=0.5`` splits the PDE's time interval into the fewest equal
windows no longer than the width.  The model becomes a :class:`~pinn.nets.marched.Marched` of one
network per window; the run trains window 0, then window 1 starting from window 0's weights, and
so on, each with the run's stages, on points drawn inside the window.  Window ``k > 0`` meets
window ``k - 1``'s end state exactly (the hard initial constraint of :mod:`pinn.nets.marched`), so
the PDE's initial terms on values leave its loss, and one on a time derivative (a wave's velocity)
becomes continuity with the previous window; window 0 keeps them (or its hard constraint holds
them).  Observations are fitted by the window they lie in.

Everything else is the ordinary run: checkpoints carry the window, so a run resumes mid-window
bit-identically; evaluation, plots, export and ``pinn-eval`` see the one model over the whole
interval.  Causal weighting works inside each window (its slabs span the window), and RAR-D
redraws each window's points inside it.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from typing import cast

import torch
from torch import nn

from pinn.core.checks import count, number, positive_int
from pinn.diff.engines import eager_engine
from pinn.diff.jets import JetValues
from pinn.nets.marched import Marched, window_edges
from pinn.pdes.base import PDE
from pinn.physics.fields import parse
from pinn.physics.terms import Term
from pinn.training.losses import PINNLoss
from pinn.training.state import TrainState

log = logging.getLogger("pinn")

__all__ = ["StartFields", "Windows", "carried_terms", "fit_data", "next_window", "start_terms", "window_loss",
           "window_points"]


class Windows:
    """Time marching by windows (``marching=windows``).

    Args:
        width: the longest window, in the PDE's time units: ``[t0, t1]`` is split into
            ``ceil((t1 - t0) / width)`` equal windows (the plan, when not adapted).
        rescale: each window's networks see its own time span scaled onto ``[-1, 1]`` (as a
            whole-interval network sees the whole interval); ``False``: the whole interval's scaling.
        adapt: adapt each window's length to how its training went: a window whose final loss is
            above ``tolerance`` is trained again over half its span (from the previous window's
            weights, with fresh points), down to ``width / 2**halvings``; the window after one that
            ends below ``tolerance / 10`` is twice as long (at most ``width``).
        tolerance: the final loss a window must reach (with ``adapt``).
        halvings: how many times a window may be halved (with ``adapt``).
        max_windows: the networks allocated (with ``adapt``; default: four times the plan's windows);
            the last one runs to the end of the interval, whatever its loss.
    """

    def __init__(self, *, width: float = 0.5, rescale: bool = True, adapt: bool = False, tolerance: float = 1e-3,
                 halvings: int = 4, max_windows: int | None = None):
        self.width = number("marching.width", width, low=0, strict=True, hint="(time units), e.g. marching.width=0.5")
        for name, flag in (("rescale", rescale), ("adapt", adapt)):
            if not isinstance(flag, bool):
                raise ValueError(f"marching.{name} must be true or false, got {flag!r}")
        self.rescale, self.adapt = rescale, adapt
        self.tolerance = number("marching.tolerance", tolerance, low=0, strict=True, hint="(a loss value)")
        self.halvings = count("marching.halvings", halvings)
        if max_windows is not None:
            positive_int("marching.max_windows", max_windows, hint="(or null: four times the planned windows)")
        self.max_windows = max_windows

    def edges(self, pde: PDE) -> tuple[float, ...]:
        """The planned windows' edges over ``pde``'s time interval."""
        axis = _time_axis(pde)
        return window_edges(pde.domain.lower[axis].item(), pde.domain.upper[axis].item(), self.width)

    def model(self, net: nn.Module, pde: PDE) -> Marched:
        """``net`` and copies of it, one per window, as one :class:`~pinn.nets.marched.Marched` model
        (the copies take the previous window's weights when their turn comes)."""
        edges = self.edges(pde)
        if self.adapt:  # room for shorter windows: their ends are set as training goes (after())
            allocated = self.max_windows or 4 * (len(edges) - 1)
            edges = (edges[0], edges[1], *([edges[-1]] * (allocated - 1))) if allocated > 1 else (edges[0], edges[-1])
        windows = [net, *(copy.deepcopy(net) for _ in range(len(edges) - 2))]
        return Marched(windows, edges, time_axis=_time_axis(pde), rescale=self.rescale)

    def after(self, model: Marched, k: int, loss: float, *, shrink: bool = True) -> int:
        """The window to train after window ``k`` ended at ``loss``: ``k`` again over half its span
        (:attr:`adapt`, when the loss is above :attr:`tolerance` and the window may still shrink;
        ``shrink=False``: never, as when the time budget ended it), or ``k + 1``, whose end is planned
        here (the interval is done when it starts at the end)."""
        if not self.adapt:
            return k + 1
        edges = model.edges
        a, b, end = edges[k], edges[k + 1], edges[-1]
        span, shortest = b - a, self.width / 2**self.halvings
        if shrink and not loss <= self.tolerance and span / 2 >= shortest * (1 - 1e-9) and k < model.count - 1:
            log.info("window %d [%g, %g] ended at loss %.3e > marching.tolerance %g: training it again over [%g, %g]",
                     k, a, b, loss, self.tolerance, a, a + span / 2)
            model.set_end(k, a + span / 2)
            return k
        if k + 1 >= model.count or b >= end:
            return k + 1
        width = min(self.width, 2 * span if loss <= self.tolerance / 10 else span)
        stop = b + width
        model.set_end(k + 1, end if stop >= end - 1e-9 * (end - edges[0]) else stop)
        return k + 1


def _time_axis(pde: PDE) -> int:
    axis = pde.domain.time_axis()
    if axis is None:
        raise ValueError(f"time marching needs a time coordinate; {pde.name} is steady (set marching=null)")
    return axis


def _timed(pde: PDE, name: str, axis: int) -> bool:
    """Whether the field name ``name`` differentiates in time."""
    return axis in parse(name, pde.domain.coordinates, pde.fields)[1]


def _initial_terms(pde: PDE, *, timed: bool) -> tuple[str, ...]:
    """The names of ``pde``'s terms on the ``initial`` set that read a time derivative (``timed``), or none."""
    axis = _time_axis(pde)
    return tuple(t.name for t in pde.terms()
                 if t.points == "initial" and any(_timed(pde, f, axis) for f in t.fields) == timed)


def start_terms(pde: PDE) -> tuple[str, ...]:
    """The names of ``pde``'s terms on the ``initial`` set that read no time derivative: the terms a
    window ``k > 0`` holds exactly (its start values are the previous window's end values)."""
    return _initial_terms(pde, timed=False)


def carried_terms(pde: PDE) -> tuple[str, ...]:
    """The names of ``pde``'s terms on the ``initial`` set that read a time derivative (a wave's
    initial velocity): a window ``k > 0`` meets them softly, as continuity with the previous window
    (:func:`window_loss`)."""
    return _initial_terms(pde, timed=True)


def window_loss(loss: PINNLoss, model: Marched, k: int, *, cache: bool = True) -> PINNLoss:
    """``loss`` on window ``k``: causal slabs over the window and, for ``k > 0``, the initial terms
    that read no time derivative left out (the model holds them); one that reads a time derivative,
    ``r(u_t, ...)``, becomes the continuity term ``r(fields of v_k) - r(fields of v_{k-1})`` at the
    window's start (its initial data cancel, and a linear condition such as ``u_t - g`` becomes
    ``u_t`` continuous).  ``cache``: the earlier windows' state at the window's start is computed
    once per point set (:class:`StartFields`) instead of through them at every step."""
    held = start_terms(loss.pde) if k else ()
    carried = list(carried_terms(loss.pde)) if k else []  # a hard constraint holds them at t0 only
    if carried and not cache:
        raise ValueError(f"the continuity of {carried} across windows needs the cached start state (cache=True)")
    start = StartFields(model, k, loss.pde, loss.engine) if k and cache else None
    out = loss.windowed(model.edges[k], model.edges[k + 1], exact=[t for t in held if t in loss.weights],
                        restore=carried, start=start)
    out.terms = tuple(_continuity(t) if t.name in carried else t for t in out.terms)
    return out


def _continuity(term: Term) -> Term:
    """``term`` less its value on the previous window's fields (the columns ``start:FIELD``)."""
    def fn(f, c):
        return term.fn(f, c) - term.fn({n: c[f"start:{n}"] for n in term.fields}, c)

    return Term(term.name, term.points, term.fields, fn)


class StartFields:
    """Window ``k``'s start state ``v_{k-1}(x, a_k)`` and the derivatives its terms read, at the
    points of each set: computed once per point set (again when the points change); the value and
    spatial derivatives are added to the fields of the window's increment ``c_k(x, t) - c_k(x, a_k)``.

    The sum is ``v_k``'s fields to round-off (the start state does not depend on ``t``, so it adds
    nothing to a time derivative; the previous window's time derivatives at ``a_k`` are there for
    the continuity terms of :func:`window_loss`).  The values reach the terms as extra columns of the points,
    named ``start:FIELD``, so that every derivative engine, the pointwise ``vmap`` one included,
    carries them to each point's terms.
    """

    def __init__(self, model: Marched, k: int, pde: PDE, engine):
        self.model, self.k = model, k
        self.engine = eager_engine(engine, model)  # through the earlier windows: not on the jets
        self.time_axis = _time_axis(pde)
        self._cache: dict[int, tuple[torch.Tensor, int, tuple[str, ...], torch.Tensor]] = {}

    def prepare(self, model: nn.Module, sets, coordinates, *, fields):
        """``(model, sets, coordinates)`` for the engine: the increment's model, each set's points with
        the start state's columns, terms that add them, and the columns' names."""
        fused = isinstance(model, JetValues)  # the fused step's jets of the increment, at points it widened
        if not fused and (model is not self.model or self.model.active != self.k):
            return model, sets, coordinates  # another model (or window): evaluated as it is
        names = tuple(sorted({n for _, terms in sets for t in terms for n in t.fields}))
        shifted = tuple(n for n in names if self.time_axis not in parse(n, coordinates, fields)[1])
        columns = tuple(f"start:{n}" for n in names)  # time derivatives too: read by continuity terms
        if fused:  # the widened points the jets were computed at (pinn.training.fused_window)
            widened = [p for p, _ in cast(JetValues, model).requests[:len(sets)]]
        else:
            widened = [torch.cat([points, self._values(points, names, coordinates, fields)], 1) for points, _ in sets]
        out = [(w, [_shifted(t, shifted) for t in terms]) for w, (_, terms) in zip(widened, sets)]
        if fused:
            return model, out, (*coordinates, *columns)
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
    """``points`` drawn over the whole interval, moved into window ``k`` (their times mapped onto it);
    the observations (``data``, ``data_values``) are not moved but kept where they lie in the window."""
    a, b = model.edges[k], model.edges[k + 1]
    out = {name: pde.domain.into_window(x, a, b) for name, x in points.items() if not name.startswith("data")}
    if "data" in points:
        t = points["data"][:, _time_axis(pde)]
        inside = (t >= a) & (t <= b)
        out["data"], out["data_values"] = points["data"][inside], points["data_values"][inside]
    return out


def fit_data(loss: PINNLoss, points: Mapping[str, torch.Tensor]) -> PINNLoss:
    """``loss`` as it is where its window holds observations; without its data term where it holds none."""
    if not loss.data or len(points.get("data", ())) > 0:
        return loss
    out = copy.copy(loss)
    out.data = False
    out.weights = {name: w for name, w in loss.weights.items() if name != "data"}
    return out


def next_window(state: TrainState) -> TrainState:
    """The state a new window starts from: its stages from the start; the run's step counts, history,
    time (and the part of it spent compiling), roll-backs and precision carried on."""
    return TrainState(steps=dict(state.steps), failures=state.failures, faults_fired=list(state.faults_fired),
                      history=state.history, seconds=state.seconds,
                      compile_seconds=state.compile_seconds, float64=state.float64)
