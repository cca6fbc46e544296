"""Sine-mode initial data shared by the heat and wave equations."""

from __future__ import annotations

from collections.abc import Sequence

import math

from pinn.physics.domain_base import SpaceTimeDomain
from pinn.pdes.base import finite

__all__ = ["check_modes", "wavenumber"]


def check_modes(
    modes: Sequence[int], amplitudes: Sequence[float], *, lowest: int = 1
) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Validate modes ``k`` (integers >= ``lowest``) and their amplitudes (one each)."""
    modes, amplitudes = list(modes), list(amplitudes)
    if not modes:
        raise ValueError("at least one sine mode is needed, e.g. pde.modes=[1] pde.amplitudes=[1.0]")
    if len(modes) != len(amplitudes):
        raise ValueError(f"pde.modes and pde.amplitudes need the same length, got {len(modes)} and {len(amplitudes)}")
    for k in modes:
        if isinstance(k, bool) or not isinstance(k, int) or k < lowest:
            raise ValueError(f"modes must be integers >= {lowest}, got {k!r}")
    return tuple(modes), tuple(finite("amplitude", a) for a in amplitudes)


def wavenumber(domain: SpaceTimeDomain, k: int) -> float:
    """``k pi / L`` for mode ``k`` on the domain's first spatial interval of length ``L``."""
    return k * math.pi / (domain.upper[0].item() - domain.lower[0].item())
