"""Sine-mode initial data shared by the heat and wave equations."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import math

from pinn.physics.domain_base import SpaceTimeDomain
from pinn.pdes.base import _xp, finite

__all__ = ["check_mode_pairs", "check_modes", "mode_sum", "pair_wavenumbers", "wavenumber"]


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


def check_mode_pairs(modes: Sequence[Sequence[int]], amplitudes: Sequence[float], *, example: str
                     ) -> tuple[tuple[tuple[int, int], ...], tuple[float, ...]]:
    """Validate 2-D modes ``[m, n]`` (pairs of positive integers) and their amplitudes (one each);
    ``example``: the fix the error message gives, e.g. ``pde.modes=[[20,1]] pde.amplitudes=[1.0]``."""
    modes, amplitudes = [list(m) for m in modes], list(amplitudes)
    if not modes or len(modes) != len(amplitudes):
        raise ValueError(f"pde.modes and pde.amplitudes need the same, nonzero length, got {len(modes)} and "
                         f"{len(amplitudes)}; e.g. {example}")
    for m in modes:
        if len(m) != 2 or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in m):
            raise ValueError(f"each mode is a pair of positive integers [m, n], got {m!r}")
    return tuple((m, n) for m, n in modes), tuple(finite("amplitude", a) for a in amplitudes)


def wavenumber(domain: SpaceTimeDomain, k: int) -> float:
    """``k pi / L`` for mode ``k`` on the domain's first spatial interval of length ``L``."""
    return k * math.pi / (domain.upper[0].item() - domain.lower[0].item())


def pair_wavenumbers(domain: SpaceTimeDomain, m: int, n: int) -> tuple[float, float]:
    """``(m pi / Lx, n pi / Ly)`` for the 2-D mode ``(m, n)`` on the domain's box."""
    lo, hi = domain.lower, domain.upper
    return m * math.pi / (hi[0] - lo[0]).item(), n * math.pi / (hi[1] - lo[1]).item()


def mode_sum(domain: SpaceTimeDomain, modes, amplitudes, x, y, t=None, *, in_time: Callable | None = None):
    """``sum_i a_i sin(wx_i (x - x0)) sin(wy_i (y - y0))``, each term times ``in_time(wx_i, wy_i,
    t - t0)`` where ``t`` is given (arrays or tensors alike)."""
    xp = _xp(x)
    x0, y0, t0 = (domain.lower[i].item() for i in range(3))
    total = 0
    for (m, n), a in zip(modes, amplitudes):
        wx, wy = pair_wavenumbers(domain, m, n)
        term = a * xp.sin(wx * (x - x0)) * xp.sin(wy * (y - y0))
        if t is not None and in_time is not None:
            term = term * in_time(wx, wy, t - t0)
        total = total + term
    return total
