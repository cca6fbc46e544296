"""One network per field: a system's fields learned by separate MLPs, side by side."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from pinn.core.checks import positive_int
from pinn.nets.mlp import MLP

__all__ = ["PerFieldMLP"]


class PerFieldMLP(nn.Module):
    """``outputs`` separate :class:`~pinn.nets.mlp.MLP` s of one output each, their values stacked
    in field order: ``(N, d) -> (N, outputs)``.  Fields that share no weights cannot compete for
    one network's capacity (a pressure beside a velocity); the price is ``outputs`` times the
    parameters and forward passes.  Every argument is the MLP's, given to each; the networks are
    drawn one after the other from ``generator``.

    Args:
        inputs: which coordinates each field's network sees, by name: ``{"a": ["x", "y"]}`` makes
            the field ``a`` a function of x and y alone, exactly (PINNacle's HInv learns a
            coefficient field that does not change in time).  Fields not named see every
            coordinate.  Names need ``coordinates`` and ``fields``, which the builder supplies.
        coordinates: the PDE's coordinate names, in input order.
        fields: the PDE's field names, in output order (``outputs`` of them).
    """

    def __init__(self, lower: torch.Tensor, upper: torch.Tensor, *, outputs: int = 1,
                 generator: torch.Generator, inputs: Mapping[str, Sequence[str]] | None = None,
                 coordinates: Sequence[str] | None = None, fields: Sequence[str] | None = None,
                 periodic: Sequence[int] = (), **mlp_arguments):
        super().__init__()
        positive_int("outputs", outputs)
        lower = torch.as_tensor(lower, dtype=torch.float64).reshape(-1)
        upper = torch.as_tensor(upper, dtype=torch.float64).reshape(-1)
        seen = _seen(inputs or {}, coordinates, fields, outputs, lower.numel())
        periodic = tuple(int(i) for i in periodic)
        nets = []
        for columns in seen:
            own_periodic = tuple(columns.index(i) for i in periodic if i in columns)
            nets.append(MLP(lower[list(columns)], upper[list(columns)], outputs=1, generator=generator,
                            periodic=own_periodic, **mlp_arguments))
        self.nets = nn.ModuleList(nets)
        every = tuple(range(lower.numel()))
        self.columns = tuple(None if c == every else c for c in seen)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [net(x if cols is None else x[..., list(cols)]) for net, cols in zip(self.nets, self.columns)]
        return torch.cat([o.reshape(*x.shape[:-1], 1) for o in outs], dim=-1)


def _seen(inputs: Mapping, coordinates, fields, outputs: int, d: int) -> list[tuple[int, ...]]:
    """The input columns of each field's network (all ``d`` for a field ``inputs`` does not name)."""
    every = tuple(range(d))
    if not inputs:
        return [every] * outputs
    if not isinstance(inputs, Mapping):
        raise ValueError(f"inputs must map field names to lists of coordinate names, e.g. {{a: [x, y]}}, "
                         f"got {inputs!r}")
    if coordinates is None or fields is None:
        raise ValueError("inputs names fields and coordinates: give coordinates=... and fields=... "
                         "(the builder does this for model=per_field)")
    coordinates, fields = list(coordinates), list(fields)
    if len(fields) != outputs or len(coordinates) != d:
        raise ValueError(f"fields {fields} and coordinates {coordinates} do not match outputs={outputs} "
                         f"and the {d}-coordinate box")
    seen = [every] * outputs
    for field, names in inputs.items():
        if field not in fields:
            raise ValueError(f"inputs names the field {field!r}; the fields are {fields}")
        if isinstance(names, str) or not isinstance(names, Sequence) or not names:
            raise ValueError(f"inputs.{field} must be a non-empty list of coordinate names from {coordinates}, "
                             f"got {names!r}")
        unknown = [n for n in names if n not in coordinates]
        if unknown or len(set(names)) != len(names):
            raise ValueError(f"inputs.{field} must name distinct coordinates from {coordinates}, got {list(names)}")
        seen[fields.index(field)] = tuple(sorted(coordinates.index(n) for n in names))
    return seen
