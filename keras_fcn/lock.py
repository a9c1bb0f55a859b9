"""One command at a time in a results folder: the folder's lock.

A command that writes a results folder (a study, a search, the baselines) holds its lock
while it works:

    with folder_lock(folder, wait=0):      # stop at once if another process holds it
        ...                                 # skip what is done, train, append, save

The lock is the file ``keras-fcn.lock`` in the folder, locked with ``flock`` and holding
its owner: pid, host, start time and command. A second command on the folder stops with one
line naming that owner (:class:`~keras_fcn.errors.FolderInUse`), or, given ``wait``
seconds, waits up to that long for it to end. The kernel releases an ``flock`` when its
process dies, however it dies; a lock file left behind by a killed owner is therefore taken
over, with a one-line note. Its contents are checked too, for file systems where ``flock``
does not reach other processes: a lock file naming a live process of this host, or any
process of another host, is in use. The lock is released, and its file removed, when the
``with`` block ends, by an exception or Ctrl-C too.

Holding a folder's lock again in the same process is allowed (a study inside a command that
already holds it); other processes the holder starts (tuning workers, Ray tasks) do not take
it: they share the folder with their holder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import fcntl
import json
import math
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from keras_fcn.commands import process_line
from keras_fcn.errors import ConfigError, FolderInUse, ResultsError
from keras_fcn.layout import LOCK

POLL_S = 0.5
"""How often a waiting command tries the lock again."""

# (pid, folder) -> [how many times this process holds the folder's lock now, its open file]
_held: dict[tuple[int, Path], list] = {}
_held_guard = threading.Lock()


@dataclasses.dataclass(frozen=True)
class Owner:
    """Who holds a folder's lock: what its lock file says."""

    pid: int
    host: str
    started: str
    command: str

    @classmethod
    def me(cls, command: str | None = None) -> Owner:
        """This process, started now, running ``command`` (default: its command line)."""
        started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        return cls(os.getpid(), socket.gethostname(), started, command or command_line())

    def alive(self) -> bool:
        """Whether the owner may still run: a live pid on this host, or any pid elsewhere
        (which cannot be checked from here)."""
        if self.host != socket.gethostname():
            return True
        if self.pid == os.getpid():
            return False  # a file this process left, e.g. before a fork: not another owner
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # alive, another user's
        return True

    def describe(self) -> str:
        """``pid N on HOST (`COMMAND`, since TIME)``, the host said only if not this one."""
        if self == UNKNOWN:
            return "another process (its lock file does not say which)"
        where = "" if self.host == socket.gethostname() else f" on {self.host}"
        return f"pid {self.pid}{where} (`{self.command}`, since {self.started})"


UNKNOWN = Owner(0, "", "", "")
"""The owner of a lock whose file names none (yet)."""


def command_line() -> str:
    """This process's command as it was typed: ``python -m MODULE ARGS`` for a module
    (:func:`keras_fcn.commands.process_line`)."""
    return process_line()


def check_wait(wait: float | None) -> float:
    """``wait`` as seconds: 0 (stop at once) for None, ``inf`` to wait as long as it takes.

    Raises:
        ConfigError: a negative or NaN number of seconds.
    """
    if wait is None:
        return 0.0
    if math.isnan(wait) or wait < 0:
        raise ConfigError(f"--wait {wait:g}: give seconds, 0 or more (inf: as long as it takes)")
    return wait


@contextlib.contextmanager
def folder_lock(
    folder: str | os.PathLike,
    *,
    wait: float | None = 0,
    command: str | None = None,
    stream: TextIO | None = None,
) -> Iterator[Path]:
    """Hold the lock of results folder ``folder`` (created if missing) for the ``with`` block.

    Args:
        folder: the results folder.
        wait: seconds to wait for another owner to end; 0 (the default): stop at once;
            ``math.inf``: as long as it takes.
        command: the owner's command in the lock file (default: this process's).
        stream: where the lines about waiting and stale locks go (stderr by default).

    Yields:
        The lock file's path.

    Raises:
        FolderInUse: another process holds the folder (after ``wait`` seconds).
        ResultsError: the folder or its lock file cannot be written.
    """
    folder = Path(folder)
    key = (os.getpid(), folder.resolve())
    with _held_guard:
        if key in _held:  # this process holds it already: hold it once more
            _held[key][0] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield folder / LOCK
        finally:
            with _held_guard:
                _held[key][0] -= 1
        return
    created = _make_folder(folder)
    try:
        fd = _acquire(folder / LOCK, check_wait(wait), command, stream or sys.stderr)
    except BaseException:
        _remove_empty(created)
        raise
    with _held_guard:
        _held[key] = [1, fd]
    try:
        yield folder / LOCK
    finally:
        with _held_guard:
            del _held[key]
        _release(folder / LOCK, fd)
        _remove_empty(created)


