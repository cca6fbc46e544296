"""Reference solution of the Allen-Cahn problem by a Fourier spectral method with ETDRK4.

    u_t = eps u_xx + 5 u - 5 u^3,   x in [-1, 1] periodic,   t in [0, 1],
    u(x, 0) = x^2 cos(pi x),        eps = 1e-4

Fourier collocation on N points x_j = -1 + 2j/N; exponential time differencing
Runge-Kutta 4 (Cox & Matthews 2002) with the contour-integral coefficients of Kassam &
Trefethen (2005), which keep them accurate where ``L dt`` is small.

``scripts/allen_cahn_reference.py --check`` prints its convergence in N and dt.
"""

from __future__ import annotations

import numpy as np

__all__ = ["solve", "fourier_interpolate"]


def solve(n: int = 2048, dt: float = 1e-4, *, eps: float = 1e-4, t_end: float = 1.0, saves: int = 200,
          contour_points: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, t, u)`` with ``u[:, k]`` at ``t[k] = k t_end / saves``."""
    steps = int(round(t_end / dt))
    every = steps // saves
    if every * saves != steps:
        raise ValueError(f"t_end / dt = {steps} steps must be a multiple of saves = {saves}")
    x = -1 + 2 * np.arange(n) / n
    k = np.pi * np.fft.fftfreq(n, d=1.0 / n)  # wavenumbers for period 2
    lin = -eps * k**2
    e, e2 = np.exp(dt * lin), np.exp(dt * lin / 2)
    r = np.exp(1j * np.pi * (np.arange(1, contour_points + 1) - 0.5) / contour_points)
    lr = dt * lin[:, None] + r[None, :]
    q = dt * np.real(np.mean((np.exp(lr / 2) - 1) / lr, axis=1))
    f1 = dt * np.real(np.mean((-4 - lr + np.exp(lr) * (4 - 3 * lr + lr**2)) / lr**3, axis=1))
    f2 = dt * np.real(np.mean((2 + lr + np.exp(lr) * (-2 + lr)) / lr**3, axis=1))
    f3 = dt * np.real(np.mean((-4 - 3 * lr - lr**2 + np.exp(lr) * (4 - lr)) / lr**3, axis=1))

    def nonlinear(v_hat):
        u = np.real(np.fft.ifft(v_hat))
        return np.fft.fft(5 * u - 5 * u**3)

    v = np.fft.fft(x**2 * np.cos(np.pi * x))
    out = [np.real(np.fft.ifft(v))]
    for step in range(1, steps + 1):
        nv = nonlinear(v)
        a = e2 * v + q * nv
        na = nonlinear(a)
        b = e2 * v + q * na
        nb = nonlinear(b)
        c = e2 * a + q * (2 * nb - nv)
        nc = nonlinear(c)
        v = e * v + nv * f1 + 2 * (na + nb) * f2 + nc * f3
        if step % every == 0:
            out.append(np.real(np.fft.ifft(v)))
    return x, np.linspace(0, t_end, saves + 1), np.stack(out, axis=1)


def fourier_interpolate(x_nodes: np.ndarray, values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Trigonometric interpolation (period 2) of ``values[:, ...]`` on the nodes, at ``x``."""
    n = len(x_nodes)
    coef = np.fft.fft(values, axis=0) / n
    k = np.fft.fftfreq(n, d=1.0 / n)
    k[n // 2] = 0.0 if n % 2 == 0 else k[n // 2]  # drop the unpaired Nyquist mode: a real, symmetric interpolant
    phase = np.exp(1j * np.pi * np.outer(np.asarray(x) - x_nodes[0], k))
    return np.real(phase @ coef)
