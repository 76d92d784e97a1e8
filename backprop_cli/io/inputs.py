"""Opening the files a command reads: each input is opened once, and limits count the bytes
actually read (a pipe, FIFO or device has no size to check beforehand).

A data input is CSV text, given as a file name or ``-`` (standard input, named ``<stdin>`` in
messages); CSV compressed with gzip, bzip2 or xz (known by its first bytes, whatever its name;
a name ending in ``.gz``, ``.bz2`` or ``.xz`` must hold that format), decompressed with the
standard library; or, with the optional pyarrow, a Parquet or Arrow IPC (Feather) file, written
out as CSV. Each becomes one regular file of CSV text that the readers parse as any other, and
the line numbers in messages are those of that text (the header is line 1), named after the
user's file.

A CSV file may be read several times (``check --data`` reads it twice, ``evaluate`` reads its
label column apart): a regular file is opened anew for each reading; anything else (a pipe,
``/dev/stdin``, a FIFO, ``<(…)``, a device) is copied once, as it is read, into a temporary
file that every reading then uses, so that the same bytes give the same results either way.
"""

from __future__ import annotations

import glob
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import IO, Any

from backprop_cli.errors import BackpropError, ConfigError, DataError

MAX_LINE_BYTES = 4 * 2**20  # of a CSV line: refused once this much of one line is read
MAX_STREAM_BYTES = 4 * 2**30  # of a CSV input that is not a regular file (copied to disk)
BLOCK = 2**20  # bytes read at a time; at most MAX_LINE_BYTES, so a block's inner lines fit

FileName = str | os.PathLike[str]  # a path as given, or an :class:`Input`
STDIN = "-"  # the data file name that means standard input
STDIN_NAME = "<stdin>"  # its name in messages
ARROW_INSTALL = "pip install '.[arrow]'"  # the optional extra that reads Parquet and Arrow

# Compressed CSV: the format's first bytes, its file name ending. (bzip2: "BZh", the block
# size, then a block's or the end's magic number — a CSV header may well start with "BZh".)
_COMPRESSED = {"gzip": (re.compile(rb"\x1f\x8b"), ".gz"),
               "bzip2": (re.compile(rb"BZh[1-9](1AY&SY|\x17rE8P\x90)"), ".bz2"),
               "xz": (re.compile(rb"\xfd7zXZ\x00"), ".xz")}
# Columnar files pyarrow reads: the format's first bytes and its file name endings (a Parquet
# file also ends in PAR1; an Arrow IPC stream has no magic bytes, only its name tells).
_COLUMNAR = {"Parquet": (re.compile(rb"PAR1"), (".parquet", ".pq")),
             "Arrow IPC": (re.compile(rb"ARROW1\x00\x00"), (".arrow", ".feather", ".ipc"))}


DASK_INSTALL = "pip install '.[dask]'"  # the optional extra of --engine dask
_PATTERN = re.compile(r"[*?[]")  # a glob pattern's special characters


class Files(os.PathLike[str]):
    """Several CSV inputs read as one, in order (as if concatenated, one header): what
    ``--data`` names with several files or a glob pattern. ``str()``: the names as given,
    for messages; ``members``: each file."""

    def __init__(self, name: str, members: Sequence[str]) -> None:
        self.name = name
        self.members = tuple(members)

    def __fspath__(self) -> str:
        raise TypeError(f"{self.name} names several files; read each of its members")

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"Files({self.name!r}, {len(self.members)} files)"


def is_remote(name: str) -> bool:
    """A URL that fsspec reads (s3://…, gs://…, https://…), not a local file name."""
    return re.match(r"[A-Za-z][A-Za-z0-9+.-]+://", name) is not None


def natural_key(name: str) -> list[tuple[int, str]]:
    """Sorts part-2 before part-10 (numbers in a name by value)."""
    return [(int(p), "") if p.isdigit() else (-1, p) for p in re.split(r"(\d+)", name)]


def data_input(specs: Sequence[FileName]) -> FileName:
    """The data ``specs`` name: each a file name, ``-`` (standard input), a URL that fsspec
    reads, or a glob pattern (``'rows/part-*.csv'``, its matches in natural order: part-2
    before part-10). One file is returned as it was given; several as :class:`Files`."""
    members: list[str] = []
    for spec in specs:
        name = str(spec)
        if name == STDIN or not _PATTERN.search(name) or os.path.exists(name):
            members.append(name)
            continue
        found = _remote_glob(name) if is_remote(name) else glob.glob(name)
        if not found:
            raise DataError("no file matches this pattern; check the directory and the "
                            "pattern (quote it, so that the shell does not expand it)",
                            file=name)
        members.extend(sorted(found, key=natural_key))
    if len(members) == 1:
        return specs[0] if str(specs[0]) == members[0] else members[0]
    if members.count(STDIN) > 0:
        raise DataError("standard input (-) is one of several data files; give it alone or "
                        "save it to a file", file=STDIN_NAME)
    return Files(", ".join(str(spec) for spec in specs), members)


