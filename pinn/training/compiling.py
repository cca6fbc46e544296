"""``torch.compile`` with a guard: a function that fails to compile runs eagerly instead.

Compilation happens lazily, at the first call (and again when a guard fails, e.g.
a new dtype).  If that raises, :class:`GuardedCompile` logs one line and calls the
eager function from then on, so a missing compiler, an unsupported op or a
dynamo limitation never stops a run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch

__all__ = ["GuardedCompile"]

log = logging.getLogger(__name__)


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
                root = e
                while True:  # the compiler's own error, not dynamo's wrappers
                    inner = root.__cause__ or getattr(root, "inner_exception", None)
                    if inner is None or inner is root:
                        break
                    root = inner
                first = (str(root).strip().splitlines() or [""])[0][:200]
                self.failed = f"{type(e).__name__}: {type(root).__name__}: {first}"
                log.warning("torch.compile of %s failed (%s); running it eagerly", self.what, self.failed)
        return self.fn(*args, **kwargs)
