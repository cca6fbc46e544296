"""``torch.compile`` with a guard: a function that fails to compile runs eagerly instead.

Compilation happens lazily, at the first call (and again when a guard fails, e.g.
a new dtype).  If that raises, :class:`GuardedCompile` logs one line and calls the
eager function from then on, so a missing compiler, an unsupported op or a
dynamo limitation never stops a run.
"""

from __future__ import annotations

import logging
import time
import types
from collections.abc import Callable

import torch
from torch import nn
from torch.func import functional_call, grad_and_value

from pinn.training.backends import LossBackend
__all__ = ["CompileClock", "GuardedCompile", "CompiledGradient", "own_code"]

log = logging.getLogger(__name__)


def _first_line(e: BaseException) -> str:
    """The compiler's own error in one line, not dynamo's wrappers around it."""
    root = e
    while True:
        inner = root.__cause__ or getattr(root, "inner_exception", None)
        if inner is None or inner is root:
            break
        root = inner
    first = (str(root).strip().splitlines() or [""])[0][:200]
    return f"{type(e).__name__}: {type(root).__name__}: {first}"


def own_code(fn):
    """``fn`` with a code object of its own: dynamo keeps its compiled graphs per code object and
    stops compiling one after a few recompilations, which one per run (a sweep's jobs in one
    process, the tests) would otherwise reach."""
    return types.FunctionType(fn.__code__.replace(), fn.__globals__, closure=fn.__closure__)


def _signature(value):
    """What a compiled function's tensor guards see of an argument: shapes, dtypes and devices."""
    if isinstance(value, torch.Tensor):
        return value.shape, value.dtype, value.device
    if isinstance(value, (list, tuple)):
        return tuple(_signature(v) for v in value)
    if isinstance(value, dict):
        return tuple((k, _signature(v)) for k, v in value.items())
    return value is None


class CompileClock:
    """The seconds a lazily compiled function spends compiling.

    ``clock(fn, *args)`` calls ``fn(*args)``; a call whose arguments' shapes, dtypes and devices
    (what the tensor guards of ``torch.compile(dynamic=False)`` check) were not seen before
    compiles, and is timed whole into :attr:`seconds` (its one step of work is in it too: a
    millisecond beside tens of seconds).  A time budget leaves these seconds out
    (:class:`~pinn.training.session.Session`), so that a marched run's first windows, whose
    share of the budget is a few seconds, are not spent compiling.
    """

    def __init__(self):
        self.seconds = 0.0
        self._seen: set = set()

    def __call__(self, fn: Callable, *args):
        key = _signature(args)
        if key in self._seen:
            return fn(*args)
        start = time.perf_counter()
        out = fn(*args)
        self.seconds += time.perf_counter() - start
        self._seen.add(key)
        return out


class GuardedCompile:
    """Call ``torch.compile(fn)``; on the first failure, warn once and call ``fn`` itself.

    Args:
        fn: the function to compile.
        what: a short name for the warning (e.g. ``"the loss"``).
        options: keyword arguments of ``torch.compile`` (``mode``, ``dynamic``, ...).
    """

    def __init__(self, fn: Callable, *, what: str = "the function", **options):
        self.fn = fn
        self.what = what
        self.compiled = torch.compile(fn, **options)
        self.failed: str | None = None

    def __call__(self, *args, **kwargs):
        if self.failed is None:
            try:
                return self.compiled(*args, **kwargs)
            except Exception as e:  # any compiler failure: fall back, never stop the run
                self.failed = _first_line(e)
                log.warning("torch.compile of %s failed (%s); running it eagerly", self.what, self.failed)
        return self.fn(*args, **kwargs)


class _LossOf(nn.Module):
    """``loss(model, points)`` as a module, so that ``functional_call`` can swap ``model``'s parameters."""

    def __init__(self, model: nn.Module, loss):
        super().__init__()
        self.model = model
        self.loss = loss

    def forward(self, points):
        return self.loss(self.model, points)


