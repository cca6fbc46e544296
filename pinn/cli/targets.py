"""Resolve a config's ``_target_`` to a class, checking it before anything is called.

A run directory is data, never code.  ``pinn-eval`` reads the config of a run that may
come from someone else, so for such a config (``trusted=False``) nothing the config
names is imported or called unless it is one of:

* the package's own classes (a ``_target_`` under ``pinn.``), or
* a class defined in a Python file the user named on the command line
  (``pinn-eval RUN --source mine.py``), never one the run directory names.

For the user's own config (training, and resuming one's own run: ``trusted=True``),
``source:`` files are loaded and ``_target_`` may name any importable class.  In both
cases the target must be a class deriving from the expected base *before* it is called,
and its arguments must be plain values: a nested ``_target_`` (or another Hydra
instantiation key) is refused rather than instantiated.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType

__all__ = ["load_source", "resolve_class", "instantiate_checked"]

_HYDRA_KEYS = ("_target_", "_args_", "_partial_", "_recursive_", "_convert_")


def load_source(path: str | Path, *, search: Sequence[Path] = (), key: str = "pde.source") -> ModuleType:
    """Import the Python file ``path`` as the module named by its stem (``mine.py`` -> ``mine``).

    A relative path is looked up from the working directory, then in each of ``search``.
    """
    path = Path(path)
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, *(Path(d) / path for d in search)]
    found = next((c.resolve() for c in candidates if c.is_file()), None)
    if found is None:
        looked = list(dict.fromkeys(str(c.parent) for c in candidates))
        raise ValueError(f"{key}: no Python file {str(path)!r} (looked in {', '.join(looked)})")
    name = found.stem
    loaded = sys.modules.get(name)
    if loaded is not None:
        if Path(getattr(loaded, "__file__", "") or "").resolve() == found:
            return loaded
        raise ValueError(f"{key}: a module named {name!r} is already imported from "
                         f"{getattr(loaded, '__file__', 'elsewhere')}; rename {found.name}")
    spec = importlib.util.spec_from_file_location(name, found)
    if spec is None or spec.loader is None:
        raise ValueError(f"{key}: {found} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        del sys.modules[name]
        raise ValueError(f"{key}: importing {found} failed: {type(e).__name__}: {e}") from None
    return module


def _classes_of(modules: Sequence[ModuleType], base: type) -> dict[str, type]:
    """``{"module.Class": Class}`` for the ``base`` subclasses defined in ``modules``."""
    out = {}
    for module in modules:
        for attr, obj in vars(module).items():
            if isinstance(obj, type) and issubclass(obj, base) and obj.__module__ == module.__name__:
                out[f"{module.__name__}.{attr}"] = obj
    return out


def _import_attr(target: str) -> object:
    """The object ``a.b.C.d`` names: the longest importable module prefix, then attributes."""
    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(target)


def resolve_class(target: object, base: type, *, key: str, trusted: bool,
                  sources: Sequence[ModuleType] = (), fix: str = "") -> type:
    """The class ``target`` names, which must derive from ``base``.

    Args:
        target: the ``_target_`` string.
        base: the class the target must derive from (checked before any call).
        key: the config key, for messages (``pde._target_``).
        trusted: whether the config is the user's own; if not, only ``pinn.`` classes and
            classes defined in ``sources`` are resolved, and nothing else is imported.
        sources: modules the user loaded (``--source`` files, or trusted ``source:`` files).
        fix: how to allow a target that an untrusted config names, for the message.
    """
    if not isinstance(target, str) or not target:
        raise ValueError(f"{key} must name a class, got {target!r}")
    allowed = _classes_of(sources, base)
    if target in allowed:
        return allowed[target]
    if not trusted and not target.startswith("pinn."):
        raise ValueError(f"{key} {target!r} is not a pinn class, and a run directory's config is not allowed to "
                         f"import code{'; ' + fix if fix else ''}")
    try:
        obj = _import_attr(target)
    except (ImportError, AttributeError, ValueError) as e:
        raise ValueError(f"{key}: cannot find {target!r} ({type(e).__name__}); check the name, or set its "
                         f"source file (pde.source)") from None
    if not (isinstance(obj, type) and issubclass(obj, base)):
        raise ValueError(f"{key} must name a {base.__module__}.{base.__qualname__} subclass, got {target!r}")
    if not trusted and not str(getattr(obj, "__module__", "")).startswith("pinn."):
        # ``pinn.nets.mlp.nn.Identity`` starts with "pinn." but is torch's class, reached through an attribute
        raise ValueError(f"{key} {target!r} is {obj.__module__}.{obj.__qualname__}, not a pinn class, and a run "
                         f"directory's config is not allowed to name other code{'; ' + fix if fix else ''}")
    return obj


def _check_plain(value: object, key: str) -> None:
    """Refuse Hydra instantiation keys anywhere inside an argument."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            if k in _HYDRA_KEYS:
                raise ValueError(f"{key}.{k}: nested instantiation is not allowed; give plain values")
            _check_plain(v, f"{key}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_plain(v, f"{key}[{i}]")


def _unknown_arguments(cls: type, names) -> list[str]:
    """The names among ``names`` that ``cls``'s constructor does not take (none if it takes ``**kwargs``)."""
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return []
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return []
    return [n for n in names if n not in {p.name for p in params}]


def _taken_arguments(cls: type) -> set[str]:
    """The names ``cls``'s constructor takes (by name, not through ``**kwargs``)."""
    try:
        return {p.name for p in inspect.signature(cls).parameters.values()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    except (TypeError, ValueError):
        return set()


def _keyed_message(message: str, key: str, names) -> str:
    """``"width must be..."`` -> ``"model.width must be..."`` when ``width`` is one of the node's keys."""
    m = re.match(r"(unknown )?(\w+)", message)
    if m and m.group(2) in names:
        return f"{m.group(1) or ''}{key}.{m.group(2)}{message[m.end():]}"
    return f"{key}: {message}"


def instantiate_checked(node: Mapping, base: type, *, key: str, trusted: bool,
                        sources: Sequence[ModuleType] = (), fix: str = "", context: Mapping | None = None,
                        offered: Mapping | None = None):
    """``cls(**arguments, **context)`` for the class ``node["_target_"]`` names (see :func:`resolve_class`).

    The arguments are the node's other keys, plain values only; ``context`` holds the objects
    the builder supplies (a model's domain box, a generator, ...); ``offered`` holds more, given
    only to a class whose constructor names them (the coordinate names, for a network that wants
    them).  An argument the class does
    not take, or a constructor's ``ValueError``/``TypeError``, comes out as a one-line
    ``ValueError`` that names the config key (``model.width must be a positive integer...``).
    """
    node = dict(node)
    if "_target_" not in node:
        raise ValueError(f"{key} has no _target_; name the class to build, e.g. {key}._target_=pinn.pdes.Burgers")
    cls = resolve_class(node.pop("_target_"), base, key=f"{key}._target_", trusted=trusted, sources=sources,
                        fix=fix)
    context = dict(context or {})
    if offered:
        taken = _taken_arguments(cls)
        context.update({k: v for k, v in offered.items() if k in taken})
    for k, v in node.items():
        if k in _HYDRA_KEYS:
            raise ValueError(f"{key}.{k} is not supported; give the constructor's arguments by name")
        if k in context:
            raise ValueError(f"{key}.{k} is set by pinn (from the PDE and the run); drop it from the config")
        _check_plain(v, f"{key}.{k}")
    unknown = _unknown_arguments(cls, [*node, *context])
    if unknown:
        names = [p for p in inspect.signature(cls).parameters if p not in context and p != "self"]
        raise ValueError(f"{key}.{unknown[0]} is not an argument of {cls.__name__}; it takes: {', '.join(names)}")
    try:
        return cls(**node, **context)
    except (ValueError, TypeError) as e:
        raise ValueError(_keyed_message(str(e), key, node)) from None
