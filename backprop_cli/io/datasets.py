"""CSV data → arrays for a network: a whole file (:func:`load_dataset`) or in chunks
(:func:`iter_csv_chunks`, :class:`DataStream`), checked against the network. The careful
reader and the column selection are in csv_reader.py, the fast numeric path in csv_fast.py;
train's, evaluate's and predict's loaders in training_data.py.

No printing. Every error is a :class:`DataError` naming the file, the line (the header is line
1) and the column (1-based, as editors count) where it applies.

Rows: m; features: n_0 (the network's input size); targets: n_L (its output size).
``inputs`` are (m, n_0) and ``targets`` (m, n_L). With one target column and n_L = K > 1 the
column holds class labels, one-hot encoded in sorted order (numerically if every label is a
number, else as text). One sigmoid output (n_L = 1) with a column of two labels (0 and 1, or
any two texts) is a binary classifier: the target is 1 for the second label in that order.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from backprop_cli.choices import CHUNK_ROWS, DELIMITER
from backprop_cli.errors import DataError, NumericalError, UsageError, plural
from backprop_cli.io.csv_fast import (
    _NotPlain,
    _numeric_classes,
    _plain_blocks,
    _plain_labels,
    _take,
    read_plain,
)
from backprop_cli.io.csv_reader import (
    Columns,
    _encode,
    _numbers,
    _one_hot,
    _Reader,
    discover_classes,
    select_columns,
)
from backprop_cli.io.inputs import (
    FileName,
    Files,
    as_input,
)
from backprop_cli.network import Array, Label, Network, Preprocessing

# --- data sets --------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Dataset:
    """Rows of a CSV file as the network sees them (before normalization).

    ``inputs`` (m, n_0); ``targets`` (m, n_L) or None (predict without a target column);
    ``labels`` (m,) class indices into ``classes`` for classifiers, else None; ``lines`` (m,)
    the file line of each row (1-based; the header is line 1), None if not known.
    """

    file: str
    columns: Columns
    inputs: Array
    targets: Array | None
    labels: NDArray[np.intp] | None = None
    classes: tuple[Label, ...] | None = None
    lines: NDArray[np.intp] | None = None
    # Rows from several files: (file, its first row) in order (empty: every row is ``file``'s)
    parts: tuple[tuple[str, int], ...] = ()

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    def subset(self, rows: NDArray[np.intp]) -> Dataset:
        return Dataset(
            self.file,
            self.columns,
            self.inputs[rows],
            None if self.targets is None else self.targets[rows],
            None if self.labels is None else self.labels[rows],
            self.classes,
            None if self.lines is None else self.lines[rows],
            tuple((file, int(np.searchsorted(rows, first))) for file, first in self.parts),
        )

    def file_of(self, row: int) -> str:
        """The file that row ``row`` (0-based) was read from."""
        return next((file for file, first in reversed(self.parts) if first <= row), self.file)

    def line_of(self, row: int) -> int | None:
        """The file line (1-based; the header is line 1) of row ``row`` (0-based)."""
        return None if self.lines is None else int(self.lines[row])

    def name_row(self, exc: NumericalError) -> NumericalError:
        """``exc`` naming the file and line of its row (:class:`errors.RowSource`)."""
        if exc.example is None:
            return exc
        return _on_line(exc, self.file_of(exc.example), self.line_of)


def _is_classifier(net: Network, columns: Columns,
                   classes: Sequence[Label] | None = None) -> bool:
    """True when the one target column holds class labels: n_L > 1, or one sigmoid output
    whose two ``classes`` are known (stored, or found by :func:`_binary_classes`)."""
    return len(columns.targets) == 1 and (
        net.output_size > 1 or (net.binary_output and classes is not None))


def _class_targets(net: Network, labels: NDArray[np.intp], k: int,
                   dtype: type[np.floating]) -> Array:
    """Class indices (m,) → targets (m, n_L): one-hot, or the index itself (0 or 1) for one
    sigmoid output."""
    if net.binary_output:
        return labels.astype(dtype).reshape(-1, 1)
    return _one_hot(labels, k, dtype)


def _binary_classes(net: Network, path: FileName, columns: Columns, delimiter: str,
                    stored: Sequence[Label] | None) -> tuple[Label, ...] | None:
    """The two classes of a one-sigmoid-output network's label column: the stored ones,
    else those found in ``path`` — 0 and 1 for numbers that are all 0 or 1, two texts in
    sorted order; None (numeric targets: regression) when the network has another output or
    the numbers are not all 0 or 1, or the texts are not two."""
    if stored or not net.binary_output or len(columns.targets) != 1:
        return tuple(stored) if stored else None
    seen = _labels_seen(path, columns.targets[0], delimiter, 64)  # more: not two labels
    found = discover_classes(list(seen))
    if all(isinstance(v, int | float) for v in found):
        return (0, 1) if found and {float(v) for v in found} <= {0.0, 1.0} else None
    # Other than two texts: numeric targets with a typo, which the reader names by line
    return found if len(found) == 2 else None


def members(data: FileName) -> tuple[FileName, ...]:
    """The files of ``data``: those of :class:`~backprop_cli.io.inputs.Files`, else itself."""
    return data.members if isinstance(data, Files) else (data,)


def _labels_seen(data: FileName, column: int, delimiter: str, limit: int) -> set[str]:
    """The distinct labels (trimmed) of ``column`` over every file of ``data``; at most
    ``limit`` + 1 are collected (more: not labels)."""
    seen: set[str] = set()
    for member in members(data):
        with _Reader(as_input(member), delimiter) as reader:
            for row, _ in reader.rows():
                seen.add(row[column].strip())
                if len(seen) > limit:
                    return seen
    return seen


def check_header(header: Sequence[str], expected: Sequence[str], file: str,
                 first: str) -> None:
    """Every file of several read as one has the first one's header."""
    if tuple(header) != tuple(expected):
        k = next((k for k, (a, b) in enumerate(zip(header, expected, strict=False)) if a != b),
                 min(len(header), len(expected)))
        raise DataError(f"the header differs from that of {first} (column {k + 1}: "
                        f"{_name_at(header, k)} here, {_name_at(expected, k)} there); files "
                        "read together need the same columns in the same order",
                        file=file, row=1, column=k + 1)


