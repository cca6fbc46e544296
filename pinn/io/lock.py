"""An exclusive lock on a run directory, so two processes never write one run at once.

The lock is ``RUN/.lock``, held with ``flock`` for as long as the :class:`RunLock` lives (the
operating system releases it when the process ends, however it ends).  It records the holder's
process id for the message a second writer gets.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from pathlib import Path

from pinn.io.errors import RunDirError

__all__ = ["RunLock"]


class RunLock:
    """Hold the lock of ``run_dir`` (created if missing); raise :class:`RunDirError` if another process has it.

    Within one process the lock is re-entrant: a second ``RunLock`` of a directory that this
    process has locked already (its pid is in the file) takes nothing, and its ``release`` does
    nothing, so that ``pinn.train`` may lock the directory that the CLI holds around it."""

    def __init__(self, run_dir: str | Path):
        self.path = Path(run_dir) / ".lock"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC, 0o666)
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise RunDirError(f"cannot lock {run_dir}: {self.path} is not a regular file; remove it")
            self._file = os.fdopen(fd, "r+")
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise RunDirError(f"cannot lock {run_dir}: {self.path} is a symbolic link; pinn does not write "
                                  f"through it: remove it") from None
            hint = (("; the directory is not writable: make it writable, or train into another one with "
                     "hydra.run.dir=DIR (to resume, copy the run there first)")
                    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS) else "")
            raise RunDirError(f"cannot lock {run_dir}: {e.strerror or e}{hint}") from None
        self._owned = True
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.seek(0)
            holder = self._file.read(64).strip() or "unknown"
            self._file.close()
            if holder == str(os.getpid()):
                self._owned = False  # this process holds it already (the CLI, around pinn.train): nothing to take
                return
            raise RunDirError(f"{run_dir} is being written by another pinn process (pid {holder}); wait for it "
                              f"to finish, or train in another directory (hydra.run.dir=...)") from None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"{os.getpid()}\n")
        self._file.flush()

    def release(self) -> None:
        if self._owned and not self._file.closed:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
