"""The data folder is private to the account that runs the server.

It holds the database (citizens' names and phones, staff password hashes), the SMS log,
stored import uploads, the generated secret key: nothing another local user may read.
So the folder is 0700 and every file the server writes there 0600, whatever the umask:
each `motcua` command that touches the data sets umask 077 when it starts, and the
writers create their files with mode 0600 explicitly (the SQLite file before SQLite
opens it, so its -wal and -shm files follow it).  A folder made by an older version
(0755 with 0644 files) is closed at start, with one log line saying so."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
#: Bits a command's umask removes from everything it creates: all of group and others'.
UMASK = 0o077


def restrict_umask() -> None:
    """Files and folders this process creates from now on are its own (077)."""
    os.umask(UMASK)


def prepare(folder: Path) -> Path:
    """Create the data folder (0700) if needed and close whatever in it is still open to
    other users (a folder made before this version)."""
    folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    closed = close_tree(folder)
    if closed:
        log.warning(
            "data folder %s: %d files or folders were readable by other local users; "
            "now the folder is %o and its files %o",
            folder,
            closed,
            DIR_MODE,
            FILE_MODE,
        )
    return folder


def close_tree(root: Path) -> int:
    """Take group and others' permissions off `root` and everything under it (symbolic
    links are not followed); returns how many entries changed."""
    changed = int(_close(root))
    for here, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            changed += _close(Path(here) / name)
    return changed


def _close(path: Path) -> bool:
    try:
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode) or not stat.S_IMODE(st.st_mode) & UMASK:
            return False
        os.chmod(path, stat.S_IMODE(st.st_mode) & ~UMASK)
    except OSError as exc:  # gone meanwhile, or someone else's file
        log.warning("data folder: cannot restrict %s (%s)", path, exc)
        return False
    return True


def private(path: Path) -> None:
    """`path` (an existing file) readable and writable by its owner only."""
    os.chmod(path, FILE_MODE)


def create_private(path: Path) -> None:
    """Create `path` empty with mode 0600 if it does not exist (a file another library
    then opens, such as a SQLite database)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path`, created (or truncated) with mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), FILE_MODE)
        f.write(data)


def open_private_append(path: Path):
    """`path` opened for appending text (UTF-8), created with mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    return os.fdopen(fd, "a", encoding="utf-8")
