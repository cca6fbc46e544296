"""The model side of a job from a composed config: the PDE (on its geometry), the derivative
engine and the network (under hard constraints and learned coefficients), each a ``_target_``
node constructed by :func:`pinn.cli.targets.instantiate_checked`.  :mod:`pinn.cli.build`
assembles them with the training side into a :class:`~pinn.training.job.Job`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import torch
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict
from torch import nn

from pinn.cli.targets import instantiate_checked, load_source
from pinn.geometry.base import Geometry
from pinn.pdes.base import PDE
from pinn.physics.coefficients import make_learnable
from pinn.physics.constraints import HardConstraint
from pinn.training.marching import Windows
from pinn.physics.terms import DerivativeEngine

__all__ = ["DTYPES", "build_engine", "build_geometry", "build_model", "build_pde", "resolve_device"]


DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _choice(kind: str, value: str, choices) -> None:
    if value not in choices:
        raise ValueError(f"unknown {kind} {value!r}; choose one of: {', '.join(choices)} (e.g. {kind}={choices[0]})")


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` or ``auto`` (CUDA when available) as a ``torch.device``."""
    _choice("device", name, ["cpu", "cuda", "auto"])
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device=cuda but this torch has no CUDA device; use device=cpu or device=auto")
    return torch.device(name)


def _node(value) -> dict | None:
    """A config node as plain values (``None`` for an unset optional group)."""
    if value is None:
        return None
    node = OmegaConf.to_container(value, resolve=True) if isinstance(value, DictConfig) else value
    if not isinstance(node, dict):
        raise ValueError(f"expected a mapping with a _target_, got {node!r}")
    return node


def _required(value, key: str) -> dict:
    """A config group's node as plain values, which must be set."""
    node = _node(value)
    if node is None:
        raise ValueError(f"{key} is not set; choose one (pinn-train --help lists the options)")
    return node


def _mapping(value) -> dict[str, Any]:
    """A config mapping as plain values (``{}`` for ``None``)."""
    plain = OmegaConf.to_container(value, resolve=True) if isinstance(value, DictConfig) else value
    if plain is None:
        return {}
    if not isinstance(plain, dict):
        raise ValueError(f"expected a mapping, got {plain!r:.60}")
    return {str(k): v for k, v in plain.items()}


def _trust(trusted: bool, sources: Sequence[ModuleType]) -> dict:
    return {"trusted": trusted, "sources": list(sources),
            "fix": "if you trust the file that defines it, pass it: pinn-eval RUN --source FILE.py"}


def build_pde(cfg: DictConfig, *, trusted: bool = True, sources: Sequence[ModuleType] = ()) -> PDE:
    """Instantiate ``cfg.pde``.

    Args:
        trusted: whether ``cfg`` is the user's own (training, resuming one's own run).  A
            config read from a run directory for evaluation is not: then ``pde.source`` is
            ignored and each ``_target_`` may name only pinn's classes and those of ``sources``
            (see :mod:`pinn.cli.targets`).
        sources: modules the user loaded on the command line (``pinn-eval --source``).
    """
    node = _required(cfg.pde, "pde")
    node.pop("learn", None)  # not constructor arguments: see build_model()
    node.pop("learn_init", None)
    source = node.pop("source", None)
    sources = list(sources)
    if source and trusted:
        sources.append(load_source(source))
    own = node.pop("geometry", None)  # a PDE config's own shape (poisson2d_c's plate): the group replaces it
    geometry = build_geometry(cfg, trusted=trusted, sources=sources, default=own)
    pde = instantiate_checked(node, PDE, key="pde", offered={"geometry": geometry} if geometry is not None else None,
                              **_trust(trusted, sources))
    if geometry is not None and getattr(pde, "geometry", None) is not geometry:
        raise ValueError(f"pde={pde.name} has a fixed domain and takes no geometry; the operators that take one: "
                         f"{', '.join(OPERATORS_ON_SHAPES)} (e.g. pinn-train pde=poisson geometry=disk), or set "
                         f"geometry=null")
    return pde


#: The built-in PDEs whose constructor takes a ``geometry`` (the config group of that name).
OPERATORS_ON_SHAPES = ("poisson", "heat2d", "heat2d_cg")


def build_geometry(cfg: DictConfig, *, trusted: bool = True, sources: Sequence[ModuleType] = (),
                   default: Mapping | None = None) -> Geometry | None:
    """The shape of ``cfg.geometry``; when the group is unset, that of ``default`` (a PDE config's own
    ``pde.geometry`` node), or ``None`` (the PDE's own domain)."""
    node, key = cfg.get("geometry"), "geometry"
    if node is None:
        node, key = default, "pde.geometry"
    if node is None:
        return None
    return instantiate_checked(_required(node, key), Geometry, key=key, **_trust(trusted, sources))


