"""The fused engine: the Taylor engine's residuals, trained by one compiled graph per step.

As a derivative engine it *is* the Taylor engine (the same residuals, the same numbers).
What ``derivatives=fused`` adds is on the training side
(:class:`pinn.training.fused_step.FusedStep`): each Adam step is one compiled graph through the
network's jets (:func:`pinn.diff.jets.forward`), the loss, the hand-written adjoint
(:func:`pinn.diff.jets.adjoint`) and the update; quasi-Newton stages take the loss and its
gradient from the same graph without the update.  It needs what the adjoint is written for: a
plain :class:`~pinn.nets.mlp.MLP` (bare or inside a hard constraint) whose activations are the
built-in ones (``tanh``, ``sin``, ``softplus``), derivatives up to second order.
"""

from __future__ import annotations

from pinn.diff.taylor import TaylorEngine
from pinn.nets.activations import Sin, Softplus, Tanh
from pinn.nets.mlp import jet_parts, jet_support

__all__ = ["FusedEngine", "fused_support"]

#: The activations whose third derivative the adjoint has in closed form.
FUSED_ACTIVATIONS = (Tanh, Sin, Softplus)


def fused_support(model) -> str | None:
    """Why ``model`` cannot take the fused step, or ``None`` if it can."""
    why = jet_support(model)
    if why is not None:
        return f"the fused engine trains {why}"
    if not all(type(a) in FUSED_ACTIVATIONS for a in jet_parts(model)[0].trunk.activations):
        return "the fused engine needs the built-in activations tanh, sin or softplus (no adaptive slopes)"
    return None


class FusedEngine(TaylorEngine):
    """The Taylor engine, marked for the fused training step (see the module's docs)."""

    name = "fused"

    def check(self, model) -> None:
        why = fused_support(model)
        if why is not None:
            taylor_too = jet_support(model) is None
            fix = ("derivatives=taylor (compiled with trainer.compile_gradient=true) or derivatives=autograd"
                   if taylor_too else "derivatives=autograd")
            raise ValueError(f"{why}; use {fix}")
