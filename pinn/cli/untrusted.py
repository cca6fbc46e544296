"""A config read from a run or sweep directory, which may come from someone else: data, never code.

:func:`load_yaml` reads such a YAML file as a regular file of bounded size reached without
following links (:func:`pinn.io.safe.read_text`), with OmegaConf's safe loader (plain data
only: a ``!!python/...`` tag is refused), refusing aliases before they expand (an alias bomb of
a few hundred bytes expands to gigabytes), and refusing interpolations that call a resolver
(``${oc.env:SECRET}`` would read the environment, ``${oc.decode:...}`` more).
"""

from __future__ import annotations

import re
from pathlib import Path

from pinn.io.errors import RunDirError
from pinn.io.safe import MiB, UnsafePathError, read_text

__all__ = ["load_yaml", "refuse_resolvers"]


def _safe_loader():
    import yaml
    from omegaconf._utils import get_yaml_loader

    base = get_yaml_loader()

    class NoAliasLoader(base):
        """OmegaConf's YAML loader (safe: plain data only), refusing aliases before they expand."""

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.YAMLError(f"it uses the YAML alias *{event.anchor} (a pinn run writes none; an alias "
                                     f"can expand a small file into gigabytes)")
            return super().compose_node(parent, index)

    return NoAliasLoader


def load_yaml(path: str | Path, *, limit: int = 4 * MiB, root: str | Path | None = None):
    """A YAML file of a run directory as an OmegaConf container, read as untrusted data: a regular
    file within ``limit`` bytes (see :func:`open_regular`), no alias, no tag beyond plain data, and
    no interpolation that calls a resolver (:func:`refuse_resolvers`).

    Raises:
        ValueError: naming the file and what is wrong (a :class:`RunDirError`).
    """
    import yaml
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        text = read_text(path, limit=limit, root=root)
    except UnsafePathError as e:
        raise UnsafePathError(f"{path} is not a pinn config: {str(e).replace(str(path), 'it')}") from None
    except OSError as e:
        raise RunDirError(f"{path} is not a pinn config ({e.strerror or type(e).__name__})") from None
    try:
        data = yaml.load(text, Loader=_safe_loader())  # noqa: S506 - a safe loader
        cfg = OmegaConf.create(data if data is not None else {})
    except yaml.YAMLError as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise RunDirError(f"{path} is not a pinn config: {first[:200]}") from None
    except (OmegaConfBaseException, ValueError, TypeError, RecursionError) as e:
        raise RunDirError(f"{path} is not a pinn config ({type(e).__name__})") from None
    refuse_resolvers(cfg, where=str(path))
    return cfg


_RESOLVER = re.compile(r"(?<!\\)\$\{\s*([\w.\-]+)\s*:")


def refuse_resolvers(cfg, *, where: str) -> None:
    """Raise when any value of ``cfg`` (a DictConfig or ListConfig, read unresolved) is an
    interpolation that calls a resolver (``${oc.env:...}``, ``${now:...}``, a custom one): a
    config read from a run directory may refer to its own keys only."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    def walk(node, key: str, depth: int) -> None:
        if depth > 64:
            raise RunDirError(f"{where} nests deeper than any pinn config ({key})")
        if isinstance(node, (dict, list)):
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for k, v in items:
                walk(v, f"{key}.{k}" if key else str(k), depth + 1)
        elif isinstance(node, str):
            m = _RESOLVER.search(node)
            if m:
                raise RunDirError(f"{where}: {key} calls the resolver {m.group(1)!r}; a config read from a run "
                                  f"directory may refer only to its own keys (it could read the environment or "
                                  f"files)")

    if isinstance(cfg, (DictConfig, ListConfig)):
        walk(OmegaConf.to_container(cfg, resolve=False), "", 0)
