"""Residual-based adaptive resampling of the collocation points (RAR-D, Wu et al. 2023).

Every ``every`` Adam steps (and, optionally, every ``lbfgs_every`` iterations of the
quasi-Newton stage) the interior points are redrawn from the density

    p(x) ∝ |r(x)|^k / mean(|r|^k) + c

over a fresh candidate set, ``r`` being the PDE residual of the current network: points
gather where the residual is large (``k`` sharpens that), while ``c`` keeps a uniform
share so no region is abandoned.  ``k = 0`` (or a large ``c``) is plain resampling.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from pinn.core.checks import count, number, positive_int
from pinn.diff.engines import eager_engine
from pinn.physics.sampling import Sampler
from pinn.training.losses import PINNLoss

__all__ = ["RARD"]


class RARD:
    """Redraw the interior points from the residual density (see the module docs).

    Args:
        loss: the loss whose PDE residual (its ``"residual"`` term) drives the density; the
            candidates are drawn in its PDE's domain.
        sampler: how the candidates are drawn.
        every: Adam steps between resamplings (0: none in the Adam stage).
        lbfgs_every: quasi-Newton (L-BFGS/BFGS) iterations between resamplings (0: none;
            the default).  Redrawn between chunks of iterations, so it acts at the first chunk
            boundary at or past each multiple.  Best with the dense methods
            (``stages.quasi_newton.method=bfgs|ssbfgs``), whose curvature pairs are always taken
            on one point set; L-BFGS mixes the two sets in one pair after each redraw.
        candidates: candidate points per resampling, at least the interior set's size; 0:
            ten times the interior set's size.
        k: the residual's exponent (>= 0).
        c: the uniform share (>= 0; ``k`` and ``c`` not both 0).
        generator: the random source for candidates and the draw.
        chunk: candidates per residual evaluation (bounds the memory).
    """

    def __init__(self, loss: PINNLoss, sampler: Sampler, *, every: int, candidates: int = 0,
                 k: float = 1.0, c: float = 1.0, generator: torch.Generator, chunk: int = 16384,
                 lbfgs_every: int = 0):
        for name, value in (("every", every), ("lbfgs_every", lbfgs_every), ("candidates", candidates)):
            count(name, value)
        if every == 0 and lbfgs_every == 0:
            raise ValueError("every must be > 0 (Adam steps), or lbfgs_every > 0 (quasi-Newton iterations), or both")
        positive_int("chunk", chunk)
        for name, exponent in (("k", k), ("c", c)):
            number(name, exponent, low=0)
        if k == 0 and c == 0:
            raise ValueError("k and c cannot both be 0 (the density would be 0/0); the usual is k=1, c=1")
        self.residual_terms = [t for t in loss.terms if t.points == "interior"]
        self.fields = loss.pde.fields
        self.engine, self.domain = loss.engine, loss.pde.domain
        self.coordinates = tuple(self.domain.coordinates)
        self.sampler, self.generator = sampler, generator
        self.every, self.candidates, self.k, self.c, self.chunk = every, candidates, float(k), float(c), chunk
        self.lbfgs_every = lbfgs_every
        self.window: tuple[float, float] | None = None  # a marched run's window: candidates drawn inside it

    def check(self, interior: int) -> None:
        """Raise unless there are at least ``interior`` candidates per redraw."""
        if self.candidates and self.candidates < interior:
            raise ValueError(f"candidates ({self.candidates}) must be at least the interior set's size ({interior})")

    def density(self, model: nn.Module, points: torch.Tensor) -> torch.Tensor:
        """The unnormalised density ``|r|^k / mean(|r|^k) + c`` at ``points`` ``(N, d)``, as ``(N,)``;
        with several equations ``|r|`` is the root sum of their squares."""
        r = torch.cat([self._size(points[i:i + self.chunk], model) for i in range(0, points.shape[0], self.chunk)])
        e = r**self.k
        mean = e.mean()
        return (e / mean if mean > 0 else torch.ones_like(e)) + self.c

    def _size(self, points: torch.Tensor, model: nn.Module) -> torch.Tensor:
        engine = eager_engine(self.engine, model)  # a marched model's windows on autograd, not the jets
        res = engine.residuals(model, points, self.coordinates, self.residual_terms, fields=self.fields)
        if len(res) == 1:
            return next(iter(res.values())).detach().abs()
        return torch.sqrt(sum(r.detach() ** 2 for r in res.values()))

    def __call__(self, model: nn.Module, points: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``points`` with the interior set redrawn (same size, dtype and device)."""
        interior = points["interior"]
        n = interior.shape[0]
        self.check(n)
        cand = self.domain.sample("interior", self.candidates or 10 * n, self.sampler, generator=self.generator)
        if self.window is not None:
            cand = self.domain.into_window(cand, *self.window)
        cand = cand.to(dtype=interior.dtype, device=interior.device)
        if self.k == 0:  # a uniform density: no residual to evaluate
            p = torch.ones(cand.shape[0], dtype=torch.float64)
        else:
            p = self.density(model, cand).to(device="cpu", dtype=torch.float64)
        if not bool(torch.isfinite(p).all()):
            return dict(points)  # a non-finite residual: keep the points; the trainer's roll-back handles it
        pick = torch.multinomial(p, n, replacement=False, generator=self.generator)
        return {**points, "interior": cand[pick.to(cand.device)]}
