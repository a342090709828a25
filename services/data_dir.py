"""The data directory and its files are the portal's alone: directory 0700, files 0600.

They hold the class's history (names, parameters, outputs such as database endpoints) and the
emulator's log, so nobody else on a shared classroom server should read them. Modes are set when a
file is created, through `os.open` with the mode, not by a chmod afterwards that would leave a
moment in which the file is readable. Files made by an earlier version of the portal, which
created everything with the umask's 0644, are tightened when the portal next starts: each owner of
a file calls `tighten` on it (settings for the directory, the history database for its SQLite
files, the embedded cloud for its state, lock and log).

Nothing here changes the process's umask: it is process-wide, and a page thread would change it
under a launch thread writing elsewhere.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
# Bits the group and others may hold: any of them set is too loose.
_OTHERS = stat.S_IRWXG | stat.S_IRWXO

_log = logging.getLogger(__name__)


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and its parents) and leave `path` itself 0700; returns `path`.

    Parents keep the umask's mode: they may be shared folders, e.g. a home directory.
    """
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    tighten(path)
    return path


def private_file(path: Path) -> Path:
    """Make sure `path` exists as a 0600 file without truncating it; returns `path`."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    tighten(path)
    return path


def private_opener(path: str | os.PathLike[str], flags: int) -> int:
    """An `opener` for `open()`: a file it creates is 0600 from the start, an existing one is
    tightened. `open(path, "ab", opener=private_opener)`."""
    fd = os.open(path, flags, FILE_MODE)
    try:
        _tighten_fd(fd, path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def tighten(path: Path) -> bool:
    """Take the group's and others' bits off `path` when it has any; True when it changed.

    A missing path is left alone, and so is one the portal may not change (owned by another user,
    e.g. a data dir an administrator made for it): that is logged, not raised, because refusing to
    start would not make the file any more private. Symlinks are not followed.
    """
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(mode) or not mode & _OTHERS:
        return False
    try:
        path.chmod(stat.S_IMODE(mode) & ~_OTHERS)
    except PermissionError:
        _log.warning("%s is mode %o and cannot be made private: %s may read it",
                     path, stat.S_IMODE(mode), "its group" if not mode & stat.S_IRWXO
                     else "every user of this machine")
        return False
    _log.info("%s was mode %o; made private (%o)", path, stat.S_IMODE(mode),
              stat.S_IMODE(mode) & ~_OTHERS)
    return True


def _tighten_fd(fd: int, path: str | os.PathLike[str]) -> None:
    mode = os.fstat(fd).st_mode
    if mode & _OTHERS:
        try:
            os.fchmod(fd, stat.S_IMODE(mode) & ~_OTHERS)
        except PermissionError:
            _log.warning("%s is mode %o and cannot be made private", path, stat.S_IMODE(mode))
