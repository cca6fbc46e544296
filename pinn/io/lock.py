"""An exclusive lock on a run directory, so two processes never write one run at once.

The lock is ``RUN/.lock``, held with ``flock`` for as long as the :class:`RunLock` lives (the
operating system releases it when the process ends, however it ends).  It records the holder's
process id for the message a second writer gets.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from pinn.io.files import RunDirError

__all__ = ["RunLock"]


class RunLock:
    """Hold the lock of ``run_dir`` (created if missing); raise :class:`RunDirError` if another process has it."""

    def __init__(self, run_dir: str | Path):
        self.path = Path(run_dir) / ".lock"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a+")
        except OSError as e:
            hint = (("; the directory is not writable: make it writable, or train into another one with "
                     "hydra.run.dir=DIR (to resume, copy the run there first)")
                    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS) else "")
            raise RunDirError(f"cannot lock {run_dir}: {e.strerror or e}{hint}") from None
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.seek(0)
            holder = self._file.read().strip() or "unknown"
            self._file.close()
            raise RunDirError(f"{run_dir} is being written by another pinn process (pid {holder}); wait for it "
                              f"to finish, or train in another directory (hydra.run.dir=...)") from None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"{os.getpid()}\n")
        self._file.flush()

    def release(self) -> None:
        if not self._file.closed:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
