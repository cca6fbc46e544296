"""The console scripts' first code: Ctrl-C while ``pinn`` and its libraries load ends in one line.

Loading torch and Hydra takes a second or two; a Ctrl-C then would otherwise print the
traceback of whatever import it hit.  The entry points named in ``setup.cfg`` are the
functions here: each imports its tool inside :func:`starting` and then calls the tool's
``main`` (which guards the rest of the run itself, see :mod:`pinn.cli._errors`).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys

__all__ = ["starting", "train", "evaluate", "plot", "compare"]

_TOOLS = {"pinn-train", "pinn-eval", "pinn-plot", "pinn-compare"}


@contextlib.contextmanager
def starting():
    """Turn a Ctrl-C inside the block into ``prog: error: interrupted ...`` and exit code 130, when
    the process is one of pinn's command-line tools; anywhere else (a notebook importing ``pinn``)
    the ``KeyboardInterrupt`` goes on as usual."""
    try:
        yield
    except KeyboardInterrupt:
        prog = os.path.basename(sys.argv[0]) if sys.argv else ""
        if prog not in _TOOLS:
            raise
        print(f"{prog}: error: interrupted (Ctrl-C) while starting; nothing was run or written",
              file=sys.stderr)
        raise SystemExit(130) from None


def _launch(module: str):
    with starting():
        main = importlib.import_module(module).main
    return main()


def train():
    """``pinn-train``."""
    return _launch("pinn.cli.train")


def evaluate():
    """``pinn-eval``."""
    return _launch("pinn.cli.evaluate")


def plot():
    """``pinn-plot``."""
    return _launch("pinn.cli.plot")


def compare():
    """``pinn-compare``."""
    return _launch("pinn.cli.compare")
