"""File access that a planted link, a device file or a hostile YAML file cannot turn against the user.

A run or sweep directory may come from someone else, so what is inside it is data, never a
pointer to follow.  The user's own paths (the run directory named on the command line, an
``--out`` directory) are taken as given; below them:

* every output is written to a new temporary file, opened without following links in its
  directory (itself opened without following a link), flushed to disk, renamed over the
  target, and the directory synced, so that a crash or a power loss leaves either the old file
  or the new one (:func:`atomic_write`);
* a link where an output goes, or where its directory should be, is refused with one line;
* a file read from a run directory must be a regular file, reached without following links,
  and no larger than a stated bound, so a link to a secret, ``/dev/zero`` or a FIFO cannot be
  read (:func:`open_regular`);
* YAML read from a run directory is read by :func:`pinn.cli.untrusted.load_yaml` (the config
  layer's, since it composes with OmegaConf).
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO

from pinn.io.errors import RunDirError

__all__ = ["UnsafePathError", "atomic_write", "open_output_dir", "open_regular", "read_text", "MiB"]

MiB = 1 << 20

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


class UnsafePathError(RunDirError):
    """A link, a device file or an oversized file where a run directory should hold a plain one."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _is_link(path: Path) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


def open_output_dir(directory: str | Path) -> int:
    """Create ``directory`` (and its parents) if missing, and open it without following a link
    at its last component; return the descriptor (the caller closes it).

    Raises:
        UnsafePathError: when ``directory`` is a link, or exists and is not a directory.
    """
    directory = Path(directory)
    if _is_link(directory):
        raise UnsafePathError(f"{directory} is a symbolic link; pinn writes only into real directories "
                              f"(remove the link, or write elsewhere with --out / hydra.run.dir)")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UnsafePathError(f"{directory} exists and is not a directory; remove it, or write elsewhere") from None
    try:
        return os.open(directory, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENOTDIR):
            raise UnsafePathError(f"{directory} is a symbolic link or not a directory; pinn writes only into "
                                  f"real directories (remove it, or write elsewhere)") from None
        raise


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], object], *, durable: bool = True) -> None:
    """Call ``write(f)`` with a new binary file beside ``path``, then rename it over ``path``.

    The directory is opened without following a link and the temporary file is created in it
    exclusively, so nothing is written through a link planted at either.  A link (or a
    directory) already at ``path`` is refused rather than replaced.  With ``durable``, the file
    and then the directory are synced, so that an operating-system crash cannot leave a
    renamed but empty file.  The file gets the mode the umask gives a new file.  A write killed
    midway leaves ``.NAME.*.tmp``, which :func:`pinn.io.files.remove_stale_temporaries` clears.
    """
    path = Path(path)
    name = path.name
    dfd = open_output_dir(path.parent)
    try:
        try:
            mode = os.lstat(name, dir_fd=dfd).st_mode
        except FileNotFoundError:
            mode = None
        if mode is not None and not stat.S_ISREG(mode):
            what = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
            raise UnsafePathError(f"{path} is {what}; pinn does not write through it: remove it, or write "
                                  f"elsewhere")
        tmp = f".{name}.{secrets.token_hex(6)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o666, dir_fd=dfd)
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
                f.flush()
                if durable:
                    os.fsync(f.fileno())
            os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=dfd)
            except OSError:
                pass
            raise
        if durable:
            try:
                os.fsync(dfd)
            except OSError:  # some file systems cannot sync a directory; the file itself is synced
                pass
    finally:
        os.close(dfd)


def _describe(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    return "not a regular file"


def open_regular(path: str | Path, *, limit: int, root: str | Path | None = None) -> IO[bytes]:
    """Open ``path`` for binary reading when it is a regular file of at most ``limit`` bytes.

    No link is followed at its last component, nor at any component below ``root`` when given
    (``path`` must then lie under ``root``).  A FIFO is refused without blocking.

    Raises:
        FileNotFoundError: when it does not exist.
        UnsafePathError: a link, a directory, a device or a FIFO, or a file over ``limit``.
    """
    path = Path(path)
    parts = [path.name]
    start = path.parent
    if root is not None:
        root = Path(root)
        try:
            rel = path.relative_to(root)
        except ValueError:
            raise UnsafePathError(f"{path} is not inside {root}") from None
        parts, start = list(rel.parts), root
    dfd = os.open(start, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    try:
        for part in parts[:-1]:
            try:
                nfd = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=dfd)
            except OSError as e:
                if e.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise UnsafePathError(f"{path}: {part} is a symbolic link or not a directory; a run directory's "
                                          f"files are read only where they really are") from None
                raise
            os.close(dfd)
            dfd = nfd
        try:
            fd = os.open(parts[-1], os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC, dir_fd=dfd)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise UnsafePathError(f"{path} is a symbolic link; a run directory's files are read only where they "
                                      f"really are (replace the link by the file)") from None
            if e.errno in (errno.ENXIO, errno.EISDIR):
                raise UnsafePathError(f"{path} is not a regular file") from None
            raise
    finally:
        os.close(dfd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafePathError(f"{path} is {_describe(st.st_mode)}, not a regular file")
        if st.st_size > limit:
            raise UnsafePathError(f"{path} is {st.st_size / MiB:.1f} MiB, more than the {limit / MiB:.1f} MiB a "
                                  f"pinn run writes there; it is not a pinn file")
        if _NONBLOCK:
            import fcntl

            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_text(path: str | Path, *, limit: int, root: str | Path | None = None) -> str:
    """The text of a regular file of at most ``limit`` bytes (see :func:`open_regular`), decoded as
    UTF-8 with bad bytes replaced."""
    with open_regular(path, limit=limit, root=root) as f:
        return f.read(limit + 1)[:limit].decode("utf-8", errors="replace")
