"""Choice of derivative engine by name."""

from __future__ import annotations

from pinn.diff.autograd import AutogradEngine
from pinn.diff.functional import FuncEngine
from pinn.diff.fused import FusedEngine
from pinn.diff.taylor import TaylorEngine
from pinn.nets.marched import Marched

__all__ = ["ENGINES", "get_engine", "eager_engine"]

ENGINES = {"autograd": AutogradEngine, "func": FuncEngine, "taylor": TaylorEngine, "fused": FusedEngine}


def get_engine(name: str):
    """Return a derivative engine by name (one of ``ENGINES``)."""
    try:
        return ENGINES[name]()  # type: ignore[abstract]
    except (KeyError, TypeError):
        choices = ", ".join(sorted(ENGINES))
        raise ValueError(f"unknown derivative engine {name!r}; choose one of: {choices} "
                         f"(e.g. derivatives=autograd)") from None


def eager_engine(engine, model):
    """The engine that evaluates ``model`` eagerly (residual maps, RAR-D's densities, a window's start
    state): ``engine`` itself, but the autograd engine for a marched model on a jet engine, whose
    windows' joined networks the jets do not take (the fused step trains them its own way,
    :mod:`pinn.training.fused_window`)."""
    return AutogradEngine() if isinstance(model, Marched) and isinstance(engine, TaylorEngine) else engine
