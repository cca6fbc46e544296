"""Loss terms (a pointwise residual on one point set) and the interface of derivative engines."""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import torch

__all__ = ["Term", "POINT_SETS", "DerivativeEngine"]

#: The point sets every domain provides (a domain over a shape adds ``boundary:PART``, one per named
#: part, and ``point:NAME``, one per named point).
POINT_SETS = ("interior", "initial", "boundary")

TermFn = Callable[[Mapping[str, torch.Tensor], Mapping[str, torch.Tensor]], torch.Tensor]


@dataclass(frozen=True)
class Term:
    """One residual that training drives to zero.

    Args:
        name: the loss term's name, unique within a PDE (``"residual"``, ``"initial"``, ...).
        points: the point set it lives on, one of :data:`POINT_SETS`, ``boundary:PART`` for one
            named part of a shape's boundary, or ``point:NAME`` for one of its named points (a
            point constraint such as p(0, 0) = 0; see :class:`pinn.physics.shape_domain.ShapeDomain`).
        fields: the field names it reads, e.g. ``("u", "u_x", "u_xx")``.
        fn: ``fn(fields, coords) -> residual``. ``fields`` maps each name in
            ``fields`` to a tensor, ``coords`` maps each coordinate name to a tensor,
            all of one common shape (a batch ``(N,)`` or a single point ``()``).
            It must be elementwise and must not mutate its inputs.
    """

    name: str
    points: str
    fields: tuple[str, ...]
    fn: TermFn

    def __post_init__(self):
        named = any(self.points.startswith(p) and len(self.points) > len(p) for p in ("boundary:", "point:"))
        if self.points not in POINT_SETS and not named:
            raise ValueError(f"term {self.name!r}: points must be one of {POINT_SETS}, 'boundary:PART' or "
                             f"'point:NAME', got {self.points!r}")


class DerivativeEngine(abc.ABC):
    """Computes the fields a set of terms reads and evaluates the terms.

    Engines differ only in how they differentiate; they must agree to round-off.
    """

    name: str

    def check(self, model) -> None:  # noqa: B027 - a hook: most engines take every network
        """Raise a ``ValueError`` naming the fix if this engine cannot differentiate ``model``."""

    @abc.abstractmethod
    def residuals(
        self,
        model: Callable[[torch.Tensor], torch.Tensor],
        points: torch.Tensor,
        coordinates: Sequence[str],
        terms: Iterable[Term],
        *,
        fields: Sequence[str] = ("u",),
    ) -> dict[str, torch.Tensor]:
        """Evaluate every term on ``points``, an ``(N, d)`` batch of one point set.

        ``fields`` names the model's outputs, one column each (``("u", "v", "p")``).

        Returns:
            ``{term.name: (N,) residual}``.
        """

    def residuals_of_sets(
        self,
        model: Callable[[torch.Tensor], torch.Tensor],
        sets: Sequence[tuple[torch.Tensor, Sequence[Term]]],
        coordinates: Sequence[str],
        *,
        fields: Sequence[str] = ("u",),
    ) -> dict[str, torch.Tensor]:
        """Evaluate several point sets, each ``(points, terms)``; by default one by one.

        Engines may override this to share work between the sets (one batched pass).
        """
        out: dict[str, torch.Tensor] = {}
        for points, terms in sets:
            out.update(self.residuals(model, points, coordinates, terms, fields=fields))
        return out
