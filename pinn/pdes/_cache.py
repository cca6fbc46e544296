"""Computed references, cached in the user's cache directory, and their interpolation."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pinn.io import files as io

__all__ = ["cache_dir", "cached_arrays", "snapshot_interpolate"]


def cache_dir() -> Path:
    """Where computed references are kept: ``$XDG_CACHE_HOME/pinn``, else ``~/.cache/pinn``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pinn"


def cached_arrays(path: Path, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays saved at ``path``, computed by ``compute()`` and saved (atomically) when missing;
    a read-only cache directory only costs the recomputation."""
    if not path.exists():
        arrays = compute()

        try:
            io.atomic_write(path, lambda f: np.savez_compressed(f, **arrays))  # type: ignore[arg-type]
        except OSError:
            return arrays
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def snapshot_interpolate(coef: np.ndarray, times: np.ndarray, x: np.ndarray, t: np.ndarray, *, x0: float,
                         period: float, at_zero: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """Trigonometric interpolation in x, linear in t, of Fourier coefficients ``coef`` ``(modes,
    snapshots)`` (``fft(values, axis=0) / n`` on the nodes ``x0 + j period / n``, the unpaired
    Nyquist mode dropped) at points ``(x, t)`` of one shape; complex.  ``at_zero(x)`` replaces
    snapshot 0 (initial data whose kink would ring)."""
    n = coef.shape[0]
    k = np.fft.fftfreq(n, d=1.0 / n)
    if n % 2 == 0:
        k[n // 2] = 0.0
    xb, tb = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(t, dtype=np.float64))
    flat_x, flat_t = xb.reshape(-1), tb.reshape(-1)
    out = np.empty(flat_x.shape, dtype=np.complex128)
    pos = np.clip(np.interp(flat_t, times, np.arange(len(times))), 0, len(times) - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, len(times) - 1)
    w = pos - lo
    for start in range(0, len(flat_x), 512):
        sl = slice(start, start + 512)
        phase = np.exp(2j * np.pi / period * np.outer(flat_x[sl] - x0, k))  # (points, modes)
        at_lo = np.einsum("pm,mp->p", phase, coef[:, lo[sl]])
        at_hi = np.einsum("pm,mp->p", phase, coef[:, hi[sl]])
        if at_zero is not None:
            at_lo = np.where(lo[sl] == 0, at_zero(flat_x[sl]), at_lo)
        out[sl] = (1 - w[sl]) * at_lo + w[sl] * at_hi
    return out.reshape(xb.shape)