def _name_at(header: Sequence[str], k: int) -> str:
    return repr(header[k]) if k < len(header) else "none"


def _check_fit(net: Network, columns: Columns, file: str) -> None:
    if len(columns.features) != net.input_size:
        raise DataError(
            f"{plural(len(columns.features), 'feature column')}, but the network's input_size is "
            f"{net.input_size}; choose the columns with --features", file=file, row=1,
        )
    if columns.targets and len(columns.targets) != net.output_size and not _is_classifier(
        net, columns
    ):
        names = ", ".join(columns.target_names)
        raise DataError(
            f"{plural(len(columns.targets), 'target column')} ({names}), but the output layer has "
            f"{plural(net.output_size, 'neuron')}; give one target column per output neuron, "
            "or one column of class labels", file=file, row=1, column=columns.targets[0] + 1,
        )


def _check_probabilities(net: Network, targets: Array, lines: Sequence[int],
                         columns: Columns, file: str) -> None:
    if not net.cost_fn.probability_targets:
        return
    bad = np.argwhere((targets < 0) | (targets > 1))
    if bad.size:
        i, j = (int(v) for v in bad[0])
        c = columns.targets[j]
        raise DataError(
            f"target column {columns.header[c]!r}: {net.cost} needs targets between 0 and 1, "
            f"got {float(targets[i, j])!r}", file=file, row=lines[i], column=c + 1,
        )


def _columns_for(reader: _Reader, target: str | Sequence[str] | None,
                 features: str | Sequence[str] | None,
                 preprocessing: Preprocessing | None, need_target: bool = True,
                 net_file: str | None = None) -> Columns:
    """The columns chosen by the options, defaulting to those the network (from
    ``net_file``) was trained on; its stored feature names are matched by name."""
    return select_columns(
        reader.header, reader.file, target=target, features=features,
        default_features=preprocessing.features if preprocessing else None,
        default_target=preprocessing.targets if preprocessing else None,
        need_target=need_target, network=net_file,
    )