def holds(folder: str | os.PathLike) -> bool:
    """Whether this process holds ``folder``'s lock now."""
    return (os.getpid(), Path(folder).resolve()) in _held


def empty(folder: str | os.PathLike) -> None:
    """Remove everything in ``folder`` but its lock file: a fresh start under the lock."""
    import shutil

    for path in Path(folder).iterdir():
        if path.name == LOCK:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def _make_folder(folder: Path) -> list[Path]:
    """Create ``folder``; the folders created, deepest first (removed again if left empty)."""
    created = []
    path = folder
    while not path.exists() and path != path.parent:
        created.append(path)
        path = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultsError(
            f"cannot write results to {folder}: {exc.strerror}; choose another --out"
        ) from exc
    return created


def _remove_empty(created: list[Path]) -> None:
    """Remove the folders :func:`_make_folder` created if nothing was written into them."""
    for path in created:
        try:
            path.rmdir()
        except OSError:
            return  # not empty: it holds results, and so do its parents


def _acquire(path: Path, wait: float, command: str | None, stream: TextIO) -> int:
    """Lock ``path``, waiting up to ``wait`` seconds; its open descriptor."""
    deadline = time.monotonic() + wait
    settled = time.monotonic() + 2.0  # an owner writes itself into its file within this
    told = False
    while True:
        fd, owner = _try(path)
        if fd is not None:
            _write_owner(path, fd, owner, command, stream)
            return fd
        if owner is None and time.monotonic() < settled:
            time.sleep(0.01)  # the file is changing hands: try again
            continue
        owner = owner or UNKNOWN
        if time.monotonic() < deadline:
            if not told:
                limit = "as long as it takes" if math.isinf(wait) else f"up to {wait:g} s"
                print(
                    f"{path.parent} is in use by {owner.describe()}; waiting {limit}",
                    file=stream,
                    flush=True,
                )
                told = True
            time.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))
            continue
        waited = f" after waiting {wait:g} s" if wait else ""
        raise FolderInUse(
            f"results folder {path.parent} is in use by {owner.describe()}{waited}: "
            "let it finish (rerun then to add what is missing), rerun with --wait SECONDS "
            "to start once it has, or write elsewhere with another --out",
            owner=owner,
        )


def _try(path: Path) -> tuple[int | None, Owner | None]:
    """One attempt: ``(fd, previous owner)`` once locked, ``(None, owner)`` if in use, or
    ``(None, None)`` to try again at once (the file changed hands meanwhile)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except FileNotFoundError:  # the owner removed the folder it had made, left empty
        _make_folder(path.parent)
        return None, None
    except OSError as exc:
        raise ResultsError(f"cannot write results to {path}: {exc.strerror}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = _read_owner(fd)
        os.close(fd)
        return None, owner  # None: its owner is writing itself into it; try again
    try:
        same = os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        same = False
    if not same:  # its owner removed it on release after this process opened it: again
        os.close(fd)
        return None, None
    owner = _read_owner(fd)
    if owner is not None and owner.alive():  # a file system where flock is not shared
        os.close(fd)
        return None, owner
    return fd, owner


def _read_owner(fd: int) -> Owner | None:
    """The owner a lock file names, or None when it is empty or unreadable."""
    try:
        owner = Owner(**json.loads(os.pread(fd, 4096, 0).decode()))
    except (OSError, ValueError, TypeError):  # empty, cut, or not a lock file of ours
        return None
    return owner if isinstance(owner.pid, int) and isinstance(owner.host, str) else None


def _write_owner(path: Path, fd: int, stale: Owner | None, command: str | None, stream) -> None:
    """Write this process into the locked file; say so if it takes over a stale one."""
    if stale is not None:
        print(
            f"note: {path.parent} was locked by {stale.describe()}, which is no longer "
            "running: taking it over",
            file=stream,
            flush=True,
        )
    data = json.dumps(dataclasses.asdict(Owner.me(command))).encode() + b"\n"
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
    except OSError as exc:
        os.close(fd)
        raise ResultsError(f"cannot write results to {path}: {exc.strerror}") from exc


def _release(path: Path, fd: int) -> None:
    """Remove the lock file while still locked, then unlock: a waiter that opened the old
    file sees it was replaced and opens the new one."""
    with contextlib.suppress(OSError):
        path.unlink()
    os.close(fd)
