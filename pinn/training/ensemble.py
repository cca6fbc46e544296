"""Ensembles: K independent networks trained at once, with ``torch.func`` ``vmap``.

The members' parameters are stacked (``torch.func.stack_module_state``) and one
``vmap`` over ``functional_call`` evaluates every member's loss on its own points, so
each layer becomes one batched matrix product instead of K small ones.  The summed
loss has block-diagonal gradients, and Adam is elementwise, so every member follows
exactly the path it would follow alone (up to rounding): member ``k`` of an ensemble
is the single run with that member's seed and points.

L-BFGS couples all parameters through its dot products, so ensembles train with
Adam only.  The input derivatives come from an engine that needs no
``torch.autograd.grad`` inside ``vmap``: ``taylor`` (the default) or ``func``.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from pinn.training.losses import PINNLoss
from pinn.training.stages import adam

__all__ = ["EnsembleResult", "train_ensemble"]


@dataclass
class EnsembleResult:
    """What :func:`train_ensemble` returns.

    Attributes:
        models: the trained members, as ordinary modules (copies of the inputs).
        history: one row per logged step: ``step``, ``loss`` (the sum over members),
            ``member_losses`` (a list) and ``seconds``.
        seconds: training wall time.
    """

    models: list[nn.Module]
    history: list[dict]
    seconds: float


class _MemberLoss(nn.Module):
    """``forward(points) -> (total, parts)`` of one member, for ``functional_call``."""

    def __init__(self, net: nn.Module, loss: PINNLoss):
        super().__init__()
        self.net = net
        self.loss = loss

    def forward(self, points):
        total, parts = self.loss(self.net, points)
        return total, {k: v for k, v in parts.items() if k in self.loss.term_names}


def train_ensemble(
    models: Sequence[nn.Module],
    loss: PINNLoss,
    points: Sequence[Mapping[str, torch.Tensor]],
    *,
    steps: int,
    lr: float = 1e-3,
    adam_impl: str = "foreach",
    log_every: int = 100,
    callback: Callable[[dict], None] | None = None,
) -> EnsembleResult:
    """Train ``models`` (same architecture, different initial weights) with Adam, all at once.

    Args:
        models: the K members, e.g. MLPs built from K seeds.
        loss: the PINN loss; its engine must be ``taylor`` or ``func``.
        points: K point dicts (one per member, same sizes), or one dict shared by all.
        steps: Adam steps (>= 1).
        lr: Adam learning rate.
        adam_impl: see :data:`pinn.training.stages.ADAM_IMPLS`.
        log_every: steps between history rows.
        callback: called with each history row.
    """
    k = len(models)
    if k < 1:
        raise ValueError("an ensemble needs at least one model")
    if getattr(loss.engine, "name", None) not in ("taylor", "func"):
        raise ValueError(f"ensembles need derivatives=taylor or derivatives=func (no autograd.grad inside vmap), "
                         f"got {getattr(loss.engine, 'name', type(loss.engine).__name__)}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if len({tuple((n, tuple(p.shape)) for n, p in m.state_dict().items()) for m in models}) != 1:
        raise ValueError("ensemble members must share one architecture (same parameter names and shapes)")
    shared = isinstance(points, Mapping)
    if not shared and len(points) != k:
        raise ValueError(f"give one point dict per member ({k}) or one shared dict, got {len(points)}")
    stacked_points = points if shared else {
        name: torch.stack([p[name] for p in points]) for name in points[0]
    }
    params, buffers = stack_module_state(list(models))
    params = {name: nn.Parameter(v.detach().clone()) for name, v in params.items()}
    template = _MemberLoss(copy.deepcopy(models[0]).to("meta"), loss)

    def member(p, b, pts):
        state = {f"net.{n}": v for n, v in {**p, **b}.items()}
        return functional_call(template, state, (pts,))

    batched = vmap(member, in_dims=(0, 0, None if shared else 0))
    opt = adam(list(params.values()), lr=lr, impl=adam_impl)
    history, start = [], time.perf_counter()
    for step in range(1, steps + 1):
        opt.zero_grad(set_to_none=True)
        totals, _ = batched(params, buffers, stacked_points)
        total = totals.sum()
        if not math.isfinite(float(total.detach())):
            raise FloatingPointError(f"an ensemble member's loss became non-finite at step {step}: "
                                     f"{totals.detach().tolist()}; lower lr")
        total.backward()
        opt.step()
        if step % log_every == 0 or step == steps:
            row = {"step": step, "loss": float(total.detach()), "member_losses": totals.detach().tolist(),
                   "seconds": time.perf_counter() - start}
            history.append(row)
            if callback is not None:
                callback(row)
    seconds = time.perf_counter() - start
    trained = []
    for i, m in enumerate(models):
        out = copy.deepcopy(m)
        with torch.no_grad():
            for name, p in out.named_parameters():
                p.copy_(params[name][i])
        trained.append(out)
    return EnsembleResult(trained, history, seconds)
