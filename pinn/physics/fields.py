"""Names of solution fields and their partial derivatives.

A PDE declares its fields (``("u",)``, or ``("u", "v", "p")`` for a flow).  A name is a field
alone (``"v"``), or the field, ``_`` and one coordinate name per differentiation:
``"u_x"``, ``"v_yy"``, ``"p_xt"``.  Coordinate names may be longer than one character
(``x0 ... x4`` in 5-D: ``"u_x0x3"``); a name is split into the coordinates it lists, and one
that can be split two ways is refused.  Mixed partials are symmetric, so ``"u_xt"`` and
``"u_tx"`` name the same derivative; :func:`parse` returns a canonical key.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["parse", "parse_field", "field_name"]


def _split(text: str, coordinates: Sequence[str]) -> list[list[int]]:
    """Every way of writing ``text`` as a sequence of coordinate names (as index lists)."""
    if not text:
        return [[]]
    out: list[list[int]] = []
    for i, c in enumerate(coordinates):
        if text.startswith(c):
            out.extend([i] + rest for rest in _split(text[len(c):], coordinates))
    return out


def parse(name: str, coordinates: Sequence[str], fields: Sequence[str] = ("u",)) -> tuple[int, tuple[int, ...]]:
    """``(field index, sorted multi-index)`` of a field or derivative name.

    ``parse("v_xy", ("x", "y"), ("u", "v", "p")) == (1, (0, 1))``.
    """
    field, sep, rest = name.partition("_")
    if field not in fields:
        raise ValueError(f"{name!r} names no field of this PDE: its fields are {list(fields)} "
                         f"(derivatives as 'u_x', 'u_xx', ...)")
    if not sep:
        return fields.index(field), ()
    ways = {tuple(sorted(w)) for w in _split(rest, coordinates)}
    if not ways:
        raise ValueError(f"{name!r} differentiates along something that is not a sequence of the coordinates "
                         f"{tuple(coordinates)}")
    if len(ways) > 1:
        raise ValueError(f"{name!r} can be read as several derivatives with the coordinates {tuple(coordinates)}; "
                         f"rename the coordinates so that none is a prefix of another's combinations")
    return fields.index(field), ways.pop()


def parse_field(name: str, coordinates: Sequence[str]) -> tuple[int, ...]:
    """The multi-index of a name of the single field ``u``: ``"u_xx"`` -> ``(0, 0)`` with ``("x", "t")``."""
    return parse(name, coordinates)[1]


def field_name(index: tuple[int, ...], coordinates: Sequence[str], field: str = "u") -> str:
    """Inverse of :func:`parse`: ``(0, 0)`` -> ``"u_xx"``."""
    return field if not index else field + "_" + "".join(coordinates[i] for i in index)
