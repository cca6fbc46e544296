"""A marched run's later windows on the fused step (``marching=windows derivatives=fused``).

Window ``k > 0`` of a :class:`~pinn.nets.marched.Marched` model is
``v_k(x, t) = S(x) + c_k(x, t) - c_k(x, a_k)``, ``S`` the earlier windows' state at the window's
start ``a_k`` and ``c_k`` the window's network (inside its hard constraint, if any).  The eager
engines evaluate the increment ``c_k(x, t) - c_k(x, a_k)`` at each set's points widened by the
columns ``start:FIELD`` of ``S`` and its derivatives, and the terms add them
(:class:`pinn.training.marching.StartFields`).  The fused step does the same in its graph:

- ``S`` at each set's points: computed eagerly once per point set (through the earlier windows),
  the widened points passed to the graph as data;
- the jets of ``c_k(x, a_k)`` as a function of ``(x, t)``: the network's jets from input jets
  computed at ``(x, a_k)`` with respect to ``(x, t)`` (so every stream along ``t`` is zero), and
  the hard constraint's affine coefficients likewise; data too, so the window's start ``a_k``
  never enters the graph as a constant and one compiled graph serves every window after the first.

:class:`WindowJets` makes that data; the graph subtracts the two jets (:func:`increment_fields`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from pinn.diff import jets, network_jets
from pinn.diff.transform_jets import affine_jets, transformed

__all__ = ["WindowJets", "increment_fields"]


class WindowJets:
    """The data of window ``k > 0`` of ``marched`` on the fused step, per point set (see the module
    docs).

    Args:
        marched: the :class:`~pinn.nets.marched.Marched` model, training window ``k``.
        k: the window (``> 0``).
        dim: the number of coordinates (the widened points' first columns).
    """

    def __init__(self, marched, k: int, dim: int):
        if k < 1:
            raise ValueError(f"window {k} has no start state: only windows after the first are increments")
        self.marched, self.k, self.dim = marched, k, dim

    def _real(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., :self.dim]

    def _start(self, x: torch.Tensor) -> torch.Tensor:
        """``x``'s coordinates at the window's start time (a constant in ``t``)."""
        return self.marched._at(x[..., :self.dim], self.marched.edges[self.k])

    def widened(self, loss, points) -> list[torch.Tensor]:
        """Each set's points (the loss's point sets, in order) with the start state's columns, as the
        eager engines see them (:meth:`pinn.training.marching.StartFields.prepare`)."""
        sets = [(points[w], [t for t in loss.terms if t.points == w]) for w in loss.point_sets]
        _, out, _ = loss._start.prepare(self.marched, sets, tuple(loss.pde.domain.coordinates),
                                        fields=loss.pde.fields)
        return [p for p, _ in out]

    def data(self, net, transform, closed: Sequence, outputs: int) -> tuple[tuple[list, list], tuple[list, list]]:
        """``((affine, inputs), (affine_at_start, inputs_at_start))``: the hard constraint's affine
        coefficients (flat; ``[]`` without one) and the networks' input jets, at the widened points
        and at the same points moved to the window's start, for the requests ``closed``.

        Raises:
            ValueError: where the hard constraint is not affine in the network's output.
        """
        plan = jets.make_plan([(p.shape[0], i) for p, i in closed])
        x = jets.stack(closed, plan)
        with torch.no_grad():
            inputs = network_jets.inputs_of(net, x, plan, before=self._real)
            inputs_a = network_jets.inputs_of(net, x, plan, before=self._start)
        affine: list[torch.Tensor] = []
        affine_a: list[torch.Tensor] = []
        if transform is not None:
            here = affine_jets(lambda raw, y: transform(raw, self._real(y)), closed, outputs)
            there = affine_jets(lambda raw, y: transform(raw, self._start(y)), closed, outputs)
            if here is None or there is None:
                raise ValueError("the fused step marches only hard constraints affine in the network's output "
                                 "(every built-in one is); use derivatives=autograd")
            affine, affine_a = here.tensors(), there.tensors()
        return (affine, inputs), (affine_a, inputs_a)


def increment_fields(out: torch.Tensor, out_at_start: torch.Tensor, plan, outputs: int, requests,
                     transform, transform_at_start) -> list[dict]:
    """The jets of ``c_k(x, t) - c_k(x, a_k)`` per request: the network's jets ``out`` and
    ``out_at_start`` (:func:`pinn.diff.network_jets.jets_of`) through their transforms."""
    here = transformed(jets.split(out, plan, outputs), requests, outputs, transform)
    there = transformed(jets.split(out_at_start, plan, outputs), requests, outputs, transform_at_start)
    return [{i: a[i] - b[i] for i in a} for a, b in zip(here, there)]
