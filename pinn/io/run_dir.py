"""The one owner of a run directory: its states and the transitions between them.

A run directory moves through these states, each transition a method of :class:`RunDir`:

- **claimed** (:meth:`RunDir.claim` for a fresh run, :meth:`RunDir.resume` for an unfinished
  one): locked against a second writer; a fresh run refuses a directory that holds an unfinished
  run's checkpoints (resume it instead) or a link where a run writes, and only now clears a
  finished run it replaces (``metrics.json`` first, so what is left is never a mix);
- **training**: checkpoints (:meth:`RunDir.checkpoint`) and the history beside them;
- **finished** (:meth:`RunDir.finish`): ``metrics.json`` written last marks the run done;
- **failed** (:meth:`RunDir.fail`): a ``FAILED`` marker, so the directory is never read as a
  result; a resume removes it;
- **interrupted**: the checkpoints stay; :meth:`RunDir.resume` continues from the newest readable.

The command line (``pinn-train``, ``resume=``) and :func:`pinn.train` use it alike.
"""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from pinn.io import files as io
from pinn.io.checkpoints import CheckpointDir
from pinn.io.errors import RunDirError
from pinn.io.lock import RunLock

__all__ = ["RunDir", "OUTPUTS"]

log = logging.getLogger(__name__)

#: What a finished run leaves besides ``metrics.json`` and ``.hydra/``: removed when a new run replaces it.
OUTPUTS = ("checkpoint.pt", "predictions.npz", "history.csv", "ensemble.npz", "plots", "eval", "tensorboard")

#: Where a run writes: no link may stand there (pinn never writes through one).
_WRITTEN = ("", ".hydra", "checkpoints", "plots", "eval")


class RunDir:
    """A run directory and its lifecycle (see the module docs).

    Args:
        path: the directory (created when claimed).
        keep: how many recent checkpoints to keep, besides the lowest-loss one.
    """

    def __init__(self, path: str | Path, *, keep: int = 3):
        self.path = Path(path)
        self.checkpoints = CheckpointDir(self.path / "checkpoints", keep=keep)
        self._lock: RunLock | None = None

    @classmethod
    def new(cls, path: str | Path, *, keep: int = 3) -> RunDir:
        """A directory made new at ``path`` (or ``path-1``, ``path-2``, ... if it exists): two runs
        started in the same second never share one."""
        return cls(io.claim_new_dir(path), keep=keep)

    # -- what a directory holds --------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return (self.path / io.METRICS).exists()

    def refuse_unfinished(self) -> None:
        """Raise :class:`RunDirError` when the directory holds an unfinished run's checkpoints: a fresh
        run there would prune them by step number and keep the other run's, and a resume after a
        crash would load the other run.  A finished run is not refused: :meth:`claim` replaces it."""
        steps = self.checkpoints.steps()
        if steps and not self.finished:
            raise RunDirError(
                f"{self.path} holds the checkpoints of an unfinished run (steps {steps}): continue it "
                f"with pinn-train resume={self.path}, or start this run in a new directory (hydra.run.dir=...), "
                f"or delete {self.checkpoints.path} first")

    def refuse_links(self) -> None:
        """Refuse a directory in which a link stands where a run writes (Hydra's ``.hydra/`` and log,
        pinn's outputs): they would be written through it."""
        for sub in _WRITTEN:
            directory = self.path / sub if sub else self.path
            if directory.is_symlink():
                raise RunDirError(f"{directory} is a symbolic link; pinn does not write through links: remove it, "
                                  f"or train into another directory")
            if not directory.is_dir():
                continue
            for entry in directory.iterdir():
                if entry.is_symlink():
                    raise RunDirError(f"{entry} is a symbolic link; pinn does not write through links: remove "
                                      f"it, or train into another directory")

    # -- transitions ---------------------------------------------------------------------

    def lock(self) -> RunDir:
        """Take the directory's lock (re-entrant within a process: the CLI holds it around pinn.train)."""
        if self._lock is None:
            self._lock = RunLock(self.path)
        return self

    def claim(self, *, clear: bool = True) -> bool:
        """Claim the directory for a fresh run: refuse an unfinished run and links, lock it, refuse
        again (another writer may have started meanwhile), and, with ``clear``, empty a finished
        run it replaces.  Returns whether a finished run was cleared."""
        self.refuse_unfinished()  # first, so that a refusal writes nothing at all
        self.refuse_links()
        self.lock()
        self.refuse_unfinished()
        return self.clear_finished() if clear else False

    def clear_finished(self) -> bool:
        """Empty a finished run's directory for a new run, before anything of the new run is
        written: ``metrics.json`` goes first (the directory is then an unfinished run whose parts all
        match), then the checkpoints, then the other outputs, and ``.hydra/`` last.  Killed at any
        point, what is left belongs to the old run alone.  Returns whether there was a finished run."""
        if not self.finished:
            return False
        (self.path / io.METRICS).unlink()
        shutil.rmtree(self.checkpoints.path, ignore_errors=True)
        for name in OUTPUTS:
            path = self.path / name
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        shutil.rmtree(self.path / ".hydra", ignore_errors=True)
        return True

    def replace_finished(self) -> None:
        """For a fresh run trained by :func:`pinn.train` itself: remove a finished run's checkpoints,
        then its ``metrics.json`` (in that order, so that another rank's :meth:`refuse_unfinished`
        never sees checkpoints without it); its other outputs are overwritten by the new run's."""
        if self.finished:
            shutil.rmtree(self.checkpoints.path, ignore_errors=True)
            (self.path / io.METRICS).unlink(missing_ok=True)

    def start(self) -> None:
        """Training starts (fresh or resumed): remove what killed writes left behind."""
        for directory in (self.path, self.checkpoints.path):
            io.remove_stale_temporaries(directory)

    def resume(self) -> dict:
        """Claim an unfinished run to continue it: lock it, remove its ``FAILED`` marker, and return its
        newest readable checkpoint (corrupt or truncated ones are skipped, with a warning)."""
        if self.finished:
            raise RunDirError(f"{self.path} already finished (metrics.json exists); nothing to resume")
        self.lock()
        state = self.checkpoints.load_latest()
        (self.path / io.FAILED).unlink(missing_ok=True)
        return state

    def checkpoint(self, step: int, snapshot: Mapping, history: Sequence[Mapping]) -> None:
        """Save a training checkpoint (atomically; the oldest beyond ``keep`` pruned, the best kept)
        and the history so far beside it."""
        self.checkpoints.save(step, snapshot, loss=history[-1]["loss"] if history else math.nan)
        io.write_history(self.path / io.HISTORY, history)

    def finish(self, metrics: Mapping) -> None:
        """Write ``metrics.json``, last: its presence marks the run finished."""
        io.write_metrics(self.path, metrics)

    def fail(self, reason: str) -> None:
        """Mark the run failed (``FAILED``, with the reason), so it is never read as a result."""
        io.mark_failed(self.path, reason)

    def release(self) -> None:
        """Give the lock back (a lock this process held already stays held)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None