class _Rows(NamedTuple):
    """Data rows of a file as the network sees them, before normalization: ``inputs``
    (r, n_0); ``targets`` (r, n_L) or None (no target column); ``labels`` (r,) class indices
    into ``classes`` for classifiers, else both None; ``lines`` (r,) the file line of each row
    (1-based; the header is line 1)."""

    inputs: Array
    targets: Array | None
    labels: NDArray[np.intp] | None
    classes: tuple[Label, ...] | None
    lines: NDArray[np.intp]


def _read_rows(
    reader: _Reader,
    path: FileName,
    net: Network,
    columns: Columns,
    delimiter: str,
    classes: Sequence[Label] | None,
    chunk_rows: int | None,
    dtype: type[np.floating],
) -> Iterator[_Rows]:
    """The data rows of ``reader``'s file in blocks of ≤ ``chunk_rows`` (None: one block of
    every row), in ``dtype``.

    A plain numeric file is read by :func:`_plain_blocks`; from its first block that is not
    plain, the rest is read by ``reader``, which names the line and column of a problem.
    Class labels are encoded against ``classes``; None: against the labels found, which must
    then be n_L of them (so only with ``chunk_rows`` None: a block does not hold every label).
    """
    assert classes is not None or chunk_rows is None or not _is_classifier(net, columns,
                                                                           classes)
    done = 0  # rows yielded by the plain reader
    try:
        for block in _plain_blocks(path, columns.header, delimiter, chunk_rows):
            yield _block_rows(block, 2 + done, net, columns, classes, reader.file, dtype)
            done += len(block)
        if done:
            return
    except (_NotPlain, UnicodeDecodeError):
        pass
    source = itertools.islice(reader.rows(), done, None)
    empty = not done
    while chunk := list(itertools.islice(source, chunk_rows)):
        empty = False
        yield _text_rows(chunk, net, columns, classes, reader.file, dtype)
    if empty:
        raise DataError("no data rows after the header", file=reader.file)


def _block_rows(block: Array, line: int, net: Network, columns: Columns,
                classes: Sequence[Label] | None, file: str, dtype: type[np.floating]
                ) -> _Rows:
    """A block of :func:`_plain_blocks` (its first row on ``line``) as :class:`_Rows`;
    :class:`_NotPlain` if a label is not one of ``classes`` (None: if the labels are not n_L
    numbers), for the careful reader to name."""
    return _plain_rows(_take(block, columns.features).astype(dtype, copy=False),
                       _take(block, columns.targets), line, net, columns, classes, file, dtype)


def _plain_rows(inputs: Array, values: Array, line: int, net: Network, columns: Columns,
                classes: Sequence[Label] | None, file: str, dtype: type[np.floating]
                ) -> _Rows:
    """:func:`_block_rows` of rows whose ``inputs`` are read and whose target columns hold
    ``values`` (r, len(columns.targets)) in float64; targets in ``dtype``."""
    targets: Array | None = None
    labels: NDArray[np.intp] | None = None
    found: tuple[Label, ...] | None = None
    if _is_classifier(net, columns, classes):
        found = _numeric_classes(values[:, 0]) if classes is None else tuple(classes)
        if len(found) != net.class_count and classes is None:
            raise _NotPlain
        labels = _plain_labels(values[:, 0], found)
        targets = _class_targets(net, labels, len(found), dtype)
    elif columns.targets:
        targets = values.astype(dtype, copy=False)
        _check_probabilities(net, targets, range(line, line + len(inputs)), columns, file)
    return _Rows(inputs, targets, labels, found, np.arange(line, line + len(inputs)))


