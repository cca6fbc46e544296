"""Progress reports while training: a one-line bar on a terminal, log lines elsewhere.

Both are callbacks for :meth:`pinn.Trainer.fit`: they get each history row (every
``log_every`` Adam steps and every L-BFGS chunk) and show the stage, the step, the
loss, the speed in steps per second and an estimate of the time left (an upper
bound in L-BFGS, which may stop early when it stalls).
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

__all__ = ["LogLines", "ProgressBar", "make_progress"]


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class _Rate:
    """Steps per second over the last two rows, and the time left at that speed."""

    def __init__(self, total: int):
        self.total = total
        self.last: tuple[int, float] | None = None
        self.rate = 0.0

    def update(self, row: dict) -> tuple[float, float]:
        step, seconds = row["step"], row["seconds"]
        if self.last is not None and step > self.last[0] and seconds > self.last[1]:
            self.rate = (step - self.last[0]) / (seconds - self.last[1])
        elif self.last is None and seconds > 0:
            self.rate = step / seconds
        self.last = (step, seconds)
        left = (self.total - step) / self.rate if self.rate > 0 else float("nan")
        return self.rate, left


class ProgressBar:
    """``adam  [#########.........]  1200/2500  loss 3.1e-04  85.2 it/s  00:15 left``, redrawn in place.

    Args:
        total: steps over both stages.
        stream: where to draw (a terminal).
        width: characters of the bar itself.
    """

    def __init__(self, total: int, *, stream: TextIO | None = None, width: int = 24):
        self.total, self.stream, self.width = max(1, total), stream or sys.stderr, width
        self._rate = _Rate(self.total)
        self._open = False

    def __call__(self, row: dict) -> None:
        rate, left = self._rate.update(row)
        filled = min(self.width, int(self.width * row["step"] / self.total))
        bar = "#" * filled + "." * (self.width - filled)
        eta = _clock(left) + " left" if left == left else "--:-- left"
        line = (f"{row['stage']:<5} [{bar}] {row['step']:>6}/{self.total}  loss {row['loss']:.3e}  "
                f"{rate:6.1f} it/s  {eta}  ({_clock(row['seconds'])})")
        self.stream.write("\r" + line + "\x1b[K")
        self.stream.flush()
        self._open = True

    def close(self) -> None:
        """End the bar's line (call once training is over)."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False


class LogLines:
    """One log line per ``every`` steps (and at the last), for logs that are files, not terminals."""

    def __init__(self, total: int, every: int, *, logger: logging.Logger | None = None):
        self.total, self.every = total, max(1, every)
        self.log = logger or logging.getLogger("pinn")
        self._rate = _Rate(max(1, total))
        self._bucket = -1

    def __call__(self, row: dict) -> None:
        rate, left = self._rate.update(row)
        bucket = row["step"] // self.every
        if bucket == self._bucket and row["step"] != self.total:
            return
        self._bucket = bucket
        self.log.info("%-5s step %6d/%d  loss %.3e  %.1f it/s  %s left  (%.1f s)", row["stage"], row["step"],
                      self.total, row["loss"], rate, _clock(left) if left == left else "--:--", row["seconds"])

    def close(self) -> None:
        pass


def make_progress(total: int, every: int, *, stream: TextIO | None = None,
                  logger: logging.Logger | None = None) -> ProgressBar | LogLines:
    """A :class:`ProgressBar` when ``stream`` (default stderr) is a terminal, else :class:`LogLines`."""
    stream = stream or sys.stderr
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return ProgressBar(total, stream=stream)
    return LogLines(total, every, logger=logger)
