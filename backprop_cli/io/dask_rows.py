"""``--engine dask``: the dataset passes on Dask workers (a ``distributed.LocalCluster`` of
this machine's cores, or the scheduler at ``--scheduler ADDRESS``).

Every dataset pass is a sum over rows: :func:`~backprop_cli.engine.fold` gives each part of the
rows its own sums (an Accumulator, SensitivitySums …), made and filled on a worker by the same
``add`` the single process runs chunk by chunk, and the parts' sums are merged in a tree
(:data:`SPLIT_EVERY` at a time). A part is a byte range of one file, about ``--partition-rows``
rows, cut at line ends as ``dask.bytes.read_bytes`` cuts them (a quoted cell holding a line
break must not cross a cut); a compressed or columnar file is one part. The worker reads its
range with this package's own CSV reader, so that values, class labels and every message are
those of the single process, a row named by its file and line (counted only when an error
needs it). Nothing here imports dask until a command asks for the engine.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from backprop_cli.errors import BackpropError, DataError, NumericalError, UsageError
from backprop_cli.io.datasets import (
    Dataset,
    DataStream,
    _on_line,
    check_header,
    header_of,
    iter_csv_chunks,
)
from backprop_cli.io.inputs import (
    _COLUMNAR,
    _COMPRESSED,
    DASK_INSTALL,
    MAX_LINE_BYTES,
    STDIN,
    FileName,
    Files,
    Input,
    as_input,
    is_remote,
    remote_fs,
)
from backprop_cli.network import Network

PARTITION_ROWS = 131_072  # rows of a part (about: the cuts are in bytes); 16 chunks
SPLIT_EVERY = 8  # parts' sums merged at a time in the tree
CONNECT_TIMEOUT = 30  # seconds to reach --scheduler and to see a worker
SAMPLE_BYTES = 2**16  # of the first file, to estimate the bytes per row


class EngineError(BackpropError):
    """Dask could not run the pass: a worker died or failed without a data error (exit 1)."""

    exit_code = 1


@dataclass(frozen=True)
class Part:
    """Bytes [start, end) of ``name`` (the cuts moved to line ends); ``whole``: the file as
    one part, read through :func:`~backprop_cli.io.inputs.as_input` (compressed, columnar)."""

    name: str
    start: int = 0
    end: int = 0
    whole: bool = False


def require_dask() -> None:
    """A :class:`UsageError` naming the extra unless dask's distributed is installed."""
    _import_distributed()


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise UsageError(f"--engine dask needs the optional dask extra: install it with "
                         f"{DASK_INSTALL}") from None
    return distributed


class _OnDask:
    """A client of a Dask cluster (``scheduler``, or a new LocalCluster) that runs tasks and
    turns a worker's failure into an error of this package."""

    def __init__(self, scheduler: str | None) -> None:
        self._client, self._cluster = connect(scheduler)

    def _result(self, task: Any) -> Any:
        distributed = _import_distributed()
        future = self._client.compute(task)
        try:
            return future.result() if not isinstance(future, list) else [
                f.result() for f in future]
        except BackpropError:
            raise
        except distributed.KilledWorker as exc:
            raise EngineError(f"a Dask worker died while reading the rows ({exc}); it may "
                              "have run out of memory: try a smaller --partition-rows or "
                              "more memory per worker") from None
        except (OSError, TimeoutError) as exc:
            raise EngineError(f"lost the Dask scheduler: {exc}") from None
        except Exception as exc:  # a failure on a worker that is not about the data
            raise EngineError(f"a Dask worker failed: {type(exc).__name__}: {exc}") from None
        finally:
            for f in future if isinstance(future, list) else [future]:
                f.release()

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def _refuse_stdin(files: Sequence[FileName], partition_rows: int) -> None:
    if partition_rows < 1:
        raise UsageError(f"--partition-rows {partition_rows}: expected a whole number ≥ 1")
    if any(str(f) == STDIN for f in files):
        raise UsageError("--engine dask reads files the workers can open: save standard "
                         "input to a file first")


class DaskRows(_OnDask):
    """The rows of a :class:`~backprop_cli.io.datasets.DataStream` on Dask: ``fold(make)``
    sums every part on the workers and merges the sums; iterating it reads the rows in this
    process (the passes that need the rows in order). ``close()`` lets the cluster go."""

    def __init__(self, stream: DataStream, net: Network, scheduler: str | None,
                 partition_rows: int = PARTITION_ROWS) -> None:
        _refuse_stdin(stream.files, partition_rows)
        self.stream = stream
        self.net = net
        self.file = stream.file
        self.columns = stream.columns
        self.preprocessing = stream.preprocessing
        self.parts = plan(stream.files, partition_rows)
        super().__init__(scheduler)

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        return iter(self.stream)

    def name_row(self, exc: NumericalError) -> NumericalError:
        return self.stream.name_row(exc)

    def describe(self) -> dict[str, Any]:
        return self.stream.describe()

    def fold(self, make: Callable[[], Any]) -> Any:
        """``make()``'s sums over every row: each part's on a worker, merged in a tree."""
        from dask import delayed

        header = list(self.columns.header)
        first = str(self.stream.files[0])
        sums = [delayed(part_sums, pure=False)(part, header, first, self.net, make,
                                               self.stream.options)
                for part in self.parts]
        while len(sums) > 1:
            sums = [delayed(merged, pure=False)(*sums[i:i + SPLIT_EVERY])
                    for i in range(0, len(sums), SPLIT_EVERY)]
        return self._result(sums[0])


