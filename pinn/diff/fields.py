"""Names of solution fields and their partial derivatives.

A field name is ``"u"`` for the solution itself, or ``"u_"`` followed by one
coordinate name per differentiation: ``"u_x"``, ``"u_xx"``, ``"u_xt"``.  Coordinate
names are therefore single characters.  Mixed partials are symmetric, so ``"u_xt"``
and ``"u_tx"`` name the same derivative; :func:`parse_field` returns a canonical key.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["parse_field", "field_name"]


def parse_field(name: str, coordinates: Sequence[str]) -> tuple[int, ...]:
    """Turn a field name into a sorted tuple of coordinate indices.

    Args:
        name: ``"u"`` or ``"u_<coords>"``, e.g. ``"u_xx"``.
        coordinates: the coordinate names of the domain, e.g. ``("x", "t")``.

    Returns:
        The multi-index, e.g. ``(0, 0)`` for ``"u_xx"`` with ``("x", "t")``; ``()`` for ``"u"``.
    """
    if name == "u":
        return ()
    if not name.startswith("u_") or len(name) < 3:
        raise ValueError(f"field name {name!r} is not 'u' or 'u_' followed by coordinate names, e.g. 'u_xx'")
    try:
        return tuple(sorted(coordinates.index(c) for c in name[2:]))
    except ValueError:
        raise ValueError(
            f"field {name!r} differentiates along a coordinate that is not one of {tuple(coordinates)}"
        ) from None


def field_name(index: tuple[int, ...], coordinates: Sequence[str]) -> str:
    """Inverse of :func:`parse_field`: ``(0, 0)`` -> ``"u_xx"``."""
    return "u" if not index else "u_" + "".join(coordinates[i] for i in index)
