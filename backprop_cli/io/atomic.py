"""Output files: the rules an output must meet (checked before any work starts) and atomic
writes. No printing: the checks raise :class:`UsageError`, the writes ``OSError``.

A write goes to a file without a name (``O_TMPFILE``, where the file system has it) that is
given the target's name only when complete, so that no temporary file can survive even a
SIGKILL; elsewhere to a temporary name that the next write to the same directory removes if
the process that made it has gone. Without ``replace`` the name is given by ``link``, which
fails if the target appeared meanwhile (another process): an existing file is never replaced
without --force, however late it came.

A symlink is followed: its target file is replaced and the link kept. An output that exists and
is not a regular file (a FIFO, a device) is written directly, as a stream: there is no file to
replace. An output that names one of the process's own open streams (``/dev/stdout``,
``/dev/stderr``, ``/dev/fd/N``, ``/proc/self/fd/N``) is written to that open stream, whatever
it is: a shell's ``>> file`` appends, ``> file`` writes from where the stream stands, nothing is
replaced or truncated.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import stat
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from backprop_cli.errors import UsageError

# The names of a process's own file descriptors; /dev/stdin … are links to /proc/self/fd/0 …
_FD_NAMES = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}
_FD_PATH = re.compile(r"/(?:dev/fd|proc/(?:self|thread-self|(\d+))/fd)/(\d+)")
_STREAM_NAMES = {0: "stdin", 1: "stdout", 2: "stderr"}


def own_stream(path: Path) -> int | None:
    """The file descriptor N when ``path`` names one of this process's own open streams
    (``/dev/stdout``, ``/dev/stderr``, ``/dev/stdin``, ``/dev/fd/N``, ``/proc/self/fd/N``,
    ``/proc/<this pid>/fd/N``, or a symlink to one of those); else None."""
    name = os.path.abspath(path)
    for _ in range(40):  # the kernel's own limit on symlinks in a path
        if name in _FD_NAMES:
            return _FD_NAMES[name]
        match = _FD_PATH.fullmatch(name)
        if match:
            pid = match.group(1)
            return int(match.group(2)) if pid is None or int(pid) == os.getpid() else None
        try:
            link = os.readlink(name)
        except OSError:  # not a symlink (or missing): a file of its own
            return None
        name = os.path.normpath(os.path.join(os.path.dirname(name), link))
    return None


def _flush_python_streams(fd: int) -> None:
    """Flush ``sys.stdout``/``sys.stderr`` if they write to ``fd``, so that what they hold
    comes before what is written to ``fd`` directly."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None and stream.fileno() == fd:
                stream.flush()
        except (AttributeError, ValueError, io.UnsupportedOperation):
            continue  # not a real file (a test's capture) or closed: nothing to order


def _check_own_stream(output: Path, fd: int, option: str) -> None:
    stream = _STREAM_NAMES.get(fd, f"file descriptor {fd}")
    try:
        mode = os.fstat(fd).st_mode
        flags = _fd_flags(fd)
    except OSError:
        raise UsageError(f"{option} {output}: {stream} is not open; open it (e.g. "
                         f"{fd}>> FILE in the shell) or choose a file name") from None
    if stat.S_ISDIR(mode) or (flags is not None and flags & os.O_ACCMODE == os.O_RDONLY):
        raise UsageError(f"{option} {output}: {stream} is not open for writing; choose "
                         "another output")


def _fd_flags(fd: int) -> int | None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return None
    return fcntl.fcntl(fd, fcntl.F_GETFL)


def write_all(fd: int, payload: bytes | memoryview) -> int:
    """All of ``payload`` to the open file descriptor ``fd``; returns its length. One
    ``os.write`` may take only part of it (a disk that fills up, a pipe whose reader leaves):
    the rest is written, or the error raised, never dropped."""
    view = memoryview(payload).cast("B")
    total = len(view)
    while view:
        view = view[os.write(fd, view):]
    return total


