"""Output files: the rules an output must meet (checked before any work starts) and atomic
writes (a temporary file in the target's directory, then ``os.replace``). No printing: the
checks raise :class:`UsageError`, the writes ``OSError``.

A symlink is followed: its target file is replaced and the link kept. An output that exists and
is not a regular file (a FIFO, a device) is written directly, as a stream: there is no file to
replace. An output that names one of the process's own open streams (``/dev/stdout``,
``/dev/stderr``, ``/dev/fd/N``, ``/proc/self/fd/N``) is written to that open stream, whatever
it is: a shell's ``>> file`` appends, ``> file`` writes from where the stream stands, nothing is
replaced or truncated.
"""

from __future__ import annotations

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


def _write_fd(fd: int, payload: bytes) -> None:
    """All of ``payload`` to the open file descriptor ``fd`` (a write may take part of it)."""
    _flush_python_streams(fd)
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view):]


def open_stream(path: Path) -> TextIO:
    """``path`` opened for text written as it comes (a log that grows; not atomic): this
    process's own stream when ``path`` names one (written where it stands, never truncated),
    else the file, created or truncated. The caller closes it. Raises OSError."""
    fd = own_stream(path)
    if fd is None:
        return open(path, "w", encoding="utf-8")
    _flush_python_streams(fd)
    return os.fdopen(os.dup(fd), "w", encoding="utf-8")


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (symlinks and hard links included)."""
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
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
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", dir=folder)
    except OSError as exc:
        raise UsageError(f"{option} {output}: cannot write in {folder}: "
                         f"{exc.strerror}") from None
    os.close(fd)
    os.unlink(probe)


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path``: a reader sees the old file or the complete
    new one. Through a symlink the target file is replaced (the link stays); a file that is
    replaced keeps its mode, a new one gets 0666 minus the umask (mkstemp creates 0600). A
    FIFO or device is written directly; one of the process's own streams (``/dev/stdout`` …)
    is written where it stands, whatever it is (a file that a shell's ``>>`` appends to).

    Raises OSError; the temporary file never stays behind (KeyboardInterrupt included).
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
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
