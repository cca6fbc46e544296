"""Where the command-line tools keep torch's compiled kernels: the user's cache directory."""

from __future__ import annotations

import os
from pathlib import Path

from pinn.pdes._cache import cache_dir

__all__ = ["use_compile_cache"]


def use_compile_cache() -> Path:
    """Keep the compiled steps' artifacts in the user's cache directory (``~/.cache/pinn/inductor``, or
    under ``$XDG_CACHE_HOME``), not in the temporary one torch picks, which a reboot empties (and
    never in the source tree): a second run of the same shapes then loads its kernels instead of
    compiling them (docs/performance.md).  torch reads the place from ``TORCHINDUCTOR_CACHE_DIR``
    (Triton's from ``TRITON_CACHE_DIR``); a value the user set is kept.  Only the command-line tools
    call this, before anything compiles: a notebook keeps torch's own default.

    Returns:
        the directory inductor uses.
    """
    root = cache_dir() / "inductor"
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(root))
    os.environ.setdefault("TRITON_CACHE_DIR", str(root / "triton"))
    return Path(os.environ["TORCHINDUCTOR_CACHE_DIR"])