def _write_fd(fd: int, payload: bytes) -> None:
    """All of ``payload`` to the open file descriptor ``fd``, after Python's own buffers."""
    _flush_python_streams(fd)
    write_all(fd, payload)


def open_stream(path: Path, *, exclusive: bool = False) -> TextIO:
    """``path`` opened for text written as it comes (a log that grows; not atomic): this
    process's own stream when ``path`` names one (written where it stands, never truncated),
    else the file, created or truncated (``exclusive``: created, FileExistsError if it
    exists; a FIFO or device is opened as it is). The caller closes it. Raises OSError."""
    fd = own_stream(path)
    if fd is None:
        new = exclusive and not is_stream(path)
        # a dangling symlink names the file to create: O_EXCL would refuse the link itself
        return open(os.path.realpath(path), "x", encoding="utf-8") if new else open(
            path, "w", encoding="utf-8")
    _flush_python_streams(fd)
    return os.fdopen(os.dup(fd), "w", encoding="utf-8")


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (symlinks and hard links included)."""
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except (OSError, RuntimeError):  # RuntimeError: a loop of symlinks (Python < 3.13)
        return False


def is_stream(path: Path) -> bool:
    """Whether ``path`` exists and is neither a regular file nor a directory (a FIFO, a device,
    a named pipe), symlinks followed: it is written directly, not replaced."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def check_output(output: Path | None, inputs: list[Path], option: str = "--output", *,
                 force: bool = False, others: dict[str, Path] | None = None) -> None:
    """Refuse, before any work, an output that is one of the ``inputs`` or of the ``others``
    outputs (by option), a directory, an existing file without ``force``, or in a directory
    that is missing or cannot be written (tried with a temporary file). A FIFO or device is
    accepted as it is, and so is one of the process's own streams if it is open for writing
    (:func:`own_stream`)."""
    if output is None:
        return
    for source in inputs:
        if same_file(output, source):
            raise UsageError(f"{option} {output} is the input file {source}; the input is never "
                             f"overwritten: choose another {option}")
    for other, path in (others or {}).items():
        if same_file(output, path):
            raise UsageError(f"{option} {output} is also the {other} file; each output needs "
                             f"its own file: choose another {option}")
    fd = own_stream(output)
    if fd is not None:
        _check_own_stream(output, fd, option)
        return
    try:
        _check_file(output, option, force)
    except OSError as exc:  # a directory that cannot be read, a name too long, a symlink loop
        raise UsageError(f"{option} {output}: {exc.strerror or exc}; choose another "
                         f"{option}") from None


def _check_file(output: Path, option: str, force: bool) -> None:
    """The checks of :func:`check_output` on a path that is not one of the process's streams;
    raises UsageError, or OSError where the path cannot even be looked at."""
    if output.is_symlink():
        with contextlib.suppress(FileNotFoundError):  # dangling: the file it names is made
            os.stat(output)  # a loop of links: ELOOP
    if output.is_dir():
        raise UsageError(f"{option} {output} is a directory; expected a file name")
    if is_stream(output):
        return
    target = Path(os.path.realpath(output))
    if target.exists() and not force:
        raise UsageError(f"{option} {output} exists; add --force to overwrite it")
    folder = target.parent if output.is_symlink() else output.parent
    if not folder.is_dir():
        raise UsageError(f"{option} {output}: the directory {folder} does not exist")
    try:
        probe_folder(folder)
    except OSError as exc:
        raise UsageError(f"{option} {output}: cannot write in {folder}: "
                         f"{exc.strerror}") from None


# A temporary name: ".NAME.backprop-PID-RANDOM.tmp", made by the process PID.
_LEFTOVER = re.compile(r"\.(.+)\.backprop-(\d+)-[^.]*\.tmp")


def _temporary_prefix(target: Path) -> str:
    return f".{target.name}.backprop-{os.getpid()}-"