class CompiledGradient(LossBackend):
    """The loss and its parameter gradient as one compiled graph.

    ``torch.func.grad_and_value`` of the loss as a function of the trainable parameters, under
    ``torch.compile(fullgraph=True)``: the forward pass, the residuals and the reverse pass fuse
    into one graph with no Python between them.  It needs a loss whose residuals take input
    derivatives without ``torch.autograd.grad`` (``derivatives=taylor``); with any other, or on
    any compiler failure, :meth:`loss_and_grad` logs one line and takes the eager
    ``loss.backward()`` path from then on.  Adam and quasi-Newton stages call
    :meth:`loss_and_grad` (unless a loss weighting needs the eager graph of the terms); called
    like the loss itself, it is the eager loss (history rows, evaluation).

    The optimizer stays ``torch.optim``'s, outside the graph: its state is what checkpoints
    hold, and a naively compiled ``opt.step()`` inside the graph is silently wrong (the
    parameters stop changing; ``tests/test_compiled_gradient.py`` checks they move).  Inductor's
    CPU kernels are deterministic: a resumed run is bit-identical to an uninterrupted one.

    Args:
        fn: the loss, ``fn(model, points) -> (loss, parts)``.
        model: the network whose trainable parameters get gradients.
        backend: ``torch.compile``'s backend (``"inductor"``: fused kernels; ``"aot_eager"``
            traces the same graph without generating code, for tests).
    """

    def __init__(self, fn, model: nn.Module, *, backend: str = "inductor"):
        super().__init__(fn)
        self._module = _LossOf(model, fn)
        self._names = [n for n, p in self._module.named_parameters() if p.requires_grad]
        self._params = [p for p in self._module.parameters() if p.requires_grad]

        def value_and_grad(params, points):
            def loss_of(ps):
                return functional_call(self._module, dict(zip(self._names, ps)), (points,))

            return grad_and_value(loss_of, has_aux=True)(params)

        own = own_code(value_and_grad)
        # Guards on tensors only (shapes, dtypes: a float64 switch or RAR-D's new points still
        # recompile): the Python state the graph reads (the loss's weights and options, the
        # network's structure) is fixed for the life of one run (a loss weighting, which changes
        # the weights, takes the eager path), and checking it cost 155 us of a 2 ms step.
        self._compiled = torch.compile(own, fullgraph=True, dynamic=False, backend=backend,
                                       options={"guard_filter_fn": torch.compiler.keep_tensor_guards_unsafe})
        self.failed: str | None = None
        self._clock = CompileClock()

    @property
    def compile_seconds(self) -> float:
        return self._clock.seconds

    def value_and_grad(self, model, points, *, fault=False, before_backward=None):
        """The backend protocol's gradient (:class:`~pinn.training.backends.LossBackend`): from the
        compiled graph.  A loss weighting (``before_backward``) takes :meth:`eager` instead."""
        if before_backward is not None:
            raise ValueError("a compiled gradient has no graph of the terms for a loss weighting; use eager()")
        loss, parts = self.loss_and_grad(model, points)
        return (loss * float("nan") if fault else loss), parts

    def loss_and_grad(self, model, points):
        """``(loss, parts)`` with every trainable parameter's ``.grad`` set, from the compiled graph."""
        if self.failed is None:
            try:
                grads, (loss, parts) = self._clock(self._compiled, tuple(p.detach() for p in self._params), points)
            except Exception as e:  # any compiler or tracing failure: eager from now on
                self.failed = _first_line(e)
                log.warning("compiling the loss and its gradient failed (%s); running them eagerly", self.failed)
            else:
                for p, g in zip(self._params, grads):
                    p.grad = g
                return loss, parts
        loss, parts = self.fn(model, points)
        if torch.isfinite(loss):
            loss.backward()
        return loss, parts
