"""The one protocol between the training stages and the loss: how a stage gets a loss, its
gradient and, optionally, an in-graph update.

A :class:`LossBackend` wraps a loss ``fn(model, points) -> (loss, parts)`` and gives

- ``backend(model, points)``: the loss's value, eagerly (history rows, the final loss);
- :meth:`~LossBackend.value_and_grad`: the loss (NaN where a test injects a fault) with every
  trainable parameter's ``.grad`` set where it is finite (first-order and quasi-Newton stages);
- :meth:`~LossBackend.adam_update`: one Adam step, ``(loss, parts, ok)``;
- what it supports, as plain attributes: :attr:`~LossBackend.defers_checks` (``ok`` is a device
  flag, read only where the state is about to be used), :attr:`~LossBackend.static_points`
  (resampling refills the point tensors in place), :attr:`~LossBackend.takes_weighting` (it runs
  a loss weighting's steps itself), :attr:`~LossBackend.compile_seconds` (the time it spent
  compiling, which a time budget leaves out) and :meth:`~LossBackend.eager` (the same loss on the eager
  path, which a loss weighting needs: it reads the graph of each term).

The implementations: :class:`Eager` (any loss, also an :class:`~pinn.training.ensemble.EnsembleLoss`,
a :class:`~pinn.training.distributed.GlobalLoss` over ranks or a
:class:`~pinn.training.compiling.GuardedCompile`'d one),
:class:`~pinn.training.compiling.CompiledGradient` and :class:`~pinn.training.fused_step.FusedStep`.
The :class:`~pinn.training.session.Session` holds exactly one and never asks what it is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

__all__ = ["LossBackend", "Eager", "as_backend", "finite_grads"]


def finite_grads(params) -> bool:
    """Whether every gradient of ``params`` is finite (a missing one counts as finite)."""
    return all(p.grad is None or bool(torch.isfinite(p.grad).all()) for p in params)


class LossBackend:
    """How stages get the loss, its gradient and an update (see the module docs).

    Args:
        fn: the loss, ``fn(model, points) -> (loss, parts)``.
        loss: the plain loss underneath ``fn`` (a :class:`~pinn.training.losses.PINNLoss`, whose
            ``weights`` a loss weighting sets and whose ``exact_gradients`` a line search asks for);
            default ``fn`` itself.

    Subclasses give :meth:`value_and_grad`, and may give :meth:`adam_update` an in-graph step.
    """

    #: ``adam_update``'s ``ok`` is a device flag, read only where the state is about to be used.
    defers_checks: bool = False
    #: Resampling refills the point tensors in place (fixed addresses, as CUDA graphs need).
    static_points: bool = False
    #: It takes a loss weighting: the steps given ``before_backward`` (the weighting's turn) run
    #: eagerly, the others on its own path with the weights as they are.  Otherwise the session
    #: trains on :meth:`eager` throughout.
    takes_weighting: bool = False

    @property
    def compile_seconds(self) -> float:
        """The seconds spent compiling so far (0 for a backend that compiles nothing): a time
        budget (``Trainer(max_seconds=...)``) does not count them."""
        return 0.0

    def __init__(self, fn: Callable, *, loss=None):
        if not callable(fn):
            raise TypeError(f"a loss backend needs a loss, fn(model, points) -> (loss, parts); got {fn!r:.60}")
        self.fn = fn
        self.loss: Any = fn if loss is None else loss

    def __call__(self, model: nn.Module, points: Mapping[str, torch.Tensor]):
        """The loss's value, eagerly: ``(loss, parts)``."""
        return self.fn(model, points)

    @property
    def weights(self) -> dict:
        """The plain loss's term weights (``{}`` if it has none)."""
        return getattr(self.loss, "weights", {})

    def exact_gradients(self):
        """A context in which gradients are the loss's own (no gradient clipping), for line searches."""
        exact = getattr(self.loss, "exact_gradients", None)
        return exact() if exact is not None else contextlib.nullcontext()

    def eager(self) -> LossBackend:
        """The same loss on the eager path (for a loss weighting, which reads each term's graph)."""
        return Eager(self.fn, loss=self.loss)

    def value_and_grad(self, model: nn.Module, points: Mapping[str, torch.Tensor], *, fault: bool = False,
                       before_backward: Callable[[Mapping[str, torch.Tensor]], None] | None = None):
        """``(loss, parts)``, with every trainable parameter's ``.grad`` set where the loss is finite.

        Args:
            fault: make the loss NaN, as a diverged step would be (a test's injected fault).
            before_backward: called with the parts before the backward pass (the loss weighting's turn).
        """
        raise NotImplementedError

    def adam_update(self, opt: torch.optim.Optimizer, model: nn.Module, points: Mapping[str, torch.Tensor], *,
                    fault: bool = False, before_backward=None):
        """One step of ``opt``: ``(loss, parts, ok)``; where ``ok`` is false nothing changed.

        ``ok`` is a ``bool``, or a device flag with :attr:`defers_checks`."""
        opt.zero_grad(set_to_none=True)
        loss, parts = self.value_and_grad(model, points, fault=fault, before_backward=before_backward)
        ok = bool(torch.isfinite(loss)) and finite_grads(p for g in opt.param_groups for p in g["params"])
        if ok:
            opt.step()
        return loss, parts, ok


class Eager(LossBackend):
    """The loss's graph and ``loss.backward()``: any loss, with a loss weighting too."""

    def value_and_grad(self, model, points, *, fault=False, before_backward=None):
        loss, parts = self.fn(model, points)
        if fault:
            loss = loss * float("nan")
        if bool(torch.isfinite(loss)):
            if before_backward is not None:
                before_backward(parts)
            loss.backward()
        return loss, parts


def as_backend(loss_fn) -> LossBackend:
    """``loss_fn`` itself if it is a :class:`LossBackend`, else :class:`Eager` over it."""
    return loss_fn if isinstance(loss_fn, LossBackend) else Eager(loss_fn)
