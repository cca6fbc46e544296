"""The fused engine: the Taylor engine's residuals, trained by one compiled graph per step.

As a derivative engine it *is* the Taylor engine (the same residuals, the same numbers).
What ``derivatives=fused`` adds is on the training side
(:class:`pinn.training.fused_step.FusedStep`): each Adam step is one compiled graph through the
network's jets (:func:`pinn.diff.jets.forward`), the loss, the hand-written adjoint
(:func:`pinn.diff.jets.adjoint`) and the update; quasi-Newton stages take the loss and its
gradient from the same graph without the update.  The adjoint is written for a plain
:class:`~pinn.nets.mlp.MLP` on affine inputs with the built-in activations (``tanh``, ``sin``,
``softplus``); any other MLP the jet engines take (embeddings, the modified trunk, adaptive
slopes) is differentiated by ``torch.func.vjp`` through its jets
(:mod:`pinn.diff.network_jets`) in the same graph.  Bare or inside a hard constraint;
derivatives up to second order.
"""

from __future__ import annotations

from pinn.diff.taylor import TaylorEngine
from pinn.nets.activations import Sin, Softplus, Tanh
from pinn.nets.marched import Marched
from pinn.nets.mlp import jet_support

__all__ = ["FusedEngine", "fused_support"]

#: The activations whose third derivative the adjoint has in closed form.
FUSED_ACTIVATIONS = (Tanh, Sin, Softplus)


def fused_support(model) -> str | None:
    """Why ``model`` cannot take the fused step, or ``None`` if it can: what the jet engines take
    (:func:`~pinn.nets.mlp.jet_support`).  A plain trunk on affine inputs with the activations of
    :data:`FUSED_ACTIVATIONS` takes the hand-written adjoint; any other the vjp of the jets of
    :mod:`pinn.diff.network_jets`.  A marched model (:class:`~pinn.nets.marched.Marched`) is judged by
    its windows' network (:mod:`pinn.training.fused_window` takes the windows after the first)."""
    if isinstance(model, Marched):
        model = model.windows[0]
    why = jet_support(model)
    return None if why is None else f"the fused engine trains {why}"


class FusedEngine(TaylorEngine):
    """The Taylor engine, marked for the fused training step (see the module's docs)."""

    name = "fused"

    def check(self, model) -> None:
        """The network the fused step trains (:func:`fused_support`)."""
        why = fused_support(model)
        if why is not None:
            raise ValueError(f"{why}; use derivatives=autograd")