def _text_rows(chunk: Sequence[tuple[list[str], int]], net: Network, columns: Columns,
               classes: Sequence[Label] | None, file: str, dtype: type[np.floating]) -> _Rows:
    """(values, line) pairs of :class:`_Reader` as :class:`_Rows`; errors name the line and
    column."""
    rows = [row for row, _ in chunk]
    lines = [line for _, line in chunk]
    inputs = _numbers(rows, lines, columns.features, columns.header, file, "feature", dtype)
    targets: Array | None = None
    labels: NDArray[np.intp] | None = None
    found: tuple[Label, ...] | None = None
    if _is_classifier(net, columns, classes):
        c = columns.targets[0]
        text = [row[c] for row in rows]
        found = _classes_for(net, text, columns, file) if classes is None else tuple(classes)
        labels, targets = _encode(text, lines, found, c, columns.header, file, dtype)
        targets = _class_targets(net, labels, len(found), dtype)
    elif columns.targets:
        targets = _numbers(rows, lines, columns.targets, columns.header, file, "target", dtype)
        _check_probabilities(net, targets, lines, columns, file)
    return _Rows(inputs, targets, labels, found, np.array(lines, dtype=np.intp))


def load_dataset(
    path: FileName,
    net: Network,
    *,
    target: str | Sequence[str] | None = None,
    features: str | Sequence[str] | None = None,
    delimiter: str = DELIMITER,
    preprocessing: Preprocessing | None = None,
    need_target: bool = True,
    net_file: str | None = None,
    dtype: type[np.floating] = np.float64,
) -> Dataset:
    """Read a whole CSV file for ``net``. With ``need_target`` False (predict) the target
    columns are left out and not read; if the header has exactly n_0 columns and no column
    option is given, every column is a feature.

    Class labels are one-hot encoded against ``preprocessing.classes`` if given, else against
    the labels found in the file, which must then be exactly n_L of them. Feature names in
    ``preprocessing`` (stored in ``net_file``) pick the feature columns by name.

    ``inputs`` are float64, or ``dtype`` where every feature value is exact in it (a plain
    numeric file, read by :func:`csv_fast.read_plain` straight into the rows train uses).
    """
    if isinstance(path, Files):
        return _load_files(path, net, target=target, features=features, delimiter=delimiter,
                           preprocessing=preprocessing, need_target=need_target,
                           net_file=net_file)
    path = as_input(path)
    file = str(path)
    named = preprocessing is not None and bool(preprocessing.features)
    with _Reader(path, delimiter) as reader:
        try:
            columns = _columns_for(reader, target, features, preprocessing, need_target,
                                   net_file)
        except DataError:  # one column, n_0 = 1: no target column is needed to predict
            if (need_target or features or target or named
                    or len(reader.header) != net.input_size):
                raise
            columns = Columns(reader.header, (), ())
        if not need_target:
            width = len(reader.header)
            every = (width == net.input_size and len(columns.features) != width
                     and features is None and target is None)
            chosen = tuple(range(width)) if every else columns.features
            columns = Columns(columns.header, chosen, ())
        _check_fit(net, columns, file)
        known = preprocessing.classes if preprocessing and preprocessing.classes else None
        if need_target:
            known = _binary_classes(net, path, columns, delimiter, known)
        try:
            inputs, values = read_plain(path, columns.header, delimiter, columns.features,
                                        columns.targets, dtype)
            rows = _plain_rows(inputs, values, 2, net, columns, known, file, np.float64)
        except (_NotPlain, UnicodeDecodeError):
            [rows] = _read_rows(reader, path, net, columns, delimiter, known, None, np.float64)
    return Dataset(file, columns, rows.inputs, rows.targets, rows.labels, rows.classes,
                   rows.lines)


