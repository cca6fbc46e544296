"""Choice of derivative engine by name."""

from __future__ import annotations

from pinn.diff.autograd import AutogradEngine
from pinn.diff.functional import FuncEngine
from pinn.diff.fused import FusedEngine
from pinn.diff.taylor import TaylorEngine

__all__ = ["ENGINES", "get_engine"]

ENGINES = {"autograd": AutogradEngine, "func": FuncEngine, "taylor": TaylorEngine, "fused": FusedEngine}


def get_engine(name: str):
    """Return a derivative engine by name (one of ``ENGINES``)."""
    try:
        return ENGINES[name]()  # type: ignore[abstract]
    except (KeyError, TypeError):
        choices = ", ".join(sorted(ENGINES))
        raise ValueError(f"unknown derivative engine {name!r}; choose one of: {choices} "
                         f"(e.g. derivatives=autograd)") from None
