"""Reference solutions by a Fourier spectral method with ETDRK4: Allen-Cahn (:func:`solve`), the
nonlinear Schrodinger equation (:func:`solve_nls`), Kuramoto-Sivashinsky (:func:`solve_ks`) and
Gray-Scott in 2-D (:func:`solve_gs`).

    u_t = eps u_xx + 5 u - 5 u^3,   x in [-1, 1] periodic,   t in [0, 1],
    u(x, 0) = x^2 cos(pi x),        eps = 1e-4

Fourier collocation on N points x_j = -1 + 2j/N; exponential time differencing
Runge-Kutta 4 (Cox & Matthews 2002) with the contour-integral coefficients of Kassam &
Trefethen (2005), which keep them accurate where ``L dt`` is small.

``scripts/allen_cahn_reference.py --check`` prints its convergence in N and dt.
"""

from __future__ import annotations

import numpy as np

__all__ = ["solve", "solve_gs", "solve_ks", "solve_nls", "fourier_interpolate"]


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

    out = _march(np.fft.fft(x**2 * np.cos(np.pi * x)), nonlinear, (e, e2, q, f1, f2, f3), steps, every)
    return x, np.linspace(0, t_end, saves + 1), np.real(out)


def _march(v: np.ndarray, nonlinear, coefficients, steps: int, every: int, physical=np.fft.ifft) -> np.ndarray:
    """ETDRK4 (Cox and Matthews 2002) from the Fourier coefficients ``v``: ``steps`` steps, the
    physical values (``physical(v)``, ``(n,)`` by default) kept every ``every`` (and at the start),
    stacked along a new last axis: ``(n, steps // every + 1)``."""
    e, e2, q, f1, f2, f3 = coefficients
    out = [physical(v)]
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
            out.append(physical(v))
    return np.stack(out, axis=-1)