def _load_files(files: Files, net: Network, *, preprocessing: Preprocessing | None,
                need_target: bool, delimiter: str, **options: Any) -> Dataset:
    """:func:`load_dataset` of several files read as one: the class labels found over all
    of them (unless ``preprocessing`` has them), every file with the first one's header."""
    known = preprocessing
    if need_target and not (preprocessing and preprocessing.classes):
        classes = classes_for_network(net, files, target=options.get("target"),
                                      features=options.get("features"), delimiter=delimiter,
                                      net_file=options.get("net_file"))
        if classes is not None:
            known = replace(preprocessing or Preprocessing((), ()), classes=classes)
    header = header_of(files.members[0], delimiter)

    def load(member: FileName) -> Dataset:
        return load_dataset(member, net, preprocessing=known, need_target=need_target,
                            delimiter=delimiter, **options)

    load_parts = getattr(files, "load", None)  # rows read on Dask workers (io.dask_rows)
    if load_parts is not None:
        parts: list[Dataset] = load_parts(load, header)
    else:
        parts = []
        for member in files.members:
            check_header(header_of(member, delimiter), header, str(member),
                         str(files.members[0]))
            parts.append(load(member))
    first = parts[0]
    classes = first.classes
    starts = np.cumsum([0] + [len(p) for p in parts[:-1]])
    return Dataset(
        str(files), first.columns, np.concatenate([p.inputs for p in parts]),
        _joined([p.targets for p in parts]), _joined([p.labels for p in parts]), classes,
        _joined([p.lines for p in parts]),
        tuple((p.file, int(start)) for p, start in zip(parts, starts, strict=True)),
    )


def _joined(arrays: Sequence[NDArray[Any] | None]) -> Any:
    """The arrays one after another; None if one of them is."""
    return None if any(a is None for a in arrays) else np.concatenate(arrays)  # type: ignore[arg-type]


def _classes_for(net: Network, labels: Iterable[str], columns: Columns, file: str
                 ) -> tuple[Label, ...]:
    """The distinct ``labels`` in sorted order; there must be n_L of them."""
    classes = discover_classes(list(labels))
    if len(classes) != net.class_count:
        c = columns.targets[0]
        shown = ", ".join(map(str, classes[:12])) + (", …" if len(classes) > 12 else "")
        raise DataError(
            f"column {columns.header[c]!r} holds {plural(len(classes), 'distinct class label')} "
            f"({shown}), but the output layer has {plural(net.output_size, 'neuron')}; they "
            "must be equal (or give one target column per output neuron)",
            file=file, row=1, column=c + 1,
        )
    return classes


def iter_csv_chunks(
    path: FileName,
    net: Network,
    *,
    target: str | Sequence[str] | None = None,
    features: str | Sequence[str] | None = None,
    delimiter: str = DELIMITER,
    preprocessing: Preprocessing | None = None,
    chunk_rows: int = CHUNK_ROWS,
    dtype: type[np.floating] = np.float64,
    net_file: str | None = None,
    on_lines: Callable[[NDArray[np.intp]], None] | None = None,
) -> Iterator[tuple[Array, Array]]:
    """Stream a CSV file as (inputs (≤ chunk_rows, n_0), targets (≤ chunk_rows, n_L)) pairs,
    normalized by ``preprocessing`` (targets too, where it scales them); memory is bounded
    by ``chunk_rows``. ``on_lines`` is
    given the file line of each row of a chunk (r,) just before the chunk is yielded.

    Class labels need ``preprocessing.classes`` (the classes cannot be discovered without
    reading every row first).
    """
    if chunk_rows < 1:
        raise UsageError(f"chunk size {chunk_rows}: expected a whole number ≥ 1")
    path = as_input(path)
    file = str(path)
    with _Reader(path, delimiter) as reader:
        columns = _columns_for(reader, target, features, preprocessing, net_file=net_file)
        _check_fit(net, columns, file)
        classes = preprocessing.classes if preprocessing else None
        if _is_classifier(net, columns) and not classes:
            raise DataError(
                "the column holds class labels, but the network stores no class list "
                "(preprocessing.classes); train it with `backprop train` first",
                file=file, row=1, column=columns.targets[0] + 1,
            )
        for rows in _read_rows(reader, path, net, columns, delimiter, classes, chunk_rows,
                               dtype):
            assert rows.targets is not None  # need_target: select_columns chose targets
            inputs = rows.inputs if preprocessing is None else preprocessing.apply(
                rows.inputs, file=file, lines=rows.lines)
            targets = rows.targets if preprocessing is None else preprocessing.scale_targets(
                rows.targets)
            if on_lines is not None:
                on_lines(rows.lines)
            yield inputs, targets


