"""The PINN loss: weighted mean squared residuals of every term."""

from __future__ import annotations

import contextlib
import copy
import warnings
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from pinn.diff.jets import JetValues
from pinn.nets.adaptive_activations import slope_recovery
from pinn.pdes.base import PDE
from pinn.training.clipping import clip_point_gradients
from pinn.training.loss_extras import (CausalWeighting, DataMisfit, GradientEnhanced, LossExtra, PointClip,
                                       SlopeRecovery)
from pinn.core.checks import number

__all__ = ["PINNLoss"]


class PINNLoss:
    """``sum_term weight[term] * mean(residual_term^2)``, plus what its ``extras`` add.

    Args:
        pde: the PDE whose :meth:`~pinn.pdes.PDE.terms` are evaluated.
        engine: a derivative engine (``AutogradEngine`` or ``FuncEngine``).
        weights: per-term weights by term name; terms not named get 1.
        exact: condition terms that the model meets exactly (a hard constraint, see
            :mod:`pinn.physics.constraints`): they are left out of the loss.
        extras: the loss's options, each an object of :mod:`pinn.training.loss_extras`
            (:class:`~pinn.training.loss_extras.DataMisfit`, ``CausalWeighting``,
            ``GradientEnhanced``, ``SlopeRecovery``, ``PointClip``), at most one of each kind.

    The keywords ``data``, ``data_field``, ``causal_chunks``, ``causal_eps``, ``slope_recovery``,
    ``gradient_weight`` and ``point_clip`` of pinn 0.2 still work, with a ``DeprecationWarning``
    naming the extra to pass instead; they go in 0.4.
    """

    def __init__(self, pde: PDE, engine, *, weights: Mapping[str, float] | None = None, exact: Sequence[str] = (),
                 extras: Sequence[LossExtra] = (), **legacy):
        self.pde = pde
        self.engine = engine
        pde.check_names()
        extras = [*extras, *_from_legacy(legacy)]
        for extra in extras:
            if not isinstance(extra, LossExtra):
                raise TypeError(f"PINNLoss extras must be pinn.training.loss_extras objects (DataMisfit(), "
                                f"CausalWeighting(4), ...), got {extra!r:.60}")
            extra.check(pde)
        kinds = [type(e).__name__ for e in extras]
        twice = sorted({k for k in kinds if kinds.count(k) > 1})
        if twice:
            raise ValueError(f"PINNLoss takes at most one {twice[0]}; got {kinds.count(twice[0])}")
        self.extras = tuple(extras)
        self._exact_gradients = False
        self._window: tuple[float, float] | None = None  # a marched run's window: the causal slabs' span
        self._start = None  # a marched run's window start state, added to the window's fields (marching)
        self._clip_data: torch.Tensor | None = None  # the fused step's clipping factor, data to its graph
        all_terms = pde.terms()
        unknown = sorted(set(exact) - {t.name for t in all_terms[1:]})
        if unknown:
            raise ValueError(f"exact terms {unknown} are not conditions of {pde.name}: "
                             f"{[t.name for t in all_terms[1:]]}")
        self.terms = tuple(t for t in all_terms if t.name not in exact)
        data = self._extra(DataMisfit)
        self.data = data is not None
        self.data_column = pde.fields.index(data.field) if data is not None and data.field is not None else 0
        names = [t.name for t in self.terms] + (["data"] if self.data else [])
        weights = dict(weights or {})
        held = sorted(set(weights) & set(exact))
        if held:
            raise ValueError(f"the loss terms {held} are held exactly by the hard constraint, so they have no "
                             f"weight; drop loss.weights.{held[0]} or set hard_constraints=false")
        unknown = sorted(set(weights) - set(names))
        if unknown:
            raise ValueError(f"loss weights name unknown terms {unknown}; the terms of {pde.name} are {names}")
        for name, w in weights.items():
            number(f"loss weight of {name!r}", w, low=0)
        self.weights = {name: float(weights.get(name, 1.0)) for name in names}

    def with_engine(self, engine) -> PINNLoss:
        """This loss differentiated by another derivative engine (a copy; ``derivatives=auto``)."""
        out = copy.copy(self)
        out.engine = engine
        return out

    def windowed(self, t0: float, t1: float, *, exact: Sequence[str] = (), restore: Sequence[str] = (),
                 start=None) -> PINNLoss:
        """This loss on the time window ``[t0, t1]`` of a marched run (:mod:`pinn.training.marching`):
        a copy without the terms ``exact`` (the model holds them), with weights of its own and causal
        slabs over the window.  ``restore``: the PDE's terms to put back although this loss leaves
        them out (a hard constraint holds them at the interval's start, not at a later window's; weight
        1).  ``start``: supplies the window's start state at each point set
        (:class:`pinn.training.marching.StartFields`), so that the model evaluates the window alone."""
        out = copy.copy(self)
        out._start = start
        kept = {t.name for t in self.terms} | set(restore)
        out.terms = tuple(t for t in self.pde.terms() if t.name in kept and t.name not in exact)
        names = [t.name for t in out.terms] + (["data"] if self.data else [])
        out.weights = {name: self.weights.get(name, 1.0) for name in names}
        out._window = (float(t0), float(t1))
        return out

    def _extra(self, kind):
        return next((e for e in self.extras if isinstance(e, kind)), None)

    # What the extras set, read where the loss is computed (0: off).
    @property
    def causal_chunks(self) -> int:
        causal = self._extra(CausalWeighting)
        return causal.chunks if causal is not None else 0

    @property
    def causal_eps(self) -> float:
        causal = self._extra(CausalWeighting)
        return causal.eps if causal is not None else 1.0

    @property
    def gradient_weight(self) -> float:
        g = self._extra(GradientEnhanced)
        return g.weight if g is not None else 0.0

    @property
    def slope_recovery(self) -> float:
        s = self._extra(SlopeRecovery)
        return s.weight if s is not None else 0.0

    @property
    def point_clip(self) -> float:
        """The clipping factor; 0 where off (also within :meth:`exact_gradients`)."""
        c = self._extra(PointClip)
        return c.factor if c is not None and not self._exact_gradients else 0.0

    @property
    def point_sets(self) -> tuple[str, ...]:
        """The point sets the loss's PDE terms are evaluated on, in order (data aside)."""
        return tuple(dict.fromkeys(t.points for t in self.terms))

    @property
    def term_names(self) -> tuple[str, ...]:
        return tuple(self.weights)

    def check_reads(self, model: nn.Module) -> None:
        """Evaluate every term on three points of its set, one term at a time, before any training:
        a term that reads a derivative or field it does not declare fails here with the term, the
        name and the fix, instead of a bare ``KeyError`` after training has started.  Draws from a
        generator of its own (the run's random stream is left as it is).

        Raises:
            ValueError: naming the term, what it read, and what it declares.
        """
        from pinn.physics.sampling import UniformSampler

        param = next(model.parameters())
        generator = torch.Generator().manual_seed(0)
        for which in self.point_sets:
            points = self.pde.domain.sample(which, 3, UniformSampler(), generator=generator)
            points = points.to(dtype=param.dtype, device=param.device)
            for term in (t for t in self.terms if t.points == which):
                try:
                    self.engine.residuals(model, points, self.pde.domain.coordinates, [term], fields=self.pde.fields)
                except KeyError as e:
                    name = e.args[0] if e.args else "?"
                    raise ValueError(f"the term {term.name!r} of {self.pde.name} reads {name!r}, which it does not "
                                     f"declare (it declares {list(term.fields)}); add {name!r} to its fields: "
                                     f"Term({term.name!r}, {term.points!r}, {(*term.fields, name)!r}, ...)") from None

    def residuals(self, model: nn.Module, points: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``{term name: (N,) residual}`` with each point set's derivatives computed once."""
        sets = []
        for which in self.point_sets:
            if which not in points:
                raise ValueError(f"no {which!r} points were given; got sets {sorted(points)}")
            sets.append((points[which], [t for t in self.terms if t.points == which]))
        coordinates = tuple(self.pde.domain.coordinates)
        if self._start is not None and not self.gradient_weight:  # gPINN differentiates by the points themselves
            model, sets, coordinates = self._start.prepare(model, sets, coordinates, fields=self.pde.fields)
        return self.engine.residuals_of_sets(model, sets, coordinates, fields=self.pde.fields)

    def __call__(
        self, model: nn.Module, points: Mapping[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Return the total loss and the unweighted mean squared residual of each term.

        The parts also carry the current value of each learnable coefficient of ``model``
        (see :mod:`pinn.physics.coefficients`), so they reach the history.
        """
        if self.gradient_weight:  # the interior points as a leaf that the residuals are differentiated by
            points = {**points, "interior": points["interior"].detach().requires_grad_(True)}
        res = self.residuals(model, points)
        if self.data:
            out = model(points["data"])
            out = out.reshape(out.shape[0], -1)[:, self.data_column]
            res["data"] = out - points["data_values"]
        raw = res
        if self._clip_data is not None:  # the fused step's graph: one for clipped and exact gradients
            res = {name: clip_point_gradients(r, self._clip_data) for name, r in res.items()}
        elif self.point_clip:  # each point's pull on the network bounded; the values unchanged
            res = {name: clip_point_gradients(r, self.point_clip) for name, r in res.items()}
        parts = {name: (r * r).mean() for name, r in res.items()}
        terms = dict(parts)
        if self.causal_chunks:
            weighted, parts["causal_min_weight"] = self._causal({e: res[e] for e in self.pde.equations},
                                                                 points["interior"])
            terms.update(weighted)
        total = sum(self.weights[name] * terms[name] for name in self.term_names)
        if self.gradient_weight:
            parts["gpinn"] = self._input_gradients({e: raw[e] for e in self.pde.equations}, points["interior"])
            total = total + self.gradient_weight * parts["gpinn"]
        if self.slope_recovery:
            # the fused step's jets stand in for the network: they carry the slopes its graph computed with
            parts["slope_recovery"] = slope_recovery(model.slopes if isinstance(model, JetValues) else model)
            total = total + self.slope_recovery * parts["slope_recovery"]
        for name, p in getattr(model, "coefficients", {}).items():
            # logged beside the loss terms, not part of the loss: the value the loss was evaluated at (a
            # copy; an alias would show the value after the optimizer's step in the same row)
            parts[name] = p.detach().clone()
        return total, parts  # type: ignore[return-value]

    @contextlib.contextmanager
    def exact_gradients(self):
        """Within it, the extras that change the gradient but not the value (``exact_gradient``:
        :class:`~pinn.training.loss_extras.PointClip`) are off: the gradients are those of the loss's
        value, as a quasi-Newton line search needs them."""
        saved, self._exact_gradients = self._exact_gradients, True
        try:
            yield self
        finally:
            self._exact_gradients = saved

    @staticmethod
    def _input_gradients(residuals: Mapping[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """gPINN's term: ``sum_eq sum_k mean((d r_eq / d x_k)^2)`` at the points ``x`` (a leaf).  The
        residuals are pointwise, so the gradient of their sum gives every point's own."""
        total = x.new_zeros(())
        for r in residuals.values():
            (g,) = torch.autograd.grad(r.sum(), x, create_graph=True, allow_unused=True)
            if g is not None:
                total = total + (g * g).sum(1).mean()
        return total

    def _causal(self, residuals: Mapping[str, torch.Tensor],
                points: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """The causally weighted equation terms and the smallest weight (see the class docs).  With
        several equations the slabs' weights come from the sum of their mean squared residuals,
        and every equation is weighted by them."""
        m = self.causal_chunks
        t = points[:, -1].detach()
        t0, t1 = self._window or (self.pde.domain.lower[-1].item(), self.pde.domain.upper[-1].item())
        slab = ((t - t0) / (t1 - t0) * m).long().clamp(0, m - 1)
        per_slab = {}
        for name, r in residuals.items():
            sq = (r * r).reshape(-1)
            sums = torch.zeros(m, dtype=sq.dtype, device=sq.device).index_add(0, slab, sq)
            counts = torch.zeros(m, dtype=sq.dtype, device=sq.device).index_add(0, slab, torch.ones_like(sq))
            per_slab[name] = sums / counts.clamp(min=1)
        total = sum(v.detach() for v in per_slab.values())
        before = torch.cumsum(total, 0) - total  # type: ignore[arg-type]
        w = torch.exp(-self.causal_eps * before)
        occupied = counts > 0
        return {name: (w * v)[occupied].mean() for name, v in per_slab.items()}, w[occupied].min().detach()


#: The 0.2 keywords of PINNLoss and the extras they become.
_LEGACY = ("data", "data_field", "causal_chunks", "causal_eps", "slope_recovery", "gradient_weight", "point_clip")


def _from_legacy(legacy: Mapping) -> list[LossExtra]:
    """The extras that PINNLoss's 0.2 keywords ask for (with a ``DeprecationWarning``)."""
    unknown = sorted(set(legacy) - set(_LEGACY))
    if unknown:
        raise TypeError(f"PINNLoss got unexpected keyword arguments {unknown}; its options are extras: "
                        f"PINNLoss(pde, engine, extras=[DataMisfit(), CausalWeighting(4), ...])")
    if not legacy:
        return []
    out: list[LossExtra] = []
    if legacy.get("data"):
        out.append(DataMisfit(legacy.get("data_field")))
    elif legacy.get("data_field") is not None:
        DataMisfit(legacy["data_field"])  # checked as before, though unused
    chunks = legacy.get("causal_chunks", 0)
    if chunks or ("causal_eps" in legacy and not chunks):
        if chunks:
            out.append(CausalWeighting(chunks, legacy.get("causal_eps", 1.0)))
        else:
            CausalWeighting(1, legacy["causal_eps"])  # its value checked, as before
    elif isinstance(chunks, bool) or not isinstance(chunks, int) or chunks < 0:
        CausalWeighting(chunks)
    for key, kind in (("slope_recovery", SlopeRecovery), ("gradient_weight", GradientEnhanced),
                      ("point_clip", PointClip)):
        value = legacy.get(key, 0.0)
        if value == 0 and not isinstance(value, bool):
            continue
        out.append(kind(value))
    names = ", ".join(f"{type(e).__name__}(...)" for e in out) or "none"
    warnings.warn(f"PINNLoss keywords {sorted(legacy)} are deprecated (they go in pinn 0.4); pass "
                  f"extras=[{names}] from pinn.training.loss_extras", DeprecationWarning, stacklevel=3)
    return out
