"""One network per time window, joined into one model over the whole interval (time marching).

:class:`Marched` is the model of a marched run (:mod:`pinn.training.marching`).  Its window ``k``
covers ``[a_k, a_{k+1}]`` and is

    ``v_0(x, t) = c_0(x, t)``,
    ``v_k(x, t) = v_{k-1}(x, a_k) + c_k(x, t) - c_k(x, a_k)``,

``c_k`` the window's own network.  So each window meets the previous window's end state at its
start exactly, whatever its weights: a hard initial constraint that needs nothing of the PDE.  A
condition that every ``c_k`` meets exactly on the boundary (Dirichlet values through a hard
constraint, periodicity, a linear Neumann condition) holds for every ``v_k`` too: on the boundary
``v_k = g(x, a_k) + g(x, t) - g(x, a_k) = g(x, t)``.

The derivatives of ``v_k`` are those of ``c_k`` plus the spatial derivatives of the earlier windows
at ``a_k``, through the same autograd graph, so every derivative engine that takes a plain network
takes it.  Evaluating window ``k`` costs ``2k + 1`` network passes: marching trades this for a
problem each window can learn.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from pinn.nets.parts import InputScaling

__all__ = ["Marched", "window_edges"]


def window_edges(t0: float, t1: float, width: float) -> tuple[float, ...]:
    """The edges of the fewest equal windows of length at most ``width`` over ``[t0, t1]``:
    ``(t0, ..., t1)``, the last exactly ``t1``."""
    if not t1 > t0:
        raise ValueError(f"time marching needs an interval t0 < t1, got [{t0}, {t1}]")
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not 0 < width < float("inf"):
        raise ValueError(f"marching.width must be a positive number of time units, got {width!r}")
    n = max(1, int(-(-round((t1 - t0) / width, 9) // 1)))  # ceil, with round-off of exact divisions forgiven
    return tuple(t0 + (t1 - t0) * i / n for i in range(n)) + (float(t1),)


class Marched(nn.Module):
    """Windows ``windows[k]`` on ``[edges[k], edges[k + 1]]`` joined into one model (the module docs).

    Args:
        windows: one network per window, ``(N, d) -> (N, F)``, all alike (the same class and shapes).
        edges: ``K + 1`` increasing times: the windows' bounds.
        time_axis: the time coordinate's column in the inputs.
        rescale: map each window's time span onto the whole of its networks' input scaling
            (:class:`~pinn.nets.parts.InputScaling`), so that a short window's networks see time
            over ``[-1, 1]`` as a whole-interval network does.

    While training window ``k`` (:meth:`train_window`) the model is ``v_k`` at every point and only
    ``windows[k]``'s parameters take gradients; otherwise (:meth:`whole`) each point is evaluated in
    its own window.
    """

    def __init__(self, windows: Sequence[nn.Module], edges: Sequence[float], *, time_axis: int,
                 rescale: bool = True):
        super().__init__()
        edges = _check_edges(edges, len(windows))
        shapes = [[tuple(p.shape) for p in w.parameters()] for w in windows]
        if any(s != shapes[0] for s in shapes) or len({type(w) for w in windows}) != 1:
            raise ValueError("the windows of a Marched model must be alike (one class, the same parameter shapes)")
        self.windows = nn.ModuleList(windows)
        # The edges as the bits of float64 numbers: part of the state (an adapted plan resumes with
        # its model), and never rounded by a change of the model's precision.
        self._edge_bits: torch.Tensor
        self.register_buffer("_edge_bits", torch.tensor(edges, dtype=torch.float64).view(torch.int64))
        self.time_axis, self.rescale = int(time_axis), rescale
        self.active: int | None = None
        if rescale:
            for k in range(self.used):
                _rescale_time(self.windows[k], edges[k], edges[k + 1], self.time_axis)

    @property
    def edges(self) -> tuple[float, ...]:
        """The ``K + 1`` window edges; windows past the end of the interval have zero length."""
        return tuple(self._edge_bits.view(torch.float64).tolist())

    @property
    def used(self) -> int:
        """The windows that cover the interval (those of positive length)."""
        edges = self.edges
        return sum(1 for a, b in zip(edges, edges[1:]) if b > a)

    def set_end(self, k: int, end: float) -> None:
        """End window ``k`` at ``end`` (after its start, at most the interval's end); the next window
        then runs from there to the interval's end until it is planned, and the ones after it are empty
        (the last one allocated always ends at the interval's end)."""
        edges = list(self.edges)
        if not (0 <= k < self.count and edges[k] < end <= edges[-1]):
            raise ValueError(f"window {k} cannot end at {end}: it starts at {edges[k]} and the interval ends at "
                             f"{edges[-1]}")
        if k == self.count - 1:
            end = edges[-1]
        edges[k + 1] = end
        edges[k + 2:] = [edges[-1]] * (len(edges) - k - 2)  # the next window runs to the end, until planned
        self._edge_bits.copy_(torch.tensor(edges, dtype=torch.float64).view(torch.int64))
        if self.rescale:
            _rescale_time(self.windows[k], edges[k], end, self.time_axis)

    @property
    def count(self) -> int:
        """The number of windows ``K`` allocated (:attr:`used`: those covering the interval)."""
        return len(self.windows)

    def train_window(self, k: int, *, start: bool) -> None:
        """Make window ``k`` the model and its parameters the trained ones; ``start``: first copy
        window ``k - 1``'s parameters into it (a new window; not when resuming one)."""
        if not 0 <= k < self.count:
            raise ValueError(f"window {k} does not exist: this model has windows 0..{self.count - 1}")
        if start and k:
            with torch.no_grad():
                for mine, theirs in zip(self.windows[k].parameters(), self.windows[k - 1].parameters()):
                    mine.copy_(theirs)
        for j, w in enumerate(self.windows):
            for p in w.parameters():
                p.requires_grad_(j == k)
        self.active = k

    def whole(self) -> None:
        """Evaluate every point in its own window (after training); every parameter trainable again."""
        for p in self.parameters():
            p.requires_grad_(True)
        self.active = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, d) -> (N, F)`` (a single point ``(d,)`` under ``vmap`` too)."""
        if self.active is not None:
            return self._window(self.active, x)
        used, edges = self.used, self.edges
        if x.dim() == 1 or x.shape[0] == 1:  # one point (as vmap gives them): every window, then t's own
            t = x[..., self.time_axis:self.time_axis + 1] if x.dim() > 1 else x[self.time_axis]
            out = self._window(used - 1, x)
            for k in range(used - 2, -1, -1):
                out = torch.where(t < edges[k + 1], self._window(k, x), out)
            return out
        inner = torch.tensor(edges[1:used], dtype=x.dtype, device=x.device)
        index = torch.bucketize(x[:, self.time_axis].contiguous(), inner, right=True)
        order = torch.argsort(index, stable=True)
        counts = torch.bincount(index, minlength=used).tolist()
        pieces, at = [], 0
        for k, n in enumerate(counts):
            if n:
                pieces.append(self._window(k, x[order[at:at + n]]))
            at += n
        return torch.cat(pieces)[torch.argsort(order)]

    def increment(self, k: int, x: torch.Tensor) -> torch.Tensor:
        """``c_k(x, t) - c_k(x, a_k)``: window ``k`` less its start state ``v_{k-1}(x, a_k)`` (zero at
        ``t = a_k``).  A marched run's loss adds the start state's fields, computed once per point set
        (:class:`pinn.training.marching.StartFields`), so that a step costs two network passes in
        every window instead of ``2k + 1``."""
        if k == 0:
            return self.windows[0](x)
        return self.windows[k](x) - self.windows[k](self._at(x, self.edges[k]))

    def _window(self, k: int, x: torch.Tensor) -> torch.Tensor:
        """``v_k(x)``: window ``k``'s increment plus the earlier windows' state at its start (exactly
        ``v_{k-1}`` at ``t = a_k``, where the increment is zero)."""
        if k == 0:
            return self.increment(0, x)
        return self._window(k - 1, self._at(x, self.edges[k])) + self.increment(k, x)

    def _at(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """``x`` with its time replaced by ``t`` (no dependence on the time left)."""
        axis = self.time_axis % x.shape[-1]
        column = torch.full_like(x[..., axis:axis + 1], t)
        return torch.cat([x[..., :axis], column, x[..., axis + 1:]], dim=-1)


def _check_edges(edges: Sequence[float], windows: int) -> tuple[float, ...]:
    """``edges`` as floats: ``windows + 1`` of them, increasing up to the last, which later windows
    (allocated, not yet planned) may repeat."""
    edges = tuple(float(e) for e in edges)
    if windows < 1 or len(edges) != windows + 1:
        raise ValueError(f"Marched needs K >= 1 windows and K + 1 edges, got {windows} and {len(edges)}")
    end = edges[-1]
    if not edges[0] < edges[1] or any(b < a or (b == a and a != end) for a, b in zip(edges, edges[1:])):
        raise ValueError(f"the window edges must increase (windows past the end may repeat it), got {list(edges)}")
    return edges


def _rescale_time(net: nn.Module, a: float, b: float, axis: int) -> None:
    """Set the time span of every input scaling in ``net`` to ``[a, b]``."""
    for m in net.modules():
        if isinstance(m, InputScaling):
            with torch.no_grad():
                m.center[axis] = (a + b) / 2
                m.half_width[axis] = (b - a) / 2
