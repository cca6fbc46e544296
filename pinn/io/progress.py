"""Progress reports while training: a ``tqdm`` bar on a terminal (a widget in a notebook), log
lines elsewhere.

Both are callbacks for :meth:`pinn.Trainer.fit`: they get each history row (every
``log_every`` Adam steps and every L-BFGS chunk) and show the stage, the step, the
loss, the speed in steps per second and an estimate of the time left (an upper
bound in L-BFGS, which may stop early when it stalls).  A callback with a ``tick(step)``
method is also told of every step, so the bar moves between rows.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
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


def _columns(stream) -> int:
    """The width of the terminal behind ``stream`` (0 if unknown)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return 0


class ProgressBar:
    """A ``tqdm`` bar: ``adam  48%|####      | 1200/2500 [00:14<00:15, 85.2it/s, loss=3.1e-04]``.

    tqdm redraws it in place on a timer (at most every ``mininterval`` seconds), fits it to the
    terminal's width and smooths the rate over recent steps, so the time left does not jump.
    The trainer moves it every step (:meth:`tick`) and gives it every history row (``__call__``).
    In a notebook it is ``tqdm.auto``'s widget.

    Args:
        total: steps over all stages.
        stream: where to draw (a terminal).
        notebook: draw a notebook widget (``tqdm.auto``) instead of text.
    """

    def __init__(self, total: int, *, stream: TextIO | None = None, notebook: bool = False):
        if notebook:
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
        self.total = max(1, total)
        stream = stream or sys.stderr
        # Follow the terminal's size as it changes; where it reports none (0 x 0: a pseudo terminal
        # without a size), take COLUMNS and LINES or 80 x 24: tqdm draws nothing in 0 lines.
        sized = _columns(stream) > 0
        fallback = shutil.get_terminal_size((80, 24))
        self._bar = tqdm(total=self.total, file=stream, dynamic_ncols=sized,
                         ncols=None if sized else fallback.columns, nrows=None if sized else max(fallback.lines, 1),
                         mininterval=0.2, smoothing=0.1, unit="step", leave=True)
        self._stage = None

    def tick(self, step: int) -> None:
        """Training reached ``step`` (cheap: tqdm redraws only when its timer allows)."""
        if step > self._bar.n:
            self._bar.update(step - self._bar.n)

    def __call__(self, row: dict) -> None:
        if row["stage"] != self._stage:
            self._stage = row["stage"]
            self._bar.set_description(f"{row['stage']:<5}", refresh=False)
        self._bar.set_postfix_str(f"loss {row['loss']:.3e}", refresh=False)
        self.tick(row["step"])
        self._bar.refresh()

    def close(self) -> None:
        """End the bar's line (call once training is over)."""
        self._bar.close()


class LogLines:
    """One log line per ``every`` steps (and at the last), for logs that are files, not terminals;
    also at a history row ``quiet`` seconds or more after the last line, so that a stage of slow
    steps (Gauss-Newton: seconds each) still shows it is moving."""

    def __init__(self, total: int, every: int, *, logger: logging.Logger | None = None, quiet: float = 30.0):
        self.total, self.every, self.quiet = total, max(1, every), quiet
        self.log = logger or logging.getLogger("pinn")
        self._rate = _Rate(max(1, total))
        self._bucket = -1
        self._last = 0.0

    def __call__(self, row: dict) -> None:
        rate, left = self._rate.update(row)
        bucket = row["step"] // self.every
        if bucket == self._bucket and row["step"] != self.total and row["seconds"] - self._last < self.quiet:
            return
        self._bucket, self._last = bucket, row["seconds"]
        self.log.info("%-5s step %6d/%d  loss %.3e  %.1f it/s  %s left  (%.1f s)", row["stage"], row["step"],
                      self.total, row["loss"], rate, _clock(left) if left == left else "--:--", row["seconds"])

    def close(self) -> None:
        pass


def make_progress(total: int, every: int, *, stream: TextIO | None = None,
                  logger: logging.Logger | None = None) -> ProgressBar | LogLines:
    """A :class:`ProgressBar` when ``stream`` (default stderr) is a terminal or the process is a
    Jupyter kernel (a widget), else :class:`LogLines`."""
    stream = stream or sys.stderr
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return ProgressBar(total, stream=stream)
    if "ipykernel" in sys.modules and stream is sys.stderr:
        return ProgressBar(total, notebook=True)
    return LogLines(total, every, logger=logger)
