"""One-line error reports for the command-line tools."""

from __future__ import annotations

import errno
import functools
import sys

__all__ = ["fail", "one_line", "guarded", "describe"]


def one_line(message: str) -> str:
    """Join a multi-line message into one line, dropping blank lines."""
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


def fail(prog: str, message: str, code: int = 2) -> None:
    """Print ``prog: error: message`` on stderr and exit with ``code``."""
    print(f"{prog}: error: {one_line(message)}", file=sys.stderr)
    raise SystemExit(code)


def guarded(prog: str, *, debug: bool = False):
    """Decorate a tool's ``main`` so that nothing escapes it as a traceback: what the tool did not
    report itself ends as ``prog: error: ...`` on one line, exit code 1 (130 for Ctrl-C).  With
    ``debug`` (``debug=true`` or ``--debug`` on the command line) the traceback is shown instead."""

    def wrap(main):
        @functools.wraps(main)
        def run(*args, **kwargs):
            try:
                return main(*args, **kwargs)
            except SystemExit:
                raise
            except KeyboardInterrupt:
                if _debugging(debug):
                    raise
                fail(prog, "interrupted (Ctrl-C); a run that had started keeps its last checkpoint: "
                           "continue it with pinn-train resume=RUN_DIR", code=130)
            except Exception as e:  # the tool's boundary: one line, whatever went wrong
                if _debugging(debug):
                    raise
                fail(prog, describe(e) + " (add debug=true or --debug for a traceback)", code=1)

        return run

    return wrap


def describe(e: BaseException) -> str:
    """One line on what went wrong, in words a user can act on."""
    if isinstance(e, MemoryError) or (isinstance(e, RuntimeError) and "allocate" in str(e)):
        return (f"out of memory ({one_line(str(e))[:160]}); ask for less: a smaller model.width or model.depth, "
                f"fewer points.*, a coarser evaluation.resolution or a smaller evaluation.chunk_size")
    if isinstance(e, OSError) and e.strerror:
        where = f": {e.filename}" if e.filename else ""
        if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return (f"{e.strerror}{where}: not writable; make it writable or write elsewhere (pinn-eval, pinn-plot "
                    f"and pinn-compare: --out DIR; pinn-train: hydra.run.dir=DIR)")
        return f"{e.strerror}{where}"
    return f"{type(e).__name__}: {one_line(str(e))[:300]}"


def _debugging(flag: bool) -> bool:
    return flag or "debug=true" in sys.argv[1:] or "--debug" in sys.argv[1:]
