"""Opening the files a command reads: each input is opened once, and limits count the bytes
actually read (a pipe, FIFO or device has no size to check beforehand).

A CSV file may be read several times (``check --data`` reads it twice, ``evaluate`` reads its
label column apart): a regular file is opened anew for each reading; anything else (a pipe,
``/dev/stdin``, a FIFO, ``<(…)``, a device) is copied once, as it is read, into a temporary
file that every reading then uses, so that the same bytes give the same results either way.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from typing import IO

from backprop_cli.errors import BackpropError, ConfigError, DataError

MAX_LINE_BYTES = 4 * 2**20  # of a CSV line: refused once this much of one line is read
MAX_STREAM_BYTES = 4 * 2**30  # of a CSV input that is not a regular file (copied to disk)
BLOCK = 2**20  # bytes read at a time; at most MAX_LINE_BYTES, so a block's inner lines fit

FileName = str | os.PathLike[str]  # a path as given, or an :class:`Input`


def checked_stat(path: FileName, error: Callable[[str], BackpropError],
                 expected: str) -> os.stat_result:
    """``os.stat`` of an input, or ``error(message)`` for every file-system condition: no
    such file, permission, a name too long, a symlink loop, a directory (``expected``: what
    should be there instead)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise error("no such file") from None
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror or exc}") from None
    except ValueError:  # a NUL byte in the name
        raise error("the name holds a NUL byte; expected a file name") from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"is a directory; expected {expected}")
    return st


def network_stat(path: FileName) -> os.stat_result:
    """:func:`checked_stat` of a network file (a :class:`ConfigError`)."""
    return checked_stat(path, lambda m: ConfigError(m, file=str(path)), "a network file (.yaml)")


def csv_stat(path: FileName) -> os.stat_result:
    """:func:`checked_stat` of a CSV input (a :class:`DataError`)."""
    return checked_stat(path, lambda m: DataError(m, file=str(path)), "a CSV file")


def open_bytes(path: os.PathLike[str] | str, error: Callable[[str], BackpropError]
               ) -> IO[bytes]:
    """``open(path, "rb")``, or ``error(message)``."""
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise error("no such file") from None
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror or exc}") from None


class LineLimit:
    """Counts the lines of a byte stream fed block by block (blocks of ≤ :data:`BLOCK`
    bytes) and refuses a line longer than :data:`MAX_LINE_BYTES` as soon as that much of it
    has been read, naming its line (``line``: the line the first block starts on)."""

    def __init__(self, file: str, line: int = 1) -> None:
        self.file = file
        self.line = line
        self.tail = 0  # bytes of the current line read so far

    def feed(self, block: bytes) -> None:
        first = block.find(b"\n")
        if self.tail + (len(block) if first < 0 else first) > MAX_LINE_BYTES:
            raise too_long(self.file, self.line)
        if first < 0:
            self.tail += len(block)
        else:  # the lines inside a block are shorter than the block
            self.line += block.count(b"\n")
            self.tail = len(block) - block.rfind(b"\n") - 1


def too_long(file: str, line: int) -> DataError:
    return DataError(f"a line longer than {MAX_LINE_BYTES // 2**20} MiB (CSV lines are limited "
                     f"to {MAX_LINE_BYTES // 2**20} MiB, a field to 128 KiB): is this a CSV "
                     "file?", file=file, row=line)


class Input(os.PathLike[str]):
    """A CSV input as the user named it (``str()``: for messages) and the regular file that
    holds its bytes (``os.fspath()``: to open; a temporary copy for a stream)."""

    def __init__(self, name: str, path: str, copy: IO[bytes] | None = None) -> None:
        self.name = name
        self.path = path
        self._copy = copy

    def __fspath__(self) -> str:
        return self.path

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"Input({self.name!r})" + (" (copied)" if self._copy else "")

    def close(self) -> None:
        """Remove the temporary copy, if any."""
        if self._copy is not None:
            self._copy.close()


_COPIES: dict[tuple[int, int], Input] = {}  # the streams copied so far, by device and inode


def as_input(path: os.PathLike[str] | str) -> Input:
    """``path`` as an :class:`Input`: a regular file as it is, anything else read once to its
    end into a temporary copy (at most :data:`MAX_STREAM_BYTES`, lines of at most
    :data:`MAX_LINE_BYTES`). An :class:`Input` is returned as it is."""
    if isinstance(path, Input):
        return path
    name = str(path)

    def error(message: str) -> DataError:
        return DataError(message, file=name)

    st = csv_stat(path)
    if stat.S_ISREG(st.st_mode):
        return Input(name, os.fspath(path))
    # The same stream named twice (train's data and --val both /dev/stdin) is read once: the
    # second name gets the first one's bytes, as two names of one regular file would.
    known = _COPIES.get((st.st_dev, st.st_ino))
    if known is not None:
        return Input(name, known.path, known._copy)
    lines = LineLimit(name)
    copy, copy_path = _unnamed_copy()
    try:
        with open_bytes(path, error) as stream:
            size = 0
            while block := stream.read(BLOCK):
                size += len(block)
                if size > MAX_STREAM_BYTES:
                    raise error(f"more than {MAX_STREAM_BYTES // 2**30} GiB read from this "
                                f"stream (a {_kind(st)}); a CSV input that is not a regular "
                                f"file is limited to {MAX_STREAM_BYTES // 2**30} GiB: save it "
                                "to a file first")
                lines.feed(block)
                copy.write(block)
        copy.flush()
    except OSError as exc:
        copy.close()
        raise error(f"cannot read it into a temporary file in {tempfile.gettempdir()}: "
                    f"{exc.strerror or exc}") from None
    except BaseException:
        copy.close()
        raise
    copied = Input(name, copy_path, copy)
    _COPIES[(st.st_dev, st.st_ino)] = copied
    return copied


def _unnamed_copy() -> tuple[IO[bytes], str]:
    """A temporary file and a path that reopens it. Where /proc/self/fd exists the file has no
    name at all, so a SIGKILL leaves nothing behind; elsewhere it is a named temporary file."""
    if os.path.isdir("/proc/self/fd"):
        copy = tempfile.TemporaryFile(prefix="backprop-", suffix=".csv")  # noqa: SIM115
        return copy, f"/proc/self/fd/{copy.fileno()}"
    named = tempfile.NamedTemporaryFile(prefix="backprop-", suffix=".csv")  # noqa: SIM115
    return named, named.name


def _kind(st: os.stat_result) -> str:
    mode = st.st_mode
    if stat.S_ISFIFO(mode):
        return "pipe"
    if stat.S_ISCHR(mode):
        return "device"
    return "stream"
