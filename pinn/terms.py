"""Loss terms: a pointwise residual on one point set of the domain."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

__all__ = ["Term", "POINT_SETS"]

#: The point sets every domain provides.
POINT_SETS = ("interior", "initial", "boundary")

TermFn = Callable[[Mapping[str, torch.Tensor], Mapping[str, torch.Tensor]], torch.Tensor]


@dataclass(frozen=True)
class Term:
    """One residual that training drives to zero.

    Args:
        name: the loss term's name, unique within a PDE (``"residual"``, ``"initial"``, ...).
        points: the point set it lives on, one of :data:`POINT_SETS`.
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
        if self.points not in POINT_SETS:
            raise ValueError(f"term {self.name!r}: points must be one of {POINT_SETS}, got {self.points!r}")
