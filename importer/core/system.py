"""What differs between Windows, macOS and Linux, in one place: a file lock, the signals that ask a
command to stop, and files and folders only this user can read. Every other module calls these and
never a call that one system lacks (tests/test_portability.py fails when one does).

    Linux, macOS   flock(2); SIGINT and SIGTERM; folders 0700, files 0600 (a umask), owner checked
    Windows        msvcrt's byte-range lock; SIGINT and SIGBREAK (Ctrl-C, Ctrl-Break; SIGTERM is
                   never delivered there: a killed process gets no signal); a folder in the user's
                   own profile is private to them already, so modes and owners are not checked
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

WINDOWS = os.name == "nt"
# Windows locks a byte range, and a locked range cannot be read by another process: the lock is
# taken on one byte far past the text the file holds (who holds it), which stays readable.
_LOCKED_BYTE = 2**30


def lock_file(handle) -> bool:
    """Take an exclusive lock on an open file without waiting: True if taken. Released by the system
    when the file is closed or the process ends, however it ends."""
    if WINDOWS:
        import msvcrt

        position = handle.tell()
        try:
            handle.seek(_LOCKED_BYTE)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        finally:
            handle.seek(position)
        return True
    import fcntl

    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def same_file(handle, path: Path) -> bool:
    """Whether the open `handle` is still the file at `path` (not one removed and made anew meanwhile)."""
    try:
        return os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
    except OSError:
        return False


def remove_while_locked(handle, path: Path) -> None:
    """Remove a lock file its holder is done with, before the lock is let go (so that the next taker
    finds either this file still locked, or none). Windows cannot remove an open file: it is emptied."""
    handle.seek(0)
    handle.truncate()
    handle.flush()
    if not WINDOWS:
        try:
            os.unlink(path)
        except OSError:
            pass


def stop_signals() -> tuple[signal.Signals, ...]:
    """The signals a person or a scheduler sends to ask a command to stop cleanly."""
    if WINDOWS:
        return (signal.SIGINT, signal.SIGBREAK)
    return (signal.SIGINT, signal.SIGTERM)


def termination_signals() -> tuple[signal.Signals, ...]:
    """The stop signals other than Ctrl-C (which Python already turns into KeyboardInterrupt)."""
    return tuple(s for s in stop_signals() if s != signal.SIGINT)


def keep_files_private() -> None:
    """Files and folders this process makes from now on are this user's alone (POSIX: umask 077; on
    Windows the user's own folders are private already). For a process the CLI owns, never a library."""
    if not WINDOWS:
        os.umask(0o077)


def no_follow_flag() -> int:
    """`os.open` flags that refuse to open a symbolic link (0 where the system has no such flag)."""
    return getattr(os, "O_NOFOLLOW", 0)


def foreign_owner(path: Path) -> bool:
    """Whether another user owns `path` (never on Windows, which has no POSIX owners to compare)."""
    if WINDOWS or not hasattr(os, "getuid"):
        return False
    return path.stat().st_uid != os.getuid()


def make_private(folder: Path) -> None:
    """Mode 0700 where modes exist."""
    if not WINDOWS:
        folder.chmod(0o700)
