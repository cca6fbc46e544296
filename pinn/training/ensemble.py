"""Ensembles as models: K networks of one architecture, trained at once by the ordinary stages.

:class:`Ensemble` stacks the members' parameters (``torch.func.stack_module_state``): each is
one ``nn.Parameter`` with a leading member axis.  :class:`EnsembleLoss` evaluates every
member's loss on its own points with one ``vmap`` over ``functional_call``, so each layer is one
batched matrix product instead of K small ones, and returns their sum.  The summed loss has
block-diagonal gradients and Adam is elementwise, so every member follows exactly the path it
would follow alone (up to rounding): member ``k`` is the single run with that member's weights
and points.

Because an ensemble is a model and its loss a loss, it trains through the one training path
(:class:`~pinn.training.loop.Trainer`, :func:`pinn.train`): learning-rate decay, roll-back
after a non-finite loss, checkpoints, resume and time budgets are those of every run.
Quasi-Newton stages do not apply: their line searches and dot products couple the members.
The input derivatives come from an engine that needs no ``torch.autograd.grad`` inside
``vmap``: ``taylor`` or ``func``.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from pinn.core.checks import positive_int
from pinn.training.losses import PINNLoss

__all__ = ["Ensemble", "EnsembleLoss", "EnsembleResult", "train_ensemble", "ENGINES"]

#: The derivative engines an ensemble can train with (no ``autograd.grad`` inside ``vmap``).
ENGINES = ("taylor", "func")


def _key(name: str) -> str:
    """A parameter's dotted name as a name a module may register (``layers.0.weight`` -> ``layers-0-weight``)."""
    return name.replace(".", "-")


class Ensemble(nn.Module):
    """K networks of one architecture as one module, their parameters stacked along a first axis.

    Args:
        members: the K >= 1 networks (same parameter names and shapes); they are copied, not
            trained in place.

    ``forward(x)`` is the members' mean prediction, ``(N, F)``: what evaluation scores.
    :meth:`predictions` gives every member's, ``(K, N, F)``, and :meth:`member` one member as an
    ordinary module.  ``state_dict()`` holds the stacked tensors, so a checkpoint of an ensemble
    is an ordinary checkpoint.
    """

    def __init__(self, members: Sequence[nn.Module]):
        super().__init__()
        members = list(members)
        if not members or not all(isinstance(m, nn.Module) for m in members):
            raise ValueError("an Ensemble needs at least one network (a list of nn.Module)")
        shapes = {tuple((n, tuple(t.shape)) for n, t in m.state_dict().items()) for m in members}
        if len(shapes) != 1:
            raise ValueError("ensemble members must share one architecture (same parameter names and shapes)")
        params, buffers = stack_module_state(members)
        self.size = len(members)
        self._names = {_key(n): n for n in [*params, *buffers]}
        if len(self._names) != len(params) + len(buffers):
            raise ValueError("the members' parameter names collide once '.' is replaced by '-'; rename them")
        self.stacked = nn.ParameterDict({_key(n): nn.Parameter(v.detach().clone()) for n, v in params.items()})
        for n, v in buffers.items():
            self.register_buffer(_key(n), v.detach().clone())
        self._buffer_keys = [_key(n) for n in buffers]
        # The members' structure without storage: every tensor is replaced in functional_call.  Kept
        # in a tuple so that it is not a submodule (its meta tensors are neither saved nor moved).
        self._template = (copy.deepcopy(members[0]).to("meta"),)

    @property
    def template(self) -> nn.Module:
        """A member's structure (on the meta device): what :func:`functional_call` fills in."""
        return self._template[0]

    def member_tensors(self) -> dict[str, torch.Tensor]:
        """``{dotted name: stacked (K, ...) tensor}`` of every parameter and buffer."""
        tensors = {self._names[k]: p for k, p in self.stacked.items()}
        tensors.update({self._names[k]: getattr(self, k) for k in self._buffer_keys})
        return tensors

    def predictions(self, x: torch.Tensor) -> torch.Tensor:
        """Every member's output at ``x`` (N, d): ``(K, N, F)``."""
        template = self.template
        return vmap(lambda state: functional_call(template, state, (x,)))(self.member_tensors())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.predictions(x).mean(dim=0)

    def member(self, k: int) -> nn.Module:
        """Member ``k`` as an ordinary module (a copy, on the ensemble's device and dtype)."""
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < self.size:
            raise ValueError(f"member must be an integer from 0 to {self.size - 1}, got {k!r}")
        out = copy.deepcopy(self.template)
        own = out.state_dict()
        tensors = {n: t[k].detach().clone() for n, t in self.member_tensors().items()}
        out.load_state_dict({n: t for n, t in tensors.items() if n in own}, assign=True)
        for n in set(tensors) - set(own):  # non-persistent buffers are not in a state dict
            owner, _, name = n.rpartition(".")
            out.get_submodule(owner)._buffers[name] = tensors[n]
        return out