def _check_starting_guesses(cfg: DictConfig, learn: list, init: list, *, trusted: bool, sources) -> None:
    """Refuse a starting guess the PDE itself would refuse as a value (a negative viscosity): the PDE
    is built once with the guesses in place of the true values, and its own checks speak.  A guess
    of 0 is left alone: it is the neutral start of an identification (Raissi et al. start nu and
    a at 0), which a PDE refuses only because its reference solution needs a positive value."""
    guesses = {k: v for k, v in zip(learn, init)
               if k in cfg.pde and isinstance(v, (int, float)) and not isinstance(v, bool) and v != 0}
    if len(init) != len(learn) or not guesses:
        return  # make_learnable names what is wrong
    probe = copy.deepcopy(cfg)
    with open_dict(probe):
        probe.pde.update(guesses)
    try:
        build_pde(probe, trusted=trusted, sources=sources)
    except ValueError as e:
        raise ValueError(f"pde.learn_init={list(init)} is not a valid starting guess: {e}") from None


def _dtype(name: str) -> torch.dtype:
    _choice("precision", name, list(DTYPES))
    return DTYPES[name]


def build_engine(cfg: DictConfig, *, trusted: bool = True, sources: Sequence[ModuleType] = ()) -> DerivativeEngine:
    """The derivative engine of ``cfg.derivatives``."""
    return instantiate_checked(_required(cfg.derivatives, "derivatives"), DerivativeEngine, key="derivatives",
                               **_trust(trusted, sources))


def _names_list(value, key: str, example: str) -> list[str]:
    """A config list of names (``pde.learn``), checked: ``None`` is empty."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple, ListConfig)) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} must be a list of names, got {value!r:.60}; e.g. {example}")
    return list(value)


def build_model(cfg: DictConfig, pde: PDE, generator: torch.Generator, engine: DerivativeEngine, *,
                trusted: bool = True, sources: Sequence[ModuleType] = ()) -> tuple[nn.Module, PDE]:
    """The network of ``cfg.model`` (under ``hard_constraints`` and learnable coefficients, if set)
    and the PDE the loss should use.

    The network's class gets the PDE's box (``lower``, ``upper``), its ``periodic`` coordinate
    indices, the ``generator``, the ``dtype`` and ``outputs`` (one per field of the PDE) besides the
    node's own arguments, and the PDE's ``coordinates`` and ``fields`` (names) if its constructor
    takes them.  The returned
    PDE is ``pde`` itself, or a second instance whose learned coefficients are the model's
    parameters; ``pde`` stays the truth (reference, data, evaluation).
    """
    context = {"lower": pde.domain.lower, "upper": pde.domain.upper, "periodic": pde.periodic_indices(),
               "generator": generator, "dtype": _dtype(cfg.precision), "outputs": len(pde.fields)}
    offered = {"coordinates": pde.domain.coordinates, "fields": pde.fields}
    model = instantiate_checked(_required(cfg.model, "model"), nn.Module, key="model", context=context, offered=offered,
                                **_trust(trusted, sources))
    model = model.to(resolve_device(cfg.device))
    if cfg.hard_constraints:
        model = HardConstraint(model, pde)
    learn = _names_list(cfg.pde.get("learn"), "pde.learn", "pde.learn=[nu]")
    if cfg.get("marching") is not None:
        if learn:
            raise ValueError("time marching does not learn pde coefficients yet; set pde.learn=null or marching=null")
        for key in ("trainer.compile", "trainer.compile_gradient"):
            if OmegaConf.select(cfg, key, default=False):
                raise ValueError(f"time marching trains eagerly (each window's start state is cached outside a "
                                 f"compiled graph); set {key}=false or marching=null")
        windows = instantiate_checked(_required(cfg.marching, "marching"), Windows, key="marching",
                                      **_trust(trusted, sources))
        model = windows.model(model, pde)
    trained_pde = pde
    if learn:
        init = cfg.pde.get("learn_init") or []
        if not isinstance(init, (list, tuple, ListConfig)):
            raise ValueError(f"pde.learn_init must be a list of starting values, one per name in pde.learn, got "
                             f"{init!r:.60}; e.g. pde.learn_init=[0.05]")
        init = list(init)
        _check_starting_guesses(cfg, learn, init, trusted=trusted, sources=sources)
        trained_pde = copy.deepcopy(pde)  # a second instance, whose coefficients become parameters
        model = make_learnable(trained_pde, model, learn, init)
    engine.check(model)
    return model, trained_pde
