"""Periodic training checkpoints: atomic writes, a keep-last-K-plus-best policy, and
loading the newest readable one (falling back past corrupt or truncated files)."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from pathlib import Path

from pinn.core.checks import positive_int
from pinn.io import files as io

__all__ = ["CheckpointDir"]

log = logging.getLogger(__name__)

_NAME = re.compile(r"^step-(\d{9})\.pt$")
#: What a training checkpoint must hold to be resumed.
REQUIRED = frozenset({"model", "trainer", "points", "generator", "pde"})


class CheckpointDir:
    """A directory of ``step-NNNNNNNNN.pt`` checkpoints.

    Args:
        path: the directory (created on first save).
        keep: how many of the most recent checkpoints to keep (>= 1); the one with the
            lowest loss is kept as well.
    """

    def __init__(self, path: str | Path, *, keep: int = 3):
        positive_int("checkpoint.keep", keep)
        self.path = Path(path)
        self.keep = keep

    def steps(self) -> list[int]:
        """Steps of the checkpoints present, oldest first."""
        if not self.path.is_dir():
            return []
        found = (_NAME.match(p.name) for p in self.path.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def file(self, step: int) -> Path:
        return self.path / f"step-{step:09d}.pt"

    def save(self, step: int, state: Mapping, *, loss: float = math.nan) -> Path:
        """Write the checkpoint of ``step`` atomically, then prune old ones."""
        path = io.save_checkpoint(self.file(step), {**state, "step": step, "loss": float(loss)})
        self._prune(best=self._best(step, loss))
        return path

    def _best(self, step: int, loss: float) -> int:
        """Update and return the step of the lowest-loss checkpoint (recorded in ``best``)."""
        best_file = self.path / "best"
        best_step, best_loss = step, loss
        try:
            step_text, loss_text = io.read_text(best_file, limit=1024).split()
            prev_step, prev_loss = int(step_text), float(loss_text)
            if self.file(prev_step).exists() and math.isfinite(prev_loss) and not (prev_loss > loss):
                best_step, best_loss = prev_step, prev_loss  # also when the new loss is NaN
        except (OSError, ValueError):
            pass
        line = f"{best_step} {best_loss!r}\n".encode()
        io.atomic_write(best_file, lambda f: f.write(line))
        return best_step

    def _prune(self, *, best: int) -> None:
        steps = self.steps()
        for s in steps[: -self.keep]:
            if s != best:
                self.file(s).unlink(missing_ok=True)

    def load_best(self) -> dict:
        """The checkpoint of the lowest logged loss (the one ``best`` names; kept by the pruning).

        Raises:
            io.RunDirError: when there is no record of it, or it does not load.
        """
        try:
            step_text, _ = io.read_text(self.path / "best", limit=1024).split()
            step = int(step_text)
        except (OSError, ValueError):
            raise io.RunDirError(f"no record of the best checkpoint in {self.path}; use the latest one") from None
        state = io.load_checkpoint(self.file(step))
        if not isinstance(state, dict) or "model" not in state:
            raise io.RunDirError(f"{self.file(step)} holds no model weights")
        return state

    def load_latest(self) -> dict:
        """The newest checkpoint that loads; corrupt ones are skipped with a warning.

        Raises:
            io.RunDirError: when there is no readable checkpoint at all.
        """
        steps = self.steps()
        if not steps:
            raise io.RunDirError(f"no checkpoints in {self.path}; the run stopped before its first checkpoint")
        for step in reversed(steps):
            try:
                state = io.load_checkpoint(self.file(step))
                missing = sorted(REQUIRED - set(state)) if isinstance(state, dict) else sorted(REQUIRED)
                if missing:
                    raise io.RunDirError(f"{self.file(step)} lacks {', '.join(missing)}")
                return state
            except io.RunDirError as e:
                log.warning("skipping checkpoint %s: %s", self.file(step).name, e)
        raise io.RunDirError(f"every checkpoint in {self.path} is unreadable; the run must start again")
