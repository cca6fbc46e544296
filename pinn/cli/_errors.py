"""One-line error reports for the command-line tools."""

from __future__ import annotations

import sys

__all__ = ["fail", "one_line"]


def one_line(message: str) -> str:
    """Join a multi-line message into one line, dropping blank lines."""
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


def fail(prog: str, message: str, code: int = 2) -> None:
    """Print ``prog: error: message`` on stderr and exit with ``code``."""
    print(f"{prog}: error: {one_line(message)}", file=sys.stderr)
    raise SystemExit(code)
