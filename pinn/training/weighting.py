"""Loss weighting: how the weights of the loss terms move during training.

A :class:`LossWeighting` is asked by the first-order stages, at every step before the
backward pass, whether to set new weights; the weights it sets are checkpointed (in
``TrainState.loss_weights``), so a resumed run continues with them.  Write one as a class
with an ``update`` method (see ``docs/extending.md``).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import torch

from pinn.core.checks import positive_int

__all__ = ["LossWeighting", "GradNorm", "WeightingContext", "term_grad_norms"]


class WeightingContext(NamedTuple):
    """What a weighting with ``needs_context = True`` is given besides the loss parts: the model,
    the loss (a :class:`~pinn.training.losses.PINNLoss`) and the current points by set."""

    model: torch.nn.Module
    loss: object
    points: Mapping[str, torch.Tensor]


def term_grad_norms(parts: Mapping[str, torch.Tensor], names: Sequence[str],
                    params: Sequence[torch.Tensor]) -> dict[str, float]:
    """``{name: |d parts[name] / d params|}``, the parameter-gradient norm of each named term."""
    norms = {}
    for n in names:
        grads = torch.autograd.grad(parts[n], params, retain_graph=True, allow_unused=True)
        norms[n] = math.sqrt(sum(float((g * g).sum()) for g in grads if g is not None))
    return norms


class LossWeighting(abc.ABC):
    """Sets the loss terms' weights during training.

    Subclasses implement :meth:`update`.  ``every`` is how often (in first-order steps) it
    is asked; 0 never.  A subclass that sets ``needs_context = True`` is also given
    ``context=`` a :class:`WeightingContext` (the model, the loss and the points), for weights
    that need more than the terms' losses (NTK weights, :class:`pinn.training.ntk.NTKWeighting`).
    """

    every: int = 1
    needs_context: bool = False

    @abc.abstractmethod
    def update(self, weights: Mapping[str, float], parts: Mapping[str, torch.Tensor],
               params: Sequence[torch.Tensor]) -> dict[str, float] | None:
        """New weights for (some of) the terms, or ``None`` to keep them.

        Args:
            weights: the current weight of every term, by name.
            parts: each term's unweighted loss, still attached to the graph.
            params: the trained parameters.
        """

    def due(self, step: int) -> bool:
        """Whether to ask :meth:`update` before the first-order step ``step + 1``."""
        return bool(self.every) and step % self.every == 0


class GradNorm(LossWeighting):
    """Learning-rate annealing by gradient norms (Wang, Teng & Perdikaris 2021).

    Every ``every`` steps each term's weight moves towards ``sum_j |grad L_j| / |grad L_i|``
    (the parameter gradients of the unweighted terms), by ``w <- alpha w + (1 - alpha) w_new``.
    Terms of weight 0 are left out; a term with a zero or non-finite gradient keeps all weights.

    Args:
        every: steps between updates (> 0).
        alpha: the moving-average factor, in ``[0, 1)``.
    """

    def __init__(self, *, every: int = 100, alpha: float = 0.9):
        positive_int("every", every)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha < 1:
            raise ValueError(f"alpha must lie in [0, 1), got {alpha!r}")
        self.every, self.alpha = every, float(alpha)

    def update(self, weights, parts, params):
        names = [n for n, w in weights.items() if w > 0]
        norms = term_grad_norms(parts, names, params)
        total = sum(norms.values())
        if not math.isfinite(total) or any(v == 0 for v in norms.values()):
            return None
        return {n: self.alpha * weights[n] + (1 - self.alpha) * total / norms[n] for n in names}