@dataclass(frozen=True, eq=False)
class DataStream:
    """A CSV file as ``net`` sees it, in chunks: iterating it reads the file (anew each time)
    and yields (inputs (≤ chunk_rows, n_0), targets (≤ chunk_rows, n_L)) with
    ``preprocessing`` applied (None: the network has none). ``read`` is
    :func:`iter_csv_chunks` with the file and options bound."""

    file: str
    columns: Columns
    preprocessing: Preprocessing | None
    read: Callable[..., Iterator[tuple[Array, Array]]]
    files: tuple[FileName, ...] = ()  # the files read, in order (several: read as one)
    options: dict[str, Any] = field(default_factory=dict)  # iter_csv_chunks's keywords
    _lines: list[NDArray[np.intp]] = field(default_factory=list, repr=False)
    _file: list[str] = field(default_factory=list, repr=False)

    def __iter__(self) -> Iterator[tuple[Array, Array]]:
        return self.read(on_lines=self._seen, on_file=self._opened)

    def _seen(self, lines: NDArray[np.intp]) -> None:
        self._lines[:] = [lines]

    def _opened(self, file: str) -> None:
        self._file[:] = [file]

    def line_of(self, row: int) -> int:
        """The file line (1-based; the header is line 1) of row ``row`` (0-based) of the chunk
        yielded last."""
        return int(self._lines[0][row])

    def name_row(self, exc: NumericalError) -> NumericalError:
        """``exc`` naming the file and line of its row in the chunk yielded last
        (:class:`errors.RowSource`)."""
        return _on_line(exc, self._file[0] if self._file else self.file, self.line_of)

    def describe(self) -> dict[str, Any]:
        """file, features, targets, normalize (and classes) — for a report's "data" key."""
        pre = self.preprocessing
        out: dict[str, Any] = {
            "file": self.file,
            "features": list(self.columns.feature_names),
            "targets": list(self.columns.target_names),
            "normalize": pre.normalize if pre is not None else "none",
        }
        if pre is not None and pre.classes is not None:
            out["classes"] = list(pre.classes)
        return out


def _on_line(exc: NumericalError, file: str, line_of: Callable[[int], int | None]
             ) -> NumericalError:
    """``exc``, about row ``exc.example`` of rows read from ``file``, naming that row's file and
    line instead of its index (``exc`` itself if it names no row, a line already, or the row's
    line is not known)."""
    if exc.example is None or exc.line is not None:
        return exc
    line = line_of(exc.example)
    return exc if line is None else exc.on_line(file, line)


def named_row(exc: NumericalError, rows: Dataset | Iterable[tuple[Array, Array]]
              ) -> NumericalError:
    """``exc``, about row ``exc.example`` of ``rows`` (a :class:`Dataset`, or the chunk just
    taken from a :class:`DataStream`), naming that row's file and line instead of its index
    when ``rows`` were read from a CSV file; else ``exc`` itself."""
    return rows.name_row(exc) if isinstance(rows, Dataset | DataStream) else exc


def _label_classes(data: FileName, net: Network, columns: Columns, delimiter: str
                   ) -> tuple[Label, ...]:
    """:func:`_classes_for` the label column of every file of ``data``, keeping only its
    distinct labels (so that memory does not grow with the rows)."""
    seen = _labels_seen(data, columns.targets[0], delimiter, 64 * net.output_size + 1024)
    return _classes_for(net, seen, columns, str(data))


def classes_for_network(
    net: Network,
    data: FileName,
    *,
    target: str | None = None,
    features: str | None = None,
    delimiter: str = DELIMITER,
    net_file: str | None = None,
) -> tuple[Label, ...] | None:
    """The class labels behind the output neurons, as ``evaluate`` and ``analyze --data`` use
    them: the network's stored class list, else the distinct labels of the file's label
    column in sorted order (:func:`_classes_for`). None when the network does not classify
    this file's columns, or the file has no label column (``predict`` needs none)."""
    pre = net.preprocessing
    if pre is not None and pre.classes:
        return pre.classes
    data = _as_inputs(data)
    with _Reader(as_input(members(data)[0]), delimiter) as reader:
        if len(reader.header) == net.input_size and target is None and features is None:
            return None  # every column is a feature, as load_dataset reads it for predict
        try:
            columns = _columns_for(reader, target, features, pre, net_file=net_file)
        except DataError:
            return None
        if net.binary_output:
            return _binary_classes(net, data, columns, delimiter, None)
        if not _is_classifier(net, columns):
            return None
        return _label_classes(data, net, columns, delimiter)