def remote_fs(name: str) -> Any:
    """fsspec's file system for the URL ``name``, or a :class:`DataError` saying what to
    install."""
    try:
        import fsspec
    except ImportError:
        raise DataError(f"reading a URL needs fsspec (comes with the dask extra: "
                        f"{DASK_INSTALL})", file=name) from None
    try:
        fs, _ = fsspec.core.url_to_fs(name)
    except (ImportError, ValueError) as exc:
        raise DataError(f"cannot read this URL: {exc}; install the fsspec package of its "
                        "protocol (s3fs for s3://, gcsfs for gs://)", file=name) from None
    return fs


def _remote_open(fs: Any, name: str) -> IO[bytes]:
    try:
        opened: IO[bytes] = fs.open(name, "rb")
    except FileNotFoundError:
        raise DataError("no such file", file=name) from None
    except OSError as exc:
        raise DataError(f"cannot read: {exc}", file=name) from None
    return opened


def _remote_glob(pattern: str) -> list[str]:
    fs = remote_fs(pattern)
    protocol = pattern.split("://", 1)[0]
    try:
        return [f"{protocol}://{path}" for path in fs.glob(pattern)]
    except OSError as exc:
        raise DataError(f"cannot list the files: {exc}", file=pattern) from None


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
    """:func:`checked_stat` of a CSV input (a :class:`DataError`); of standard input for
    ``-``."""
    if not isinstance(path, Input) and str(path) == STDIN:
        try:
            return os.fstat(sys.stdin.fileno())
        except (OSError, ValueError, AttributeError):  # no descriptor (a test's stdin): a stream
            return os.stat_result((stat.S_IFIFO,) + (0,) * 9)
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
        self._source: object = None  # for standard input: the stream it was read from

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


_COPIES: dict[object, Input] = {}  # the inputs copied so far (see :func:`as_input`)


def as_input(path: os.PathLike[str] | str) -> Input:
    """``path`` as an :class:`Input`: a regular file of CSV text as it is; anything else read
    once into a temporary copy of CSV text (at most :data:`MAX_STREAM_BYTES`, lines of at most
    :data:`MAX_LINE_BYTES`): a stream (``-``: standard input, a pipe, a FIFO, a device), a
    compressed file (gzip, bzip2, xz), a Parquet or Arrow IPC file. An :class:`Input` is
    returned as it is.

    The same input named twice in one command (train's data and ``--val`` both ``-``, or one
    compressed file) is read once: the second name gets the first one's copy, as two names of
    one regular file would."""
    if isinstance(path, Input):
        return path
    if str(path) == STDIN:
        return _stdin_input()
    name = str(path)
    if isinstance(path, Files):
        raise TypeError(f"{name}: several files; read each of its members")

    def error(message: str) -> DataError:
        return DataError(message, file=name)

    if is_remote(name):  # copied once, as a stream is
        if name not in _COPIES:
            fs = remote_fs(name)
            _COPIES[name] = _decoded(_copied(name, lambda: _remote_open(fs, name),
                                             _stream_limit("a remote file")), name, name)
        return _COPIES[name]
    st = csv_stat(path)
    if not stat.S_ISREG(st.st_mode):
        # A stream named twice (train's data and --val both /dev/stdin) is read once.
        known = _COPIES.get((st.st_dev, st.st_ino))
        if known is not None:
            return Input(name, known.path, known._copy)
        copied = _decoded(_copied(name, lambda: open_bytes(path, error),
                                  _stream_limit(f"a {_kind(st)}")), name, name)
        _COPIES[(st.st_dev, st.st_ino)] = copied
        return copied
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    known = _COPIES.get(key)
    if known is not None:
        return Input(name, known.path, known._copy)
    plain = Input(name, os.fspath(path))
    decoded = _decoded(plain, name, name)
    if decoded is not plain:
        _COPIES[key] = decoded
    return decoded


def _stdin_input() -> Input:
    """Standard input (``-``) as an :class:`Input`, read once per command (per stream)."""
    if sys.stdin is None or sys.stdin.isatty():
        state = "closed" if sys.stdin is None else "a terminal"
        raise DataError(f"standard input is {state}; pipe or redirect the data into it "
                        "(backprop … - < data.csv) or name the file", file=STDIN_NAME)
    stdin = sys.stdin.buffer
    known = _COPIES.get(("stdin", id(stdin)))
    if known is not None and known._source is stdin:
        return known
    raw = _copied(STDIN_NAME, lambda: nullcontext(stdin), _stream_limit("standard input"))
    result = _decoded(raw, STDIN_NAME, "")
    result._source = stdin  # an id alone could be a later stream's (in-process tests)
    _COPIES[("stdin", id(stdin))] = result
    return result