class DaskFiles(Files, _OnDask):
    """Files whose rows Dask workers read, part by part, for ``evaluate`` and ``predict``
    (which keep every row): :func:`~backprop_cli.io.datasets.load_dataset` of them gathers
    the parts' rows in input order."""

    def __init__(self, data: FileName, scheduler: str | None,
                 partition_rows: int = PARTITION_ROWS) -> None:
        names = [str(m) for m in (data.members if isinstance(data, Files) else (data,))]
        _refuse_stdin(names, partition_rows)
        Files.__init__(self, str(data), names)
        self.parts = plan(names, partition_rows)
        _OnDask.__init__(self, scheduler)

    def load(self, loader: Callable[[FileName], Dataset], header: Sequence[str]
             ) -> list[Dataset]:
        """``loader`` of every part on the workers, in order, each part's lines those of its
        file (every file with ``header``)."""
        from dask import delayed

        tasks = [delayed(part_dataset, pure=False)(part, list(header), self.members[0], loader)
                 for part in self.parts]
        loaded = self._result(tasks)
        out: list[Dataset] = []
        before: dict[str, int] = {}  # line breaks in the parts of a file read so far
        for part, (ds, breaks) in zip(self.parts, loaded, strict=True):
            seen = before.get(part.name, 0)
            before[part.name] = seen + breaks
            if ds is None:
                continue
            if part.start and ds.lines is not None:  # the copy's line 2 is the file's seen + 1
                ds = replace(ds, lines=ds.lines - 1 + seen)
            out.append(ds)
        return out


def merged(*sums: Any) -> Any:
    """The first of ``sums`` with the others merged into it."""
    first = sums[0]
    for other in sums[1:]:
        first.merge(other)
    return first


def connect(scheduler: str | None) -> tuple[Any, Any]:
    """(client, cluster): to ``scheduler``, or to a new LocalCluster of one single-threaded
    worker process per core (cluster None for a scheduler). Dask's logs below errors stay
    off stderr."""
    distributed = _import_distributed()
    for name in ("distributed", "dask"):
        logging.getLogger(name).setLevel(logging.ERROR)
    cluster = None
    try:
        if scheduler is None:
            cluster = distributed.LocalCluster(
                n_workers=os.cpu_count() or 1, threads_per_worker=1, processes=True,
                dashboard_address=None, silence_logs=logging.ERROR)
            client = distributed.Client(cluster, timeout=CONNECT_TIMEOUT)
        else:
            client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT)
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        if cluster is not None:
            cluster.close()
        where = f"the scheduler at {scheduler}" if scheduler else "a local Dask cluster"
        raise EngineError(f"cannot reach {where} with a worker within {CONNECT_TIMEOUT} s "
                          f"({exc}); start one with `dask scheduler` and `dask worker "
                          "ADDRESS`, or leave out --scheduler") from None
    return client, cluster


# --- the parts of the files -------------------------------------------------------------

