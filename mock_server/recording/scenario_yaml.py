"""Where ``scenario-from`` writes its YAML (:func:`~mock_server.scenarios.writing.scenario_yaml` makes
it): a file that is whole or not there (:func:`write_whole`; a FIFO or a device is written as it is)."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path

__all__ = ["is_stream", "write_whole"]


def write_whole(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` whole or not at all: to a temporary file beside it, renamed over it
    at the end (an existing file keeps its permissions; a new one gets the umask's, as ``open`` would
    give it). Whatever fails, no partial file is left and what was at ``path`` is untouched; the
    OSError says why. A symbolic link stays one: the file it names is the one written (beside it, and
    renamed onto it).

    A stream is written directly, as ``open`` would, and may be left partial: a FIFO, a device
    (``/dev/stdout`` and a terminal), or the file this process's standard streams are (there is no file
    to rename over, or renaming would take the file from under its other writer). False when ``path``
    was such a stream, True when the file was written whole."""
    data = text.encode("utf-8")  # before any file exists: a text that cannot be written leaves none
    if is_stream(path):
        fd = _standard(path)
        # a standard stream through its own descriptor: its offset and append mode kept (opening
        # /dev/stdout again would truncate a file the shell opened with >>)
        with open(path, "wb") if fd is None else os.fdopen(os.dup(fd), "wb") as out:
            out.write(data)
        return False
    target = Path(os.path.realpath(path))  # a link's file (relative, chained, or not there yet)
    if target.is_symlink():  # realpath stops at a loop: open() would fail on it too
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path))
    try:
        mode: int | None = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    for _ in range(100):  # O_EXCL: a name no other writer holds
        temporary = target.parent / f".{target.name}.{secrets.token_hex(4)}.partial"
        try:
            handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"no free temporary name beside {target}")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return True


def is_stream(path: Path) -> bool:
    """Whether ``path`` (its links followed) is written in place: not a regular file nor a folder (a
    FIFO, a device), or one of this process's standard streams (``/dev/stdout`` redirected to a file)."""
    try:
        facts = os.stat(path)
    except OSError:  # not there (it is made), or not reachable (the writing says why)
        return False
    if stat.S_ISDIR(facts.st_mode):  # the rename says it is one
        return False
    return not stat.S_ISREG(facts.st_mode) or _standard(path) is not None


def _standard(path: Path) -> int | None:
    """The descriptor of this process's standard stream that ``path`` is (0, 1 or 2), if it is one."""
    with contextlib.suppress(OSError):
        facts = os.stat(path)
        for fd in (1, 2, 0):
            with contextlib.suppress(OSError):
                if os.path.samestat(facts, os.fstat(fd)):
                    return fd
    return None
