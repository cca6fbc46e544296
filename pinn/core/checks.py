"""The library's argument checks, in one place, so that every option is checked the same way and
says the same thing: ``NAME must be a positive integer, got 0``.

Each returns the value it checked (an ``int`` or a ``float``), or raises a ``ValueError`` that
names the option.  ``hint`` is inserted before ``, got``: ``(0: off)``, ``(e.g. model.width=20)``.
A ``bool`` is never a number here (``True`` is not ``1`` steps).
"""

from __future__ import annotations

import math
from collections.abc import Collection

__all__ = ["choice", "count", "number", "positive", "positive_int"]


def _hint(hint: str) -> str:
    return f" {hint}" if hint else ""


def positive_int(name: str, value, *, hint: str = "") -> int:
    """``value``, an ``int >= 1``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer{_hint(hint)}, got {value!r}")
    return value


def count(name: str, value, *, hint: str = "") -> int:
    """``value``, an ``int >= 0``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0{_hint(hint)}, got {value!r}")
    return value


def positive(name: str, value, *, hint: str = "") -> float:
    """``value``, a finite number ``> 0``, as a float."""
    return number(name, value, low=0.0, strict=True, hint=hint)


def number(name: str, value, *, low: float | None = None, strict: bool = False, hint: str = "") -> float:
    """``value``, a finite number, ``>= low`` (``> low`` when ``strict``) if ``low`` is given, as a float."""
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if strict else value >= low
    if not ok:
        bound = "" if low is None else f" {'>' if strict else '>='} {low:g}"
        raise ValueError(f"{name} must be a finite number{bound}{_hint(hint)}, got {value!r}")
    return float(value)


def choice(name: str, value, choices: Collection, *, hint: str = ""):
    """``value``, one of ``choices``; the error lists them."""
    if value not in choices:
        listed = ", ".join(str(c) for c in choices)
        raise ValueError(f"{name} must be one of: {listed}{_hint(hint)}, got {value!r}")
    return value