def plan(files: Sequence[FileName], partition_rows: int) -> list[Part]:
    """The parts of ``files`` in order: byte ranges of about ``partition_rows`` rows (the
    bytes per row sampled from the first file), a compressed or columnar file whole."""
    names = [str(f) for f in files]
    per_row = _bytes_per_row(names[0])
    block = max(SAMPLE_BYTES, int(partition_rows * per_row))
    parts: list[Part] = []
    for name in names:
        with _open(name) as stream:
            head = stream.read(12)
            size = stream.seek(0, os.SEEK_END)
        if _whole(name, head):
            parts.append(Part(name, whole=True))
            continue
        count = max(1, -(-size // block))
        cuts = [size * i // count for i in range(count + 1)]
        parts.extend(Part(name, a, b) for a, b in itertools.pairwise(cuts))
    return parts


def _whole(name: str, head: bytes) -> bool:
    lower = name.lower()
    return any(magic.match(head) or lower.endswith(ending)
               for magic, ending in _COMPRESSED.values()) or any(
        magic.match(head) or lower.endswith(endings) for magic, endings in _COLUMNAR.values())


def _bytes_per_row(name: str) -> float:
    with _open(name) as stream:
        sample = stream.read(SAMPLE_BYTES)
    return len(sample) / max(1, sample.count(b"\n"))


def _open(name: str) -> IO[bytes]:
    if is_remote(name):
        opened: IO[bytes] = remote_fs(name).open(name, "rb")
        return opened
    try:
        return open(name, "rb")
    except FileNotFoundError:
        raise DataError("no such file", file=name) from None
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror or exc}", file=name) from None


# --- on a worker ------------------------------------------------------------------------

def part_sums(part: Part, header: list[str], first: str, net: Network,
              make: Callable[[], Any], options: dict[str, Any]) -> Any:
    """``make()`` with the rows of ``part`` added chunk by chunk; a bad row is named by its
    file and line. ``header``: the first file's (``first``), which every file must have."""
    sums = make()
    with _part_input(part) as (source, begin):
        if source is None:
            return sums
        lines: list[NDArray[np.intp]] = []
        try:
            check_header(header_of(source, options.get("delimiter", ",")), header,
                         part.name, first)
            for inputs, targets in iter_csv_chunks(source, net, on_lines=_keep(lines),
                                                   **options):
                try:
                    sums.add(inputs, targets)
                except NumericalError as exc:
                    raise _on_line(exc, part.name, lambda row: int(lines[0][row])) from None
        except (DataError, NumericalError) as exc:
            raise _shifted(exc, part, begin) from None
    return sums


def part_dataset(part: Part, header: list[str], first: str,
                 loader: Callable[[FileName], Dataset]) -> tuple[Dataset | None, int]:
    """(``loader`` of the rows of ``part``, None if it has none; the line breaks in its
    bytes). Lines are the copy's (see :meth:`DaskFiles.load`), but in messages the file's."""
    with _part_input(part) as (source, begin):
        breaks = _breaks(part) if not part.whole else 0
        if source is None:
            return None, breaks
        try:
            check_header(header_of(source), header, part.name, first)
            return loader(source), breaks
        except (DataError, NumericalError) as exc:
            raise _shifted(exc, part, begin) from None


def _breaks(part: Part) -> int:
    """Line breaks in the bytes of ``part`` (from its first line start to the next part's)."""
    with _open(part.name) as stream:
        header = len(stream.readline(MAX_LINE_BYTES + 1))
        begin = _line_start(stream, part.start, header) if part.start else 0
        end = _line_start(stream, part.end, header)
        stream.seek(begin)
        return stream.read(end - begin).count(b"\n")


def _keep(lines: list[NDArray[np.intp]]) -> Callable[[NDArray[np.intp]], None]:
    def seen(chunk_lines: NDArray[np.intp]) -> None:
        lines[:] = [chunk_lines]
    return seen


@contextlib.contextmanager
def _part_input(part: Part) -> Iterator[tuple[Input | None, int]]:
    """(the part as a CSV file named after its file, the byte its rows begin at); None when
    the range holds no line. A byte range is copied with its file's header line first."""
    if part.whole:
        yield as_input(part.name), 0
        return
    with _open(part.name) as stream:
        header = stream.readline(MAX_LINE_BYTES + 1)
        begin = _line_start(stream, part.start, len(header))
        end = _line_start(stream, part.end, len(header))
        stream.seek(begin)
        body = stream.read(end - begin)
    if not body.strip():
        yield None, begin
        return
    with tempfile.NamedTemporaryFile(prefix="backprop-part-", suffix=".csv") as copy:
        if begin:
            copy.write(header if header.endswith(b"\n") else header + b"\n")
        copy.write(body)
        copy.flush()
        yield Input(part.name, copy.name), begin


def _line_start(stream: IO[bytes], at: int, header: int) -> int:
    """The first line start at or after byte ``at`` that is not inside the line running over
    ``at``: 0 for 0; the same for both parts that meet there."""
    if at == 0:
        return 0
    stream.seek(at - 1)
    if stream.read(1) != b"\n":
        stream.readline(MAX_LINE_BYTES + 1)
    return max(stream.tell(), header)


def _shifted(exc: BackpropError, part: Part, begin: int) -> BackpropError:
    """``exc`` with the line of a part copied after its header moved to the file's line."""
    if not begin:
        return exc
    shift = _lines_before(part.name, begin) - 1  # the copy's line 2 is the file's line n + 1
    if isinstance(exc, DataError) and exc.row is not None and exc.row > 1:
        return DataError(exc.message, file=exc.file, row=exc.row + shift, column=exc.column)
    if isinstance(exc, NumericalError) and exc.line is not None and exc.line > 1:
        return exc.on_line(exc.file or part.name, exc.line + shift)
    return exc


def _lines_before(name: str, end: int) -> int:
    """Line breaks in the bytes of ``name`` before ``end``."""
    count = 0
    with _open(name) as stream:
        while end > 0 and (block := stream.read(min(2**20, end))):
            count += block.count(b"\n")
            end -= len(block)
    return count
