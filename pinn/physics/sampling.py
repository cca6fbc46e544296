"""Samplers of the unit cube ``[0, 1)^d``, each driven by an explicit ``torch.Generator``.

Domains map unit-cube samples onto their point sets, so a sampler knows nothing
about geometry.
"""

from __future__ import annotations

import abc

import torch

__all__ = ["Sampler", "UniformSampler", "LatinHypercubeSampler", "SobolSampler", "SAMPLERS", "get_sampler"]


class Sampler(abc.ABC):
    """Draws ``n`` points in ``[0, 1)^dim``."""

    @abc.abstractmethod
    def sample(self, n: int, dim: int, *, generator: torch.Generator) -> torch.Tensor:
        """Return an ``(n, dim)`` float64 CPU tensor of points in ``[0, 1)^dim``."""


def _check(n: int, dim: int) -> None:
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"number of points must be a non-negative integer, got {n!r}")
    if not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dimension must be a positive integer, got {dim!r}")


class UniformSampler(Sampler):
    """Independent uniform points."""

    def sample(self, n: int, dim: int, *, generator: torch.Generator) -> torch.Tensor:
        _check(n, dim)
        return torch.rand(n, dim, generator=generator, dtype=torch.float64)


class LatinHypercubeSampler(Sampler):
    """Latin hypercube: each coordinate has exactly one point in each of ``n`` equal strata."""

    def sample(self, n: int, dim: int, *, generator: torch.Generator) -> torch.Tensor:
        _check(n, dim)
        jitter = torch.rand(n, dim, generator=generator, dtype=torch.float64)
        strata = torch.stack([torch.randperm(n, generator=generator) for _ in range(dim)], dim=1)
        return (strata.to(torch.float64) + jitter) / max(n, 1)


class SobolSampler(Sampler):
    """Scrambled Sobol sequence, scrambled with a seed drawn from ``generator``."""

    def sample(self, n: int, dim: int, *, generator: torch.Generator) -> torch.Tensor:
        _check(n, dim)
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        engine = torch.quasirandom.SobolEngine(dim, scramble=True, seed=seed)
        return engine.draw(n, dtype=torch.float64)


SAMPLERS: dict[str, type[Sampler]] = {
    "uniform": UniformSampler,
    "lhs": LatinHypercubeSampler,
    "sobol": SobolSampler,
}


def get_sampler(name: str) -> Sampler:
    """Return a sampler by name (one of ``SAMPLERS``)."""
    try:
        return SAMPLERS[name]()
    except (KeyError, TypeError):
        choices = ", ".join(sorted(SAMPLERS))
        raise ValueError(f"unknown sampler {name!r}; choose one of: {choices} (e.g. sampler=lhs)") from None
