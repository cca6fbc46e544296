"""Batched autograd engine: partial derivatives via ``torch.autograd.grad(create_graph=True)``.

Each derivative is computed once per batch and cached: one reverse pass over a
lower-order derivative yields its derivatives along *every* coordinate at once,
so ``u_x`` feeds both ``u * u_x`` and ``u_xx`` and nothing is differentiated twice.

Derivatives are right in any grad mode: under ``torch.no_grad()`` or ``torch.inference_mode()``
they are taken with autograd switched back on for them alone (points made under inference
mode are copied first), where they used to come out as silent zeros.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence

import torch

from pinn.physics.fields import parse
from pinn.physics.terms import DerivativeEngine, Term

__all__ = ["Derivatives", "AutogradEngine"]


@contextlib.contextmanager
def _autograd_on():
    """Autograd recording on, whatever the caller's mode: ``enable_grad`` inside ``no_grad``, and
    inside ``inference_mode`` a region where it is off (otherwise the derivatives come out as
    silent zeros)."""
    with torch.inference_mode(False), torch.enable_grad():
        yield


class Derivatives:
    """Lazy, cached partial derivatives of ``model``'s fields at a batch of points.

    Args:
        model: maps ``(N, d)`` points to ``(N, F)`` values, one column per field (``(N,)`` or
            ``(N, 1)`` for one field).
        points: ``(N, d)`` collocation points; column ``i`` is coordinate ``coordinates[i]``.
        coordinates: names of the ``d`` coordinates, e.g. ``("x", "t")``.
        fields: names of the ``F`` fields, e.g. ``("u", "v", "p")``.
        create_graph: keep the graph so the derivatives can be differentiated again
            (needed for training; evaluation of a residual alone can pass ``False``
            only when no higher derivative is asked for afterwards).
    """

    def __init__(
        self,
        model: Callable[[torch.Tensor], torch.Tensor],
        points: torch.Tensor,
        coordinates: Sequence[str],
        *,
        fields: Sequence[str] = ("u",),
        create_graph: bool = True,
    ):
        if points.ndim != 2 or points.shape[1] != len(coordinates):
            raise ValueError(
                f"points must have shape (N, {len(coordinates)}) for coordinates {tuple(coordinates)}, "
                f"got {tuple(points.shape)}"
            )
        self.coordinates, self.fields = tuple(coordinates), tuple(fields)
        with _autograd_on():  # derivatives need autograd, even inside no_grad or inference_mode
            if points.is_inference():  # made under inference_mode: a fresh copy that autograd may record
                points = points.clone()
            self._x = points if points.requires_grad else points.detach().requires_grad_(True)
            u = model(self._x).reshape(points.shape[0], -1)
            if u.shape[1] != len(self.fields):
                raise ValueError(f"the model gives {u.shape[1]} output(s) per point, but the PDE has "
                                 f"{len(self.fields)} field(s) {list(self.fields)}: build the network with "
                                 f"outputs={len(self.fields)}")
            self._cache: dict[tuple[int, tuple[int, ...]], torch.Tensor] = {
                (f, ()): u[:, f] for f in range(u.shape[1])}
        self._create_graph = create_graph
        self.grad_calls = 0

    @property
    def points(self) -> torch.Tensor:
        """The ``(N, d)`` points the derivatives are taken at (requires grad)."""
        return self._x

    def __getitem__(self, name: str) -> torch.Tensor:
        """The field or derivative ``name`` (e.g. ``"u_xx"``) as an ``(N,)`` tensor."""
        return self.derivative(*parse(name, self.coordinates, self.fields))

    def derivative(self, field: int, index: tuple[int, ...] = ()) -> torch.Tensor:
        """The derivative of field ``field`` with sorted multi-index ``index``, as an ``(N,)`` tensor."""
        key = (field, index)
        if key in self._cache:
            return self._cache[key]
        parent = index[:-1]
        base = self.derivative(field, parent)
        with _autograd_on():
            if not base.requires_grad:
                # The lower derivative does not depend on the points: all higher ones vanish.
                grads = torch.zeros_like(self._x)
            else:
                (grads,) = torch.autograd.grad(
                    base, self._x, grad_outputs=torch.ones_like(base), create_graph=self._create_graph
                )
                self.grad_calls += 1
            for j in range(len(self.coordinates)):
                child = tuple(sorted(parent + (j,)))
                self._cache.setdefault((field, child), grads[:, j])
        return self._cache[key]


class AutogradEngine(DerivativeEngine):
    """Residuals on a batch with :class:`Derivatives` (reverse over reverse, cached)."""

    name = "autograd"

    def residuals(
        self,
        model: Callable[[torch.Tensor], torch.Tensor],
        points: torch.Tensor,
        coordinates: Sequence[str],
        terms: Iterable[Term],
        *,
        fields: Sequence[str] = ("u",),
    ) -> dict[str, torch.Tensor]:
        d = Derivatives(model, points, coordinates, fields=fields)
        coords = {c: d.points[:, i] for i, c in enumerate(coordinates)}
        out = {}
        for term in terms:
            values = {name: d[name] for name in term.fields}
            out[term.name] = term.fn(values, coords).reshape(-1)
        return out

    def residuals_of_sets(
        self,
        model: Callable[[torch.Tensor], torch.Tensor],
        sets: Sequence[tuple[torch.Tensor, Sequence[Term]]],
        coordinates: Sequence[str],
        *,
        fields: Sequence[str] = ("u",),
    ) -> dict[str, torch.Tensor]:
        """All point sets in one batch: one forward pass and one reverse pass per derivative.

        Rows of an MLP do not interact, so the derivatives of the concatenated batch are
        those of each set.  Fewer, larger kernels: the per-op overhead of the small
        initial and boundary sets is paid once instead of per set.
        """
        sets = [(p, list(t)) for p, t in sets]
        if len(sets) == 1 or len({(p.dtype, p.device) for p, _ in sets}) != 1:
            return super().residuals_of_sets(model, sets, coordinates, fields=fields)
        d = Derivatives(model, torch.cat([p for p, _ in sets]), coordinates, fields=fields)
        out, start = {}, 0
        for points, terms in sets:
            rows = slice(start, start + points.shape[0])
            start = rows.stop
            coords = {c: d.points[rows, i] for i, c in enumerate(coordinates)}
            for term in terms:
                values = {name: d[name][rows] for name in term.fields}
                out[term.name] = term.fn(values, coords).reshape(-1)
        return out
