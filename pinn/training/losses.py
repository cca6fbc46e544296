"""The PINN loss: weighted mean squared residuals of every term."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from pinn.nets.adaptive_activations import slope_recovery
from pinn.pdes.base import PDE
from pinn.training.clipping import clip_point_gradients

__all__ = ["PINNLoss"]


class PINNLoss:
    """``sum_term weight[term] * mean(residual_term^2)``.

    Args:
        pde: the PDE whose :meth:`~pinn.pdes.PDE.terms` are evaluated.
        engine: a derivative engine (``AutogradEngine`` or ``FuncEngine``).
        weights: per-term weights by term name; terms not named get 1.
        data: add the data-misfit term ``"data"``, ``mean((u(p) - u_obs)^2)`` over the
            observation points ``points["data"]`` with values ``points["data_values"]``.
        data_field: the field observed (default the PDE's first).
        causal_chunks: with ``M > 0``, causal weighting in time (Wang, Sankaran &
            Perdikaris 2022): the interior points are split into ``M`` equal time slabs
            with mean squared residuals ``L_1..L_M``, and the residual term becomes
            ``mean_k w_k L_k`` with ``w_k = exp(-causal_eps * sum_{j<k} L_j)`` (no gradient
            through ``w``), so later times count once earlier ones are resolved.  With several
            equations ``L_k`` is the sum of theirs, and each equation's term is weighted alike.
            The smallest weight is reported as the part ``causal_min_weight``.
        causal_eps: the causality parameter ``eps`` (> 0).
        exact: condition terms that the model meets exactly (a hard constraint, see
            :mod:`pinn.physics.constraints`): they are left out of the loss.
        slope_recovery: with a weight ``> 0``, add the slope-recovery term of adaptive activations,
            ``1 / mean_k exp(a_k)`` (:func:`pinn.nets.adaptive_activations.slope_recovery`), times this weight;
            it is reported as the part ``slope_recovery``.  The model must have adaptive activations.
        gradient_weight: with a weight ``> 0``, gradient-enhanced training (gPINN, Yu, Lu, Meng &
            Karniadakis 2022): add ``sum_eq sum_k mean((d r_eq / d x_k)^2)`` over the interior
            points, the input gradient of every equation's residual through one more
            ``create_graph`` derivative, times this weight; reported as the part ``gpinn``.
        point_clip: with a factor ``k > 0``, the gradient each point's residual sends into the
            network is clipped to ``k`` times the median over its term's points
            (:func:`pinn.training.clipping.clip_point_gradients`); the loss's value is unchanged.
            Quasi-Newton stages switch it off (:meth:`exact_gradients`): their line searches need
            the loss's own gradient.
    """

    def __init__(self, pde: PDE, engine, *, weights: Mapping[str, float] | None = None, data: bool = False,
                 causal_chunks: int = 0, causal_eps: float = 1.0, exact: Sequence[str] = (),
                 data_field: str | None = None, slope_recovery: float = 0.0, gradient_weight: float = 0.0,
                 point_clip: float = 0.0):
        self.pde = pde
        self.engine = engine
        pde.check_names()
        all_terms = pde.terms()
        unknown = sorted(set(exact) - {t.name for t in all_terms[1:]})
        if unknown:
            raise ValueError(f"exact terms {unknown} are not conditions of {pde.name}: "
                             f"{[t.name for t in all_terms[1:]]}")
        self.terms = tuple(t for t in all_terms if t.name not in exact)
        if data_field is not None and data_field not in pde.fields:
            raise ValueError(f"observations of {data_field!r}: not a field of {pde.name}, whose fields are "
                             f"{list(pde.fields)}")
        self.data = data
        self.data_column = pde.fields.index(data_field) if data_field is not None else 0
        names = [t.name for t in self.terms] + (["data"] if data else [])
        weights = dict(weights or {})
        held = sorted(set(weights) & set(exact))
        if held:
            raise ValueError(f"the loss terms {held} are held exactly by the hard constraint, so they have no "
                             f"weight; drop loss.weights.{held[0]} or set hard_constraints=false")
        unknown = sorted(set(weights) - set(names))
        if unknown:
            raise ValueError(f"loss weights name unknown terms {unknown}; the terms of {pde.name} are {names}")
        for name, w in weights.items():
            if not isinstance(w, (int, float)) or isinstance(w, bool) or not (w >= 0) or w == float("inf"):
                raise ValueError(f"loss weight of {name!r} must be a finite number >= 0, got {w!r}")
        self.weights = {name: float(weights.get(name, 1.0)) for name in names}
        if isinstance(causal_chunks, bool) or not isinstance(causal_chunks, int) or causal_chunks < 0:
            raise ValueError(f"loss.causal_chunks must be an integer >= 0, got {causal_chunks!r}")
        if causal_chunks and pde.domain.time_name not in pde.domain.coordinates:
            raise ValueError(f"causal weighting needs a time coordinate; {pde.name} is steady "
                             f"(set loss.causal_chunks=0)")
        if not (isinstance(causal_eps, (int, float)) and 0 < causal_eps < float("inf")):
            raise ValueError(f"loss.causal_eps must be a finite number > 0, got {causal_eps!r}")
        self.causal_chunks, self.causal_eps = causal_chunks, float(causal_eps)
        if isinstance(slope_recovery, bool) or not isinstance(slope_recovery, (int, float)) \
                or not 0 <= slope_recovery < float("inf"):
            raise ValueError(f"loss.slope_recovery must be a finite number >= 0, got {slope_recovery!r}")
        self.slope_recovery = float(slope_recovery)
        if isinstance(gradient_weight, bool) or not isinstance(gradient_weight, (int, float)) \
                or not 0 <= gradient_weight < float("inf"):
            raise ValueError(f"loss.gradient_weight must be a finite number >= 0, got {gradient_weight!r}")
        self.gradient_weight = float(gradient_weight)
        if isinstance(point_clip, bool) or not isinstance(point_clip, (int, float)) \
                or not 0 <= point_clip < float("inf"):
            raise ValueError(f"loss.point_clip must be a finite number >= 0 (0: off), got {point_clip!r}")
        self.point_clip = float(point_clip)

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
        return self.engine.residuals_of_sets(model, sets, self.pde.domain.coordinates, fields=self.pde.fields)

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
        if self.point_clip:  # each point's pull on the network bounded; the values unchanged
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
            parts["slope_recovery"] = slope_recovery(model)
            total = total + self.slope_recovery * parts["slope_recovery"]
        for name, p in getattr(model, "coefficients", {}).items():
            parts[name] = p.detach()  # logged beside the loss terms; not part of the loss
        return total, parts  # type: ignore[return-value]

    @contextlib.contextmanager
    def exact_gradients(self):
        """Within it, ``point_clip`` is off: the gradients are those of the loss's value (a
        quasi-Newton line search needs them so)."""
        saved, self.point_clip = self.point_clip, 0.0
        try:
            yield self
        finally:
            self.point_clip = saved

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
        t0, t1 = self.pde.domain.lower[-1].item(), self.pde.domain.upper[-1].item()
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
