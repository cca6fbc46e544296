"""The console scripts' first code: Ctrl-C while ``pinn`` and its libraries load ends in one line.

Loading torch and Hydra takes a second or two; a Ctrl-C then would otherwise print the
traceback of whatever import it hit, or a stranger error of a library left half-imported.
The entry points named in ``setup.cfg`` are the functions here: each imports its tool inside
:func:`starting` and then calls the tool's ``main`` (which guards the rest of the run itself,
see :mod:`pinn.cli._errors`).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import threading

__all__ = ["starting", "train", "evaluate", "plot", "compare"]

_TOOLS = {"pinn-train", "pinn-eval", "pinn-plot", "pinn-compare"}


@contextlib.contextmanager
def starting():
    """In one of pinn's command-line tools, hold a Ctrl-C that comes inside the block until the
    block ends, then exit with ``prog: error: interrupted ...`` and code 130.  Held, not raised:
    a ``KeyboardInterrupt`` raised inside a library's import can surface as any other error
    (matplotlib's colour tables end half-built).  Anywhere else (a notebook importing ``pinn``)
    nothing changes."""
    prog = os.path.basename(sys.argv[0]) if sys.argv else ""
    if prog not in _TOOLS or threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    except KeyboardInterrupt:  # raised by a handler installed before ours
        caught.append(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        print(f"{prog}: error: interrupted (Ctrl-C) while starting; nothing was run or written", file=sys.stderr)
        raise SystemExit(130)


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