def _copied(name: str, opened: Callable[[], AbstractContextManager[IO[bytes]]],
            too_much: Callable[[str], str],
            blocks: Callable[[IO[bytes]], Iterator[bytes]] | None = None) -> Input:
    """The bytes of ``opened()`` (or ``blocks`` of it) copied into a temporary file, as an
    :class:`Input` named ``name``; ``too_much(limit)``: the message when there are more than
    :data:`MAX_STREAM_BYTES` (``limit``: that many GiB)."""

    def error(message: str) -> DataError:
        return DataError(message, file=name)

    lines = LineLimit(name)
    copy, copy_path = _unnamed_copy()
    try:
        with opened() as stream:
            size = 0
            for block in (blocks or _blocks)(stream):
                size += len(block)
                if size > MAX_STREAM_BYTES:
                    raise error(too_much(f"{MAX_STREAM_BYTES // 2**30} GiB"))
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
    return Input(name, copy_path, copy)


def _stream_limit(kind: str) -> Callable[[str], str]:
    return lambda limit: (f"more than {limit} read from this stream ({kind}); a CSV input that "
                          f"is not a regular file is limited to {limit}: save it to a file "
                          "first")


def _blocks(stream: IO[bytes]) -> Iterator[bytes]:
    while block := stream.read(BLOCK):
        yield block


def _decoded(source: Input, name: str, file_name: str) -> Input:
    """``source`` (a regular file) as CSV text: itself if it is, else decompressed or
    converted into a temporary copy. ``file_name``: the name whose ending tells the format
    ("" for standard input)."""
    lower = file_name.lower()
    try:
        with open(source.path, "rb") as stream:
            head = stream.read(12)
            if len(head) >= 8:
                stream.seek(-4, os.SEEK_END)
            tail = stream.read(4)
    except OSError as exc:  # EIO (/proc/self/mem): named as the CSV readers name it
        raise DataError(f"cannot read it: {exc.strerror or exc}", file=name, row=1) from None
    for fmt, (magic, ending) in _COMPRESSED.items():
        if magic.match(head):
            return _decompressed(source, name, fmt)
        if lower.endswith(ending):
            raise DataError(f"not valid {fmt} data: the name ends in {ending} but the file "
                            f"does not start as {fmt} data does; decompress it again or "
                            "rename it", file=name)
    for fmt, (magic, endings) in _COLUMNAR.items():
        if ((magic.match(head) and (fmt != "Parquet" or tail == b"PAR1"))
                or lower.endswith(endings)):
            return _converted(source, name, fmt)
    return source


def _decompressed(source: Input, name: str, fmt: str) -> Input:
    """The CSV text inside ``source``, compressed in ``fmt``, in a temporary copy."""
    import bz2
    import gzip
    import lzma
    import zlib

    opener: Callable[[str], IO[bytes]] = {"gzip": gzip.open, "bzip2": bz2.open,
                                          "xz": lzma.open}[fmt]  # type: ignore[assignment]

    def blocks(stream: IO[bytes]) -> Iterator[bytes]:
        while True:
            try:
                block = stream.read(BLOCK)
            except (EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile) as exc:
                raise DataError(f"not valid {fmt} data ({exc or 'it ends too early'}); "
                                f"expected CSV compressed with {fmt}", file=name) from None
            except OSError as exc:
                if not str(exc).startswith("Invalid data stream"):  # bz2's word for corrupt
                    raise
                raise DataError(f"not valid {fmt} data ({exc}); expected CSV compressed with "
                                f"{fmt}", file=name) from None
            if not block:
                return
            yield block

    copy = _copied(name, lambda: opener(source.path),
                   lambda limit: f"more than {limit} of CSV text in this {fmt} file; "
                                 f"decompressed data is limited to {limit}: decompress it to a "
                                 "file first", blocks)
    source.close()
    return copy


def _converted(source: Input, name: str, fmt: str) -> Input:
    """A Parquet or Arrow IPC file as CSV text in a temporary copy (with pyarrow)."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pa_csv
        import pyarrow.ipc as pa_ipc
        import pyarrow.parquet as pa_parquet
    except ImportError:
        raise DataError(f"reading a {fmt} file needs pyarrow, an optional extra: install it "
                        f"with {ARROW_INSTALL} (or pip install pyarrow), or save the data as "
                        "CSV", file=name) from None
    try:
        if fmt == "Parquet":
            table = pa_parquet.read_table(source.path)
        else:
            try:
                table = pa_ipc.open_file(source.path).read_all()
            except pa.ArrowInvalid:  # the IPC stream format has no footer
                with pa.memory_map(source.path) as mapped:
                    table = pa_ipc.open_stream(mapped).read_all()
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"not a readable {fmt} file ({exc})", file=name) from None
    import csv
    import io

    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(table.column_names)
    copy, copy_path = _unnamed_copy()
    try:
        copy.write(header.getvalue().encode("utf-8"))
        if table.num_rows:
            body = pa.BufferOutputStream()
            pa_csv.write_csv(table, body, pa_csv.WriteOptions(include_header=False))
            copy.write(body.getvalue().to_pybytes())
        copy.flush()
    except pa.ArrowException as exc:
        copy.close()
        raise DataError(f"cannot convert this {fmt} file to CSV ({exc}); expected columns of "
                        "numbers or text labels", file=name) from None
    except BaseException:
        copy.close()
        raise
    source.close()
    return Input(name, copy_path, copy)


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