class _MemberLoss(nn.Module):
    """``forward(points) -> (total, parts)`` of one member, for ``functional_call``."""

    def __init__(self, net: nn.Module, loss: PINNLoss):
        super().__init__()
        self.net = net
        self.loss = loss

    def forward(self, points):
        total, parts = self.loss(self.net, points)
        return total, {k: v for k, v in parts.items() if k in self.loss.term_names}


class EnsembleLoss:
    """The summed loss of an :class:`Ensemble`, each member on its own points: ``(model, points) ->
    (loss, parts)``, like :class:`~pinn.training.losses.PINNLoss`.

    Args:
        loss: one member's loss; its engine must be one of :data:`ENGINES`.
        shared: the points are one set for all members (``(N, d)`` tensors) instead of one per
            member (``(K, N, d)``).

    ``parts`` holds each term summed over the members, and ``loss_member_k``: member ``k``'s loss.
    """

    def __init__(self, loss: PINNLoss, *, shared: bool = False):
        if not isinstance(loss, PINNLoss):
            raise TypeError(f"EnsembleLoss wraps a PINNLoss, got {type(loss).__name__}")
        name = getattr(loss.engine, "name", type(loss.engine).__name__)
        if name not in ENGINES:
            raise ValueError(f"ensembles need derivatives=taylor or derivatives=func (no autograd.grad inside vmap), "
                             f"got {name}")
        self.loss, self.shared = loss, shared

    @property
    def weights(self) -> dict:
        """The member loss's term weights (shared by all members)."""
        return self.loss.weights

    def __call__(self, model: Ensemble, points: Mapping[str, torch.Tensor]):
        if not isinstance(model, Ensemble):
            raise TypeError(f"EnsembleLoss needs an Ensemble, got {type(model).__name__}")
        template = _MemberLoss(model.template, self.loss)

        def member(state, pts):
            return functional_call(template, {f"net.{n}": v for n, v in state.items()}, (pts,))

        totals, parts = vmap(member, in_dims=(0, None if self.shared else 0))(model.member_tensors(), dict(points))
        out = {k: v.sum() for k, v in parts.items()}
        out.update({f"loss_member_{k}": totals[k] for k in range(model.size)})
        return totals.sum(), out


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


def train_ensemble(
    models: Sequence[nn.Module],
    loss: PINNLoss,
    points: Sequence[Mapping[str, torch.Tensor]] | Mapping[str, torch.Tensor],
    *,
    steps: int,
    lr: float = 1e-3,
    adam_impl: str = "foreach",
    log_every: int = 100,
    callback: Callable[[dict], None] | None = None,
) -> EnsembleResult:
    """Train ``models`` (same architecture, different initial weights) with Adam, all at once: an
    :class:`Ensemble` trained by a :class:`~pinn.training.loop.Trainer` with one Adam stage.

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
    from pinn.training.loop import Trainer
    from pinn.training.stages import Adam

    k = len(models)
    if k < 1:
        raise ValueError("an ensemble needs at least one model")
    wrapped = EnsembleLoss(loss, shared=isinstance(points, Mapping))
    positive_int("steps", steps)
    ensemble = Ensemble(models)
    if isinstance(points, Mapping):
        stacked = dict(points)
    else:
        if len(points) != k:
            raise ValueError(f"give one point dict per member ({k}) or one shared dict, got {len(points)}")
        stacked = {name: torch.stack([p[name] for p in points]) for name in points[0]}
    history = []

    def record(row: dict) -> None:
        out = {"step": row["step"], "loss": row["loss"],
               "member_losses": [row[f"loss_member_{i}"] for i in range(k)], "seconds": row["seconds"]}
        history.append(out)
        if callback is not None:
            callback(out)

    start = time.perf_counter()
    Trainer([Adam(steps=steps, lr=lr, impl=adam_impl, log_every=log_every)], max_failures=0).fit(
        ensemble, wrapped, stacked, callback=record)
    return EnsembleResult([ensemble.member(i) for i in range(k)], history, time.perf_counter() - start)