def _clean_leftovers(folder: Path, name: str) -> None:
    """Remove the temporary files of writes to ``folder/name`` whose process has gone (a
    SIGKILL between creating and renaming one, where ``O_TMPFILE`` is missing)."""
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        match = _LEFTOVER.fullmatch(entry)
        if match is None or match.group(1) != name or _alive(int(match.group(2))):
            continue
        with contextlib.suppress(OSError):
            os.unlink(folder / entry)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def _anonymous(folder: Path, mode: int = 0o600) -> int | None:
    """A file without a name in ``folder``, open for writing (it vanishes with the process
    unless linked), or None where the system or file system has no ``O_TMPFILE``."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):  # linked through /proc
        return None
    try:
        return os.open(folder, flag | os.O_WRONLY | os.O_CLOEXEC, mode)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            return None  # this file system cannot: a named temporary file instead
        raise


def probe_folder(folder: Path) -> None:
    """Raise OSError if no file can be created in ``folder``; leaves nothing behind."""
    fd = _anonymous(folder)
    if fd is None:
        fd, probe = tempfile.mkstemp(prefix=_temporary_prefix(folder / "probe"), suffix=".tmp",
                                     dir=folder)
        os.unlink(probe)
    os.close(fd)


def write_atomic(path: Path, data: str | bytes, *, replace: bool = True) -> None:
    """Write ``data`` (text as UTF-8) to ``path``: a reader sees the old file or the complete
    new one. Through a symlink the target file is replaced (the link stays); a file that is
    replaced keeps its mode, a new one gets 0666 minus the umask. A FIFO or device is written
    directly; one of the process's own streams (``/dev/stdout`` …) is written where it stands,
    whatever it is (a file that a shell's ``>>`` appends to).

    ``replace`` False: a file that exists at ``path`` now (created since the checks, by
    another process) is kept, and ``FileExistsError`` raised. Raises OSError; no temporary
    file stays behind (KeyboardInterrupt, and with ``O_TMPFILE`` SIGKILL, included).
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd = own_stream(path)
    if fd is not None:
        _write_fd(fd, payload)
        return
    if is_stream(path):
        with open(path, "wb") as stream:
            stream.write(payload)
        return
    target = Path(os.path.realpath(path))
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    _clean_leftovers(target.parent, target.name)
    fd = _anonymous(target.parent)
    if fd is None:
        _write_named(target, payload, mode, replace)
        return
    try:
        write_all(fd, payload)
        os.fchmod(fd, mode)
        if not replace:
            _link_fd(fd, target)  # EEXIST: nothing replaced
            return
        tmp = _link_temporary(fd, target)
        try:
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    finally:
        os.close(fd)


def _link_fd(fd: int, name: Path | str) -> None:
    """Give the open file ``fd`` the new ``name``; FileExistsError if it exists.

    ``linkat`` of /proc/self/fd/N with AT_SYMLINK_FOLLOW: Python calls plain ``link`` (which
    would link the /proc symlink itself) unless a directory descriptor is given."""
    proc = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.link(str(fd), name, src_dir_fd=proc, follow_symlinks=True)
    finally:
        os.close(proc)


def _link_temporary(fd: int, target: Path) -> str:
    """A new temporary name beside ``target`` for the open file ``fd``: the step before
    ``os.replace`` when a file may be replaced."""
    for _ in range(100):
        tmp = str(target.parent / f"{_temporary_prefix(target)}{os.urandom(6).hex()}.tmp")
        try:
            _link_fd(fd, tmp)  # never replaces: EEXIST
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(target.parent))


def _write_named(target: Path, payload: bytes, mode: int, replace: bool) -> None:
    """:func:`write_atomic` through a named temporary file (no ``O_TMPFILE``)."""
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(target), suffix=".tmp",
                                   dir=target.parent)
        try:
            write_all(fd, payload)
        finally:
            os.close(fd)
        os.chmod(tmp, mode)
        if replace:
            os.replace(tmp, target)
        else:
            os.link(tmp, target)  # EEXIST: nothing replaced
            os.unlink(tmp)
        tmp = None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