def stream_for_network(
    net: Network,
    data: FileName,
    *,
    target: str | None = None,
    features: str | None = None,
    delimiter: str = DELIMITER,
    net_file: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> DataStream:
    """Like :func:`load_for_network`, with memory bounded by ``chunk_rows`` instead of the
    row count. For class labels the network has no class list for (not trained yet), the
    label column is read once first, keeping only its distinct labels. A ``data`` that is
    not a regular file is copied once (:func:`~backprop_cli.io.inputs.as_input`) and each
    iteration reads the copy."""
    data = _as_inputs(data)
    file = str(data)
    pre = net.preprocessing
    with _Reader(as_input(members(data)[0]), delimiter) as reader:
        columns = _columns_for(reader, target, features, pre, net_file=net_file)
        _check_fit(net, columns, reader.file)
    binary = _binary_classes(net, data, columns, delimiter, pre.classes if pre else None)
    if binary is not None and not (pre and pre.classes):
        pre = (Preprocessing((), (), classes=binary) if pre is None
               else replace(pre, classes=binary))
    if _is_classifier(net, columns) and not (pre and pre.classes):
        classes = _label_classes(data, net, columns, delimiter)
        pre = (Preprocessing((), (), classes=classes) if pre is None
               else replace(pre, classes=classes))
    options: dict[str, Any] = {"target": target, "features": features,
                               "delimiter": delimiter, "preprocessing": pre,
                               "chunk_rows": chunk_rows, "net_file": net_file}
    read = functools.partial(read_files, members(data), columns.header, net, **options)
    return DataStream(file, columns, pre, read, members(data), options)


def read_files(files: Sequence[FileName], header: Sequence[str], net: Network, *,
               on_lines: Callable[[NDArray[np.intp]], None] | None = None,
               on_file: Callable[[str], None] | None = None, **options: Any
               ) -> Iterator[tuple[Array, Array]]:
    """:func:`iter_csv_chunks` of each file in turn (``options``: its keywords); each must
    have ``header``. ``on_file`` is given a file's name before its first chunk."""
    for member in files:
        member = as_input(member)
        if len(files) > 1:
            check_header(header_of(member, options.get("delimiter", DELIMITER)), header,
                         str(member), str(files[0]))
        if on_file is not None:
            on_file(str(member))
        yield from iter_csv_chunks(member, net, on_lines=on_lines, **options)


def _as_inputs(data: FileName) -> FileName:
    """``data`` as :func:`~backprop_cli.io.inputs.as_input` gives it; several files as they
    are (each is read as an input when it is read)."""
    return data if isinstance(data, Files) else as_input(data)


def header_of(data: FileName, delimiter: str = DELIMITER) -> tuple[str, ...]:
    """The column names of the CSV file ``data`` (of several: of the first)."""
    with _Reader(as_input(members(data)[0]), delimiter) as reader:
        return reader.header


def id_column(data: FileName, column: str, *, delimiter: str = DELIMITER,
              lines: NDArray[np.intp] | None = None) -> list[str]:
    """predict --id: the values of the column ``column`` of ``data`` (as
    written, only trimmed), one per data row, for the rows on ``lines`` (the file lines of the
    rows read; None: every row); ``column`` is one of its header's. Several files: every
    row of each in turn."""
    if isinstance(data, Files):
        return [v for member in data.members
                for v in id_column(member, column, delimiter=delimiter)]
    data = as_input(data)
    with _Reader(data, delimiter) as reader:
        c = reader.header.index(column)
        found = {line: row[c].strip() for row, line in reader.rows()}
    wanted = lines.tolist() if lines is not None and all(
        line in found for line in lines.tolist()) else sorted(found)  # else: every row, in order
    return [found[line] for line in wanted]