def fourier_interpolate(x_nodes: np.ndarray, values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Trigonometric interpolation (period 2) of ``values[:, ...]`` on the nodes, at ``x``."""
    n = len(x_nodes)
    coef = np.fft.fft(values, axis=0) / n
    k = np.fft.fftfreq(n, d=1.0 / n)
    k[n // 2] = 0.0 if n % 2 == 0 else k[n // 2]  # drop the unpaired Nyquist mode: a real, symmetric interpolant
    phase = np.exp(1j * np.pi * np.outer(np.asarray(x) - x_nodes[0], k))
    return np.real(phase @ coef)


def _etdrk4_coefficients(lin: np.ndarray, dt: float, contour_points: int):
    """ETDRK4's ``(e, e2, q, f1, f2, f3)`` for a diagonal linear part ``lin`` (complex allowed), by
    Kassam and Trefethen's contour mean over a full circle about each ``dt * lin``."""
    r = np.exp(2j * np.pi * (np.arange(1, contour_points + 1) - 0.5) / contour_points)
    lr = dt * lin[:, None] + r[None, :]
    q = dt * np.mean((np.exp(lr / 2) - 1) / lr, axis=1)
    f1 = dt * np.mean((-4 - lr + np.exp(lr) * (4 - 3 * lr + lr**2)) / lr**3, axis=1)
    f2 = dt * np.mean((2 + lr + np.exp(lr) * (-2 + lr)) / lr**3, axis=1)
    f3 = dt * np.mean((-4 - 3 * lr - lr**2 + np.exp(lr) * (4 - lr)) / lr**3, axis=1)
    return np.exp(dt * lin), np.exp(dt * lin / 2), q, f1, f2, f3


def solve_nls(n: int = 512, steps_per_save: int = 25, *, saves: int = 800, t_end: float = np.pi / 2,
              half_width: float = 5.0, contour_points: int = 64,
              initial=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The nonlinear Schrodinger equation of Raissi et al. (2019),

        i h_t + 0.5 h_xx + |h|^2 h = 0,   x in [-5, 5] periodic,   t in [0, pi/2],   h(x, 0) = 2 sech(x),

    by Fourier collocation on ``n`` points and ETDRK4 with ``saves * steps_per_save`` steps.
    ``initial``, a function of the grid ``x``, replaces 2 sech(x) as the initial profile.
    Returns ``(x, t, h)``, ``h`` complex ``(n, saves + 1)`` at ``t[k] = k t_end / saves``."""
    x = -half_width + 2 * half_width * np.arange(n) / n
    k = (np.pi / half_width) * np.fft.fftfreq(n, d=1.0 / n)
    dt = t_end / (saves * steps_per_save)
    e, e2, q, f1, f2, f3 = _etdrk4_coefficients(-0.5j * k**2, dt, contour_points)

    def nonlinear(v_hat):
        h = np.fft.ifft(v_hat)
        return np.fft.fft(1j * np.abs(h) ** 2 * h)

    h0 = 2 / np.cosh(x) if initial is None else np.asarray(initial(x), dtype=np.complex128)
    out = _march(np.fft.fft(h0), nonlinear, (e, e2, q, f1, f2, f3), saves * steps_per_save,
                 steps_per_save)
    return x, np.linspace(0, t_end, saves + 1), out


def solve_ks(n: int = 512, steps_per_save: int = 16, *, saves: int = 250, t_end: float = 1.0,
             alpha: float = 100 / 16, beta: float = 100 / 16**2, gamma: float = 100 / 16**4,
             contour_points: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PINNacle's Kuramoto-Sivashinsky problem (``KuramotoSivashinskyEquation``),

        u_t + alpha u u_x + beta u_xx + gamma u_xxxx = 0,   x in [0, 2 pi] periodic,   t in [0, 1],
        u(x, 0) = cos(x) (1 + sin(x)),

    Kassam and Trefethen's ``kursiv`` (x in [0, 32 pi], t <= 100) rescaled: alpha = 100/16,
    beta = 100/16^2, gamma = 100/16^4.  Fourier collocation on ``n`` points ``x_j = 2 pi j / n``
    and ETDRK4 with ``saves * steps_per_save`` steps; the nonlinear term as ``-(alpha / 2) (u^2)_x``.
    Returns ``(x, t, u)``, ``u`` real ``(n, saves + 1)`` at ``t[k] = k t_end / saves``."""
    x = 2 * np.pi * np.arange(n) / n
    k = np.fft.fftfreq(n, d=1.0 / n)  # integer wavenumbers: period 2 pi
    dt = t_end / (saves * steps_per_save)
    coefficients = _etdrk4_coefficients(beta * k**2 - gamma * k**4, dt, contour_points)
    g = -0.5j * alpha * k

    def nonlinear(v_hat):
        u = np.real(np.fft.ifft(v_hat))
        return g * np.fft.fft(u * u)

    out = _march(np.fft.fft(np.cos(x) * (1 + np.sin(x))), nonlinear, coefficients, saves * steps_per_save,
                 steps_per_save)
    return x, np.linspace(0, t_end, saves + 1), np.real(out)


def solve_gs(n: int = 128, steps_per_save: int = 20, *, saves: int = 40, t_end: float = 200.0,
             eps: tuple[float, float] = (1e-5, 5e-6), feed: float = 0.04, kill: float = 0.1,
             contour_points: int = 32) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """PINNacle's Gray-Scott problem (``GrayScottEquation``),

        u_t = eps_u Lap(u) + b (1 - u) - u v^2,   v_t = eps_v Lap(v) - d v + u v^2,

    on ``[-1, 1]^2`` (periodic), ``t`` in ``[0, 200]``, ``u(x, y, 0) = 1 - exp(-80 ((x + 0.05)^2 +
    (y + 0.02)^2))``, ``v(x, y, 0) = exp(-80 ((x - 0.05)^2 + (y - 0.02)^2))``, b = 0.04, d = 0.1.
    Fourier collocation on ``n x n`` points ``-1 + 2 j / n`` and ETDRK4 (the diffusion and the
    linear reaction parts ``-b u`` and ``-d v`` exact) with ``saves * steps_per_save`` steps.
    Returns ``(x, t, u, v)``, ``u`` and ``v`` of shape ``(n, n, saves + 1)``, indexed ``[x, y, t]``."""
    x = -1 + 2 * np.arange(n) / n
    k = np.pi * np.fft.fftfreq(n, d=1.0 / n)  # period 2
    k2 = (k[:, None] ** 2 + k[None, :] ** 2).ravel()
    dt = t_end / (saves * steps_per_save)
    lin = np.concatenate([-eps[0] * k2 - feed, -eps[1] * k2 - kill])
    coefficients = _etdrk4_coefficients(lin, dt, contour_points)
    coefficients = tuple(np.real(c) if np.iscomplexobj(c) else c for c in coefficients)
    m = n * n
    forcing = np.zeros(2 * m, dtype=complex)
    forcing[0] = feed * m  # b, the constant part of b (1 - u), in fft2's scaling

    def nonlinear(w_hat):
        u = np.real(np.fft.ifft2(w_hat[:m].reshape(n, n)))
        v = np.real(np.fft.ifft2(w_hat[m:].reshape(n, n)))
        uvv = np.fft.fft2(u * v * v).ravel()
        return np.concatenate([-uvv, uvv]) + forcing

    gx, gy = np.meshgrid(x, x, indexing="ij")
    u0 = 1 - np.exp(-80 * ((gx + 0.05) ** 2 + (gy + 0.02) ** 2))
    v0 = np.exp(-80 * ((gx - 0.05) ** 2 + (gy - 0.02) ** 2))

    def physical(w_hat):
        return np.real(np.stack([np.fft.ifft2(w_hat[:m].reshape(n, n)), np.fft.ifft2(w_hat[m:].reshape(n, n))]))

    w = np.concatenate([np.fft.fft2(u0).ravel(), np.fft.fft2(v0).ravel()])
    out = _march(w, nonlinear, coefficients, saves * steps_per_save, steps_per_save, physical)  # (2, n, n, T)
    u, v = out[0], out[1]
    u[..., 0], v[..., 0] = u0, v0  # the initial values themselves, not their round trip through the FFT
    return x, np.linspace(0, t_end, saves + 1), u, v
