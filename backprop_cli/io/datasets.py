"""CSV data → arrays for a network: column selection, class labels, validation, normalization.

No printing. Every error is a :class:`DataError` naming the file, the line (the header is line
1) and the column (1-based, as editors count) where it applies.

Rows: m; features: n_0 (the network's input size); targets: n_L (its output size).
``inputs`` are (m, n_0) and ``targets`` (m, n_L). With one target column and n_L = K > 1 the
column holds class labels, one-hot encoded in sorted order (numerically if every label is a
number, else as text).
"""

from __future__ import annotations

import csv
import difflib
import functools
import io
import itertools
import math
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import IO, Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from backprop_cli.choices import CHUNK_ROWS, DELIMITER, NORMALIZE, SPLITS
from backprop_cli.errors import ConfigError, DataError, NumericalError, UsageError, echo, plural
from backprop_cli.io.inputs import (
    BLOCK,
    MAX_LINE_BYTES,
    FileName,
    LineLimit,
    as_input,
    csv_stat,
    open_bytes,
    too_long,
)
from backprop_cli.network import Array, Label, Network, Preprocessing

# --- reading ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Columns:
    """The selected columns of a CSV header, as 0-based indices."""

    header: tuple[str, ...]
    features: tuple[int, ...]
    targets: tuple[int, ...]

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(self.header[i] for i in self.features)

    @property
    def target_names(self) -> tuple[str, ...]:
        return tuple(self.header[i] for i in self.targets)


def _open(path: FileName) -> io.TextIOWrapper:
    csv_stat(path)
    stream = open_bytes(path, lambda message: DataError(message, file=str(path)))
    return io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")


def _lines(stream: io.TextIOWrapper, file: str) -> Iterator[str]:
    """The lines of ``stream``, each refused once it is longer than MAX_LINE_BYTES
    (characters, here), before the rest of it is read."""
    line = 0
    while text := stream.readline(MAX_LINE_BYTES + 1):
        line += 1
        if len(text) > MAX_LINE_BYTES:
            raise too_long(file, line)
        yield text


def _delimiter(delimiter: str) -> str:
    if delimiter in ("\\t", "tab"):
        return "\t"
    if len(delimiter) != 1:
        raise UsageError(f"--delimiter {delimiter!r}: expected one character (or 'tab')")
    return delimiter


class _Reader:
    """Rows of a CSV file with their line numbers; checks that every row has as many values
    as the header. Blank lines are skipped."""

    def __init__(self, path: FileName, delimiter: str = DELIMITER) -> None:
        self.file = str(path)
        sep = _delimiter(delimiter)
        self.stream = _open(path)
        try:
            self.reader = csv.reader(_lines(self.stream, self.file), delimiter=sep,
                                     strict=True)
            self.header = self._header()
        except BaseException:
            self.stream.close()
            raise

    def _header(self) -> tuple[str, ...]:
        first = self._next()
        if first is None:
            raise DataError("the file is empty; expected a header row and data rows",
                            file=self.file)
        row, line = first
        header = tuple(name.strip() for name in row)
        if all(_as_number(name) is not None for name in header):
            raise DataError(
                f"the first row ({', '.join(header[:6])}{', …' if len(header) > 6 else ''}) "
                "holds only numbers; expected a header row naming the columns",
                file=self.file, row=line,
            )
        seen: dict[str, int] = {}
        for k, name in enumerate(header):
            if name in seen:
                raise DataError(
                    f"duplicate column name {name!r} (also column {seen[name] + 1}); "
                    "column names must be unique",
                    file=self.file, row=line, column=k + 1,
                )
            seen[name] = k
        return header

    def _next(self) -> tuple[list[str], int] | None:
        try:
            for row in self.reader:
                if row and not (len(row) == 1 and not row[0].strip()):
                    return row, self.reader.line_num
        except csv.Error as exc:
            raise DataError(f"malformed CSV: {exc}", file=self.file,
                            row=self.reader.line_num) from None
        except UnicodeDecodeError as exc:
            raise DataError(
                f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); expected a CSV text file",
                file=self.file,
            ) from None
        return None

    def rows(self) -> Iterator[tuple[list[str], int]]:
        """(values, line) for every data row."""
        width = len(self.header)
        while (item := self._next()) is not None:
            row, line = item
            if len(row) != width:
                column = len(row) + 1 if len(row) < width else width + 1
                what = "missing values" if len(row) < width else "too many values"
                raise DataError(
                    f"{what}: expected {plural(width, 'value')} as in the header, got {len(row)}",
                    file=self.file, row=line, column=column,
                )
            yield row, line

    def close(self) -> None:
        self.stream.close()

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _suggest(name: str, header: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, header, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    shown = ", ".join(header[:12]) + (", …" if len(header) > 12 else "")
    return f"the columns are: {shown}"


def _names(spec: str | Sequence[str] | None) -> list[str] | None:
    if spec is None:
        return None
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    return [n.strip() for n in names if n.strip()]


def _listed(names: Sequence[str], limit: int = 8) -> str:
    """``a, b, c`` — at most ``limit`` names, then "… (n in all)"."""
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names)} in all)" if len(names) > limit else "")


def _not_trained_on(trained: Sequence[str], found: Sequence[str], others: Sequence[str],
                    file: str, network: str | None, option: str | None) -> DataError:
    """The feature columns ``found`` in the file (or in ``option``, --features) are not the
    set ``trained`` the network's inputs are; ``others``: the columns it might have meant."""
    who = f"the inputs of {network}" if network else "the network's inputs"
    where = option or "this file"
    parts = [f"{who} are the feature columns {_listed(trained, 4)}, matched by name (never "
             "by position)"]
    missing = [n for n in trained if n not in found]
    if len(missing) == len(trained):
        parts.append(f"{where} has none of them")
    elif missing:
        parts.append(f"{where} lacks {_listed(missing)}")
    unexpected = [n for n in others if n not in trained]
    if unexpected:
        parts.append(f"{option + ' names' if option else 'the file has'} columns the network "
                     f"was not trained on: {_listed(unexpected)}")
    advice = ("list exactly the network's columns with --features (in any order) or leave "
              "it out" if option else "give the file the network's column names, in any order")
    if network:
        advice += (f", or, if they are the same quantities under other names, write those "
                   f"names in preprocessing.features of {network} in place of the old ones")
    return DataError("; ".join([*parts, advice]), file=file, row=1)


def select_columns(
    header: Sequence[str],
    file: str,
    *,
    target: str | Sequence[str] | None = None,
    features: str | Sequence[str] | None = None,
    default_features: Sequence[str] | None = None,
    default_target: Sequence[str] | None = None,
    need_target: bool = True,
    network: str | None = None,
) -> Columns:
    """Resolve ``--target`` and ``--features`` (comma-separated names) against the header.

    ``default_features``: the feature columns the network ``network`` was trained on (the
    stored names, in the order of its inputs). With them, the features are matched by name:
    the file (or ``--features``) must hold exactly those columns, in any order, and they are
    taken in the stored order; anything else is refused, never matched by position. Without
    them the features are ``--features`` in its order, else every other column in file order.

    Default target: ``default_target`` (the columns a network was trained on), which must
    then be in the header, else the last column. ``need_target`` False (predict): a missing
    ``default_target`` means no target columns. Features and targets never overlap.
    """
    index = {name: k for k, name in enumerate(header)}
    trained = tuple(default_features or ())
    covered = bool(trained) and all(n in index for n in trained)
    if len(header) == 1 and (need_target or (features is None and not trained)):
        raise DataError(f"the header has only one column, {echo(header[0])}; a feature and a "
                        "target column are needed: is --delimiter right?", file=file, row=1)

    def resolve(names: list[str], option: str) -> tuple[int, ...]:
        twice = [n for k, n in enumerate(names) if n in names[:k]]
        if twice:
            raise UsageError(f"{option} names the column {twice[0]!r} twice; name each column "
                             "once")
        for name in names:
            if name not in index:
                raise DataError(f"unknown column {name!r} in {option}; {_suggest(name, header)}",
                                file=file, row=1)
        return tuple(index[n] for n in names)

    target_names = _names(target)
    feature_names = _names(features)
    targets: tuple[int, ...]
    if target_names is not None:
        if not target_names:
            raise UsageError("--target: expected one or more column names")
        targets = resolve(target_names, "--target")
    elif default_target:
        missing = [n for n in default_target if n not in index]
        if not missing:
            targets = tuple(index[n] for n in default_target)
        elif need_target:
            raise DataError(
                f"the target column {missing[0]!r} the network was trained on is not in the "
                f"header; the cost needs the targets: add the column, or name the target "
                f"column(s) with --target; {_suggest(missing[0], header)}", file=file, row=1)
        else:
            targets = ()
    else:
        targets = (len(header) - 1,)
    if feature_names is not None and not feature_names:
        raise UsageError("--features: expected one or more column names")
    chosen: tuple[int, ...]
    if trained:  # the network's inputs, by name, in their order
        if feature_names is not None:
            resolve(feature_names, "--features")
            if set(feature_names) != set(trained):
                raise _not_trained_on(trained, feature_names, feature_names, file, network,
                                      "--features")
        elif not covered:
            ignored = {header[k] for k in targets} | set(default_target or ())
            raise _not_trained_on(trained, header, [n for n in header if n not in ignored],
                                  file, network, None)
        chosen = tuple(index[n] for n in trained)
    elif feature_names is not None:
        chosen = resolve(feature_names, "--features")
    else:
        chosen = tuple(k for k in range(len(header)) if k not in targets)
    if not need_target and target is None:  # predict: a default target never takes a feature
        targets = tuple(k for k in targets if k not in chosen)
    both = [header[k] for k in chosen if k in targets]
    if both and (features is not None or target is not None):
        stored = "" if features is not None else " (one of the network's stored features)"
        raise UsageError(f"column {both[0]!r} is given both as a feature{stored} and as a target")
    if both:
        raise DataError(f"column {both[0]!r} is both one of the network's stored features and "
                        "its target", file=file, row=1)
    if not chosen:
        raise DataError("no feature columns left (every column is a target)", file=file, row=1)
    return Columns(tuple(header), chosen, targets)


# --- conversion -------------------------------------------------------------------------

def _numbers(
    rows: Sequence[list[str]],
    lines: Sequence[int],
    cols: Sequence[int],
    header: Sequence[str],
    file: str,
    what: str,
    dtype: type[np.floating] = np.float64,
) -> Array:
    """The selected cells as numbers, (len(rows), len(cols)); errors name line and column."""
    block = [[row[c] for c in cols] for row in rows]
    cells = "".join(itertools.chain.from_iterable(block))
    try:
        if not cells.isascii() or "_" in cells:
            raise ValueError("float() takes 1_0 and other scripts' digits: check each cell")
        out = np.array(block, dtype=dtype).reshape(len(rows), len(cols))
    except ValueError:
        for i, values in enumerate(block):
            for j, text in enumerate(values):
                if _NUMBER.fullmatch(text.strip()) is None:
                    c = cols[j]
                    got = "an empty cell (missing value)" if not text.strip() else repr(text)
                    raise DataError(
                        f"{what} column {header[c]!r}: expected a number, got {got}",
                        file=file, row=lines[i], column=c + 1,
                    ) from None
        out = np.array(block, dtype=dtype).reshape(len(rows), len(cols))
    bad = np.argwhere(~np.isfinite(out))
    if bad.size:
        i, j = (int(v) for v in bad[0])
        c = cols[j]
        raise DataError(
            f"{what} column {header[c]!r}: expected a finite number, got {rows[i][c].strip()!r}",
            file=file, row=lines[i], column=c + 1,
        )
    return out


def _label_key(label: Label) -> Label:
    return float(label) if isinstance(label, int | float) else label


# A number in a CSV cell: ASCII digits, one dot, an exponent, a sign; nan and inf pass here to
# be refused as not finite. float() alone also takes 1_0 (as 10) and other scripts' digits
# (Arabic-Indic one, U+0661, as 1).
_NUMBER = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|nan|inf(?:inity)?)",
                     re.ASCII | re.IGNORECASE)


def _as_number(text: str) -> float | None:
    """The finite number ``text`` spells (surrounding blanks allowed), else None."""
    if _NUMBER.fullmatch(text.strip()) is None:
        return None
    x = float(text)
    return x if math.isfinite(x) else None


def discover_classes(labels: Sequence[str]) -> tuple[Label, ...]:
    """The distinct labels in sorted order: numbers (int where whole) if every label is a
    number, else text."""
    distinct = sorted({text.strip() for text in labels})
    numbers = [_as_number(t) for t in distinct]
    if distinct and all(x is not None for x in numbers):
        values = sorted({x for x in numbers if x is not None})
        return tuple(int(x) if x.is_integer() else x for x in values)
    return tuple(distinct)


def _encode(
    labels: Sequence[str],
    lines: Sequence[int],
    classes: Sequence[Label],
    column: int,
    header: Sequence[str],
    file: str,
    dtype: type[np.floating] = np.float64,
) -> tuple[NDArray[np.intp], Array]:
    """Class labels → (class index (m,), one-hot targets (m, K))."""
    numeric = all(isinstance(c, int | float) for c in classes)
    lookup = {_label_key(c): i for i, c in enumerate(classes)}
    index = np.empty(len(labels), dtype=np.intp)
    for i, text in enumerate(labels):
        key: Label | None = _as_number(text) if numeric else text.strip()
        found = lookup.get(key) if key is not None else None
        if found is None:
            shown = ", ".join(map(str, classes[:12])) + (", …" if len(classes) > 12 else "")
            raise DataError(
                f"column {header[column]!r}: label {text.strip()!r} is not one of the "
                f"network's {plural(len(classes), 'class', 'classes')} ({shown})",
                file=file, row=lines[i], column=column + 1,
            )
        index[i] = found
    return index, _one_hot(index, len(classes), dtype)


def _one_hot(index: NDArray[np.intp], k: int, dtype: type[np.floating]) -> Array:
    """Class indices (m,) → one-hot targets (m, K)."""
    onehot = np.zeros((len(index), k), dtype=dtype)
    onehot[np.arange(len(index)), index] = 1
    return onehot


# --- preprocessing ----------------------------------------------------------------------



def _mean_std(x: Array) -> tuple[Array, Array]:
    """Column means and standard deviations (n_0,) of x (m, n_0). A column whose sum or
    squares overflow float64 (values near 1e308) is first divided by a power of two, which is
    exact, so that its statistics, which do fit, are still found."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean, std = x.mean(axis=0), x.std(axis=0)
    big = ~(np.isfinite(mean) & np.isfinite(std))
    if big.any():
        s = np.exp2(np.floor(np.log2(np.abs(x[:, big]).max(axis=0))))
        y = x[:, big] / s
        mean[big], std[big] = y.mean(axis=0) * s, y.std(axis=0) * s
    return mean, std


# The standard deviation of seven rows of 0.1 is 1.4e-17, not 0: the mean is rounded. A spread
# below this fraction of the column's largest |x| is rounding, and the column constant.
_ROUNDING = 64 * float(np.finfo(np.float64).eps)


def fit_preprocessing(
    inputs: Array, method: str, columns: Columns, classes: tuple[Label, ...] | None,
    file: str | None = None,
) -> Preprocessing:
    """Normalization statistics from the training rows ``inputs`` (m, n_0) of ``file``, in
    float64; a range max − min beyond float64 is refused naming the column."""
    if method not in NORMALIZE:
        raise UsageError(f"--normalize {method!r}: expected one of: {', '.join(NORMALIZE)}")
    x = np.asarray(inputs, dtype=np.float64)
    shift: Array | None = None
    scale: Array | None = None
    if method == "standard":
        shift, scale = _mean_std(x)
    elif method == "minmax":
        with np.errstate(over="ignore"):
            shift, scale = x.min(axis=0), x.max(axis=0) - x.min(axis=0)
        if not np.isfinite(scale).all():
            k = int(np.flatnonzero(~np.isfinite(scale))[0])
            raise DataError(
                f"feature column {columns.feature_names[k]!r}: its range max − min "
                f"({float(x[:, k].max()):g} − ({float(shift[k]):g})) overflows float64, so "
                "--normalize minmax cannot scale it; use --normalize standard, or scale the "
                "column down", file=file, row=1, column=columns.features[k] + 1)
    if scale is not None:  # a spread within rounding of zero: a constant column, scale 1
        scale = np.where(scale > _ROUNDING * np.abs(x).max(axis=0, initial=0.0), scale, 1.0)
    return Preprocessing(columns.feature_names, columns.target_names, method, shift, scale,
                         classes)


def preprocessing_of(net: Network, file: str | None = None) -> Preprocessing | None:
    """The ``preprocessing:`` block of a network file, checked; None if there is none."""
    raw = net.extra.get("preprocessing")
    if raw is None:
        return None

    def bad(message: str, field: str) -> ConfigError:
        return ConfigError(message, path=f"preprocessing.{field}" if field else "preprocessing",
                           file=file)

    if not isinstance(raw, dict):
        raise bad("expected a mapping (features, targets, normalize, shift, scale, classes)", "")
    known = ("features", "targets", "normalize", "shift", "scale", "classes")
    for key in raw:
        if key not in known:
            raise bad(f"unknown key {key!r}; expected one of: {', '.join(known)}", str(key))

    def names(key: str) -> tuple[str, ...]:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(
            isinstance(v, str | int | float) and not isinstance(v, bool) for v in value
        ):
            raise bad("expected a list of column names", key)
        out = tuple(str(v) for v in value)
        if len(set(out)) != len(out):
            raise bad("expected distinct column names", key)
        return out

    features, targets = names("features"), names("targets")
    if features and len(features) != net.input_size:
        raise bad(f"expected {net.input_size} column names (input_size), got {len(features)}",
                  "features")
    normalize = raw.get("normalize", "none")
    if normalize not in NORMALIZE:
        raise bad(f"unknown normalization {normalize!r}; expected one of: "
                  f"{', '.join(NORMALIZE)}", "normalize")
    stats: list[Array | None] = []
    for key in ("shift", "scale"):
        value = raw.get(key)
        if value is None:
            stats.append(None)
            continue
        try:
            arr = np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise bad("expected a list of numbers", key) from None
        if arr.shape != (net.input_size,) or not np.isfinite(arr).all():
            raise bad(f"expected {net.input_size} finite numbers (one per input)", key)
        stats.append(arr)
    shift, scale = stats
    if (shift is None) != (scale is None) or (normalize != "none" and shift is None):
        raise bad("expected both 'shift' and 'scale' (x' = (x − shift) / scale)", "")
    if scale is not None and (scale == 0).any():
        raise bad("a scale of 0 would divide by zero", "scale")
    classes = raw.get("classes")
    if classes is not None:
        if not isinstance(classes, list) or not all(
            isinstance(c, str | int | float) and not isinstance(c, bool) for c in classes
        ):
            raise bad("expected a list of class labels (numbers or text)", "classes")
        if not all(math.isfinite(c) for c in classes if not isinstance(c, str)):
            raise bad("expected finite numbers or text as class labels", "classes")
        if len({_label_key(c) for c in classes}) != len(classes):
            raise bad("expected distinct class labels", "classes")
        if len(classes) != net.output_size:
            raise bad(f"expected {plural(net.output_size, 'label')} (one per output neuron), "
                      f"got {len(classes)}", "classes")
        classes = tuple(classes)
    return Preprocessing(features, targets, normalize, shift, scale, classes)


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
        )

    def line_of(self, row: int) -> int | None:
        """The file line (1-based; the header is line 1) of row ``row`` (0-based)."""
        return None if self.lines is None else int(self.lines[row])

    def name_row(self, exc: NumericalError) -> NumericalError:
        """``exc`` naming the file and line of its row (:class:`errors.RowSource`)."""
        return _on_line(exc, self.file, self.line_of)


def _is_classifier(net: Network, columns: Columns) -> bool:
    return len(columns.targets) == 1 and net.output_size > 1


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


class _NotPlain(Exception):
    """The file is not plain numeric CSV; read it the careful way."""


def _plain_blocks(path: FileName, header: Sequence[str], delimiter: str,
                  chunk_rows: int | None = CHUNK_ROWS) -> Iterator[Array]:
    """The data rows of a plain numeric CSV file as float64 blocks (≤ chunk_rows, width;
    None: one block of every row, read at once); the header is line 1 and data row i is
    line i + 2.

    Plain: every line after the header is one row of finite numbers, as many as the header has
    names — no quotes, blank lines, text or missing cells. Blocks of plain decimals
    ([-]digits[.digits]) are parsed by :func:`_parse_decimals`, the others (exponents, spaces,
    \\r\\n …) by numpy's C reader; both give what ``float()`` gives.
    Raises :class:`_NotPlain` at the first block that is not plain; the caller then reads the
    file with :class:`_Reader`, which finds the problem and names its line and column.
    """
    sep = _delimiter(delimiter)
    width = len(header)
    with open(path, "rb") as stream:
        first = stream.readline(MAX_LINE_BYTES + 1).removeprefix(b"\xef\xbb\xbf")
        if len(first) > MAX_LINE_BYTES or tuple(
                name.strip() for name in first.decode("utf-8").rstrip("\r\n").split(sep)
        ) != tuple(header):
            raise _NotPlain
        for body in _line_blocks(stream, chunk_rows, LineLimit(str(path), line=2)):
            if not body.endswith(b"\n"):
                body += b"\n"  # now one \n per line
            if sep not in "0123456789.-" and sep.isascii() and not body.translate(
                    None, b"0123456789.-\n" + sep.encode()):
                block = _parse_decimals(body, width, ord(sep))
                if block is not None:
                    yield block  # one row per line; decimals of ≤ 19 digits: finite
                    continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error")  # "empty input" and the like
                    block = np.loadtxt(body.decode("utf-8").splitlines(), delimiter=sep,
                                       comments=None, quotechar=None, dtype=np.float64, ndmin=2)
            except (ValueError, UserWarning):
                raise _NotPlain from None
            if block.shape != (body.count(b"\n"), width) or not np.isfinite(block).all():
                raise _NotPlain
            yield block


def _line_blocks(stream: IO[bytes], rows: int | None, limit: LineLimit) -> Iterator[bytes]:
    """The rest of ``stream`` in blocks of ``rows`` whole lines (None: one block of every
    line), the last one maybe without its final \\n; each line is checked by ``limit`` as it
    is read, so a line too long is refused before it is whole in memory."""
    rest = b""
    while True:
        parts, have = [rest], rest.count(b"\n")
        while rows is None or have < rows:
            block = stream.read(BLOCK)
            if not block:
                break
            limit.feed(block)
            parts.append(block)
            have += block.count(b"\n")
        body = b"".join(parts)
        if rows is not None and have > rows:  # cut after the rows-th \n
            cut = int(np.flatnonzero(np.frombuffer(body, np.uint8) == 10)[rows - 1]) + 1
            body, rest = body[:cut], body[cut:]
        else:
            rest = b""
        if not body:
            return
        yield body


_EXACT = 2**53  # integers up to this are exact in float64, and so are 10^0 … 10^22
_POW10 = 10.0 ** np.arange(23)
_CHARS = 19  # digits and dot: below 10^19, the digits fit uint64


def _parse_decimals(body: bytes, width: int, sep: int, chunk: int = 1 << 22) -> Array | None:
    """Lines of ``width`` decimal numbers (``body``: only the bytes 0–9, ``.``, ``-``, ``sep``
    and \\n, ending with \\n) → (lines, width) float64, equal to ``float()`` of every field;
    None if a line has another number of fields, a field is empty or not a plain decimal
    ([-]digits[.digits]), or not certainly exact this way.

    Vectorized over the fields of ~4 MB at a time: with ``ends`` the index of the separator
    after each field, the character k places left of it is ``body[ends − 1 − k]``, read for
    k = 0, 1, … while any field goes on. A field is the integer M of its digits and f digits
    after the dot; M / 10^f is one correctly rounded division of two exact numbers (M ≤ 2^53,
    f ≤ 22), which is what ``float()`` returns.
    """
    rows = body.count(b"\n")
    out = np.empty((rows, width), np.float64)
    flat = out.reshape(-1)
    pad = _CHARS + 2  # bytes before the piece, for body[ends − 1 − k]
    done = start = 0
    while start < len(body):
        stop = body.rfind(b"\n", start, start + chunk) + 1 or body.index(b"\n", start) + 1
        if start >= pad:  # after a \n: what precedes the first field ends it
            padded = np.frombuffer(body, np.uint8, stop - start + pad, start - pad)
        else:
            padded = np.frombuffer(bytes((sep,)) * pad + body[start:stop], np.uint8)
        part = padded[pad:]
        is_end = (part < 45) if sep < 45 else (part == sep) | (part == 10)
        ends = np.flatnonzero(is_end)
        m = len(ends) // width
        if len(ends) != m * width or not (part[ends[width - 1::width]] == 10).all():
            return None  # some line has another number of fields (a \n elsewhere: see below)
        if is_end[0] or (is_end[1:] & is_end[:-1]).any():
            return None  # an empty field or line: two separators in a row
        value = _decimals(padded, pad, ends, body.find(b".", start, stop) >= 0,
                          body.find(b"-", start, stop) >= 0)
        if value is None:
            return None
        flat[done * width:(done + m) * width] = value
        done += m
        start = stop
    return out if done == rows else None  # else some \n was not at a line's last field


def _decimals(padded: NDArray[np.uint8], pad: int, ends: NDArray[np.intp], dots: bool,
              signs: bool) -> Array | None:
    """The fields before ``padded[pad + ends]`` as float64 (see :func:`_parse_decimals`); every
    field's first character follows a separator or \\n. ``dots``/``signs``: whether the piece
    has a ``.``/``-`` at all (without them, a cheaper loop suffices)."""
    n = len(ends)
    value = np.zeros(n, np.uint16)  # the digits, a dot counted as a 0 digit: 10·I·10^f + F
    after_dot = np.zeros(n, np.uint16) if dots else value  # F: the f digits after the dot
    frac = np.zeros(n if dots else 0, np.uint8)  # f
    dot = np.zeros(n if dots else 0, np.bool_)
    before_dot = np.ones(n if dots else 0, np.bool_)
    at = np.empty(n if dots else 0, np.uint8)
    neg = np.zeros(n if signs else 0, np.bool_)
    sign = np.zeros(n if signs else 0, np.bool_)  # the field's "-" was the previous character
    has_digit = np.zeros(n if dots or signs else 0, np.bool_)
    live = np.ones(n, np.bool_)  # still reading the field, right to left
    is_digit = np.empty(n, np.bool_)
    c = np.empty(n, np.uint8)
    term = np.empty(n, np.uint16)
    for k in range(_CHARS + 2):
        np.take(padded[pad - 1 - k:], ends, out=c)  # the k-th character from the right
        c -= 48  # digits → 0–9, "-" → 253, "." → 254; separators and \n → other values > 9
        np.less_equal(c, 9, out=is_digit)
        is_digit &= live
        step = is_digit
        if signs:
            if (sign & ((c <= 9) | (c >= 253))).any():
                return None  # a "-" that is not the field's first character
            np.logical_and(live, c == 253, out=sign)
            neg |= sign
        if dots:
            is_dot = live & (c == 254)
            if (is_dot & dot).any():
                return None  # a second dot
            np.multiply(is_dot, np.uint8(k), out=at)  # (masked ufuncs are slow)
            frac += at
            dot |= is_dot
            np.logical_not(dot, out=before_dot)
            step = is_digit | is_dot
        if dots or signs:
            has_digit |= is_digit
        if step.any():
            if k >= _CHARS:
                return None  # too many digits to be certainly exact
            if k in (4, 9):  # 10^(k+1) − 1 would not fit
                kind = np.uint32 if k == 4 else np.uint64
                value = value.astype(kind)
                after_dot = after_dot.astype(kind) if dots else value
                term = np.empty(n, kind)
            c *= is_digit
            np.multiply(c, term.dtype.type(10**k), out=term, casting="unsafe")
            value += term
            if dots:
                term *= before_dot
                after_dot += term
        elif not (signs and sign.any()):
            break
        live, is_digit = step, live  # (live's array is free for the next is_digit)
    if (dots or signs) and not has_digit.all():
        return None  # "-" or "." without digits
    if dots:
        value -= after_dot  # 10·I·10^f, exactly
        value //= 10
        value += after_dot  # M = I·10^f + F
    if int(value.max(initial=0)) > _EXACT:
        return None
    out = value.astype(np.float64)
    if dots:
        out /= np.take(_POW10, frac)  # 10^0 = 1 without a dot
    if signs:
        factor = neg.astype(np.float64)
        factor *= -2
        factor += 1
        out *= factor  # −1 · 0.0 = −0.0, as float("-0")
    return out


def _take(block: Array, cols: Sequence[int]) -> Array:
    """block[:, cols] — a slice (no gather) when the columns are consecutive."""
    if cols and list(cols) == list(range(cols[0], cols[0] + len(cols))):
        return block[:, cols[0]:cols[0] + len(cols)]
    return np.take(block, np.asarray(cols, dtype=np.intp), axis=1)


def _numeric_classes(values: Array) -> tuple[Label, ...]:
    """:func:`discover_classes` for labels that are all finite numbers."""
    return tuple(int(v) if v.is_integer() else v for v in np.unique(values).tolist())


def _plain_labels(values: Array, classes: Sequence[Label]) -> NDArray[np.intp]:
    """Class index (m,) of every label value; :class:`_NotPlain` if one is not a class (the
    careful path names it) or the classes are not all numbers."""
    if not all(isinstance(c, int | float) and not isinstance(c, bool) for c in classes):
        raise _NotPlain
    known = np.array([float(c) for c in classes])
    order = np.argsort(known, kind="stable")
    ordered = known[order]
    at = np.minimum(np.searchsorted(ordered, values), len(ordered) - 1)
    if not np.array_equal(ordered[at], values):
        raise _NotPlain
    return order[at].astype(np.intp)


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
    assert classes is not None or chunk_rows is None or not _is_classifier(net, columns)
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
    inputs = _take(block, columns.features).astype(dtype, copy=False)
    targets: Array | None = None
    labels: NDArray[np.intp] | None = None
    found: tuple[Label, ...] | None = None
    if _is_classifier(net, columns):
        values = block[:, columns.targets[0]]
        found = _numeric_classes(values) if classes is None else tuple(classes)
        if len(found) != net.output_size and classes is None:
            raise _NotPlain
        labels = _plain_labels(values, found)
        targets = _one_hot(labels, len(found), dtype)
    elif columns.targets:
        targets = _take(block, columns.targets).astype(dtype, copy=False)
        _check_probabilities(net, targets, range(line, line + len(block)), columns, file)
    return _Rows(inputs, targets, labels, found, np.arange(line, line + len(block)))


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
    if _is_classifier(net, columns):
        c = columns.targets[0]
        text = [row[c] for row in rows]
        found = _classes_for(net, text, columns, file) if classes is None else tuple(classes)
        labels, targets = _encode(text, lines, found, c, columns.header, file, dtype)
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
) -> Dataset:
    """Read a whole CSV file for ``net``. With ``need_target`` False (predict) the target
    columns are left out and not read; if the header has exactly n_0 columns and no column
    option is given, every column is a feature.

    Class labels are one-hot encoded against ``preprocessing.classes`` if given, else against
    the labels found in the file, which must then be exactly n_L of them. Feature names in
    ``preprocessing`` (stored in ``net_file``) pick the feature columns by name.
    """
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
        [rows] = _read_rows(reader, path, net, columns, delimiter, known, None, np.float64)
    return Dataset(file, columns, rows.inputs, rows.targets, rows.labels, rows.classes,
                   rows.lines)


def _classes_for(net: Network, labels: Iterable[str], columns: Columns, file: str
                 ) -> tuple[Label, ...]:
    """The distinct ``labels`` in sorted order; there must be n_L of them."""
    classes = discover_classes(list(labels))
    if len(classes) != net.output_size:
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
    normalized by ``preprocessing``; memory is bounded by ``chunk_rows``. ``on_lines`` is
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
            if on_lines is not None:
                on_lines(rows.lines)
            yield inputs, rows.targets


def split_rows(m: int, fraction: float, seed: int, shuffle: bool) -> tuple[
    NDArray[np.intp], NDArray[np.intp]
]:
    """(training rows, validation rows) for ``--val-split``: ⌊fraction·m⌉ rows held out,
    drawn at random from ``seed`` (the last rows of the file with ``shuffle`` off)."""
    if not 0 <= fraction < 1:
        raise UsageError(f"--val-split {fraction}: expected a fraction from 0 up to (not "
                         "including) 1")
    n_val = round(fraction * m)
    if fraction > 0 and not 1 <= n_val < m:
        raise UsageError(
            f"--val-split {fraction} of {plural(m, 'row')} leaves {n_val} for validation and "
            f"{m - n_val} for training; both need at least one")
    order = (np.random.default_rng([seed, 1]).permutation(m) if shuffle
             else np.arange(m, dtype=np.intp))
    train, val = order[: m - n_val], order[m - n_val:]
    return np.sort(train), np.sort(val)


# --- what train, evaluate and predict read --------------------------------------------------

@dataclass(frozen=True, eq=False)
class TrainingData:
    """Training and validation rows, normalized by ``preprocessing`` (a network trained
    before: its stored one, else fitted on the training rows); ``info`` describes where they
    came from, for the ``training:`` block. ``replaced``: the stored normalization that
    ``--normalize`` replaced by other statistics (None: none was stored, or it was kept)."""

    train: Dataset
    val: Dataset | None
    preprocessing: Preprocessing
    info: dict[str, Any]
    replaced: Preprocessing | None = None


def _normalized(ds: Dataset, pre: Preprocessing) -> Dataset:
    return replace(ds, inputs=pre.apply(ds.inputs, file=ds.file, lines=ds.lines))


def load_training_data(
    net: Network,
    data: FileName,
    *,
    target: str | None = None,
    features: str | None = None,
    delimiter: str = DELIMITER,
    val: FileName | None = None,
    val_split: float = 0.0,
    seed: int = 0,
    shuffle: bool = True,
    normalize: str | None = None,
    net_file: str | None = None,
) -> TrainingData:
    """Read ``data`` (and ``val``), hold out ``val_split`` of the rows, scale the features.

    A network trained before (a ``preprocessing:`` block in ``net_file``) is trained again on
    the columns it was trained on, matched by name, and on its stored class list. Its weights
    were learned on inputs scaled by its stored normalization, so that is kept exactly (the
    same shift and scale, not refitted) unless ``normalize`` names a method, which is then
    fitted anew on the training rows (``replaced`` holds the stored one if that changed
    it). Without a stored block the normalization is fitted: ``normalize``, by default
    standard."""
    if val is not None and val_split:
        raise UsageError("give either --val FILE or --val-split F, not both")
    if normalize is not None and normalize not in NORMALIZE:
        raise UsageError(f"--normalize {normalize!r}: expected one of: {', '.join(NORMALIZE)}")
    stored = preprocessing_of(net, net_file)
    data = as_input(data)
    full = load_dataset(data, net, target=target, features=features, delimiter=delimiter,
                        preprocessing=stored, net_file=net_file)
    info: dict[str, Any] = {"data": str(data), "rows": len(full)}
    if full.targets is None:  # pragma: no cover - load_dataset reads targets by default
        raise DataError("no target column", file=str(data))
    train, held = full, None
    if val_split:
        train_rows, val_rows = split_rows(len(full), val_split, seed, shuffle)
        train, held = full.subset(train_rows), full.subset(val_rows)
        info["val_split"] = val_split
    elif val is not None:
        known = Preprocessing(full.columns.feature_names, full.columns.target_names,
                              classes=full.classes)
        held = load_dataset(val, net, target=target, features=features, delimiter=delimiter,
                            preprocessing=known,
                            net_file=net_file if stored and stored.features else None)
        info["val"] = str(val)
    replaced = None
    if stored is not None and normalize is None:
        pre = replace(stored, features=full.columns.feature_names,
                      targets=full.columns.target_names, classes=full.classes)
    else:
        pre = fit_preprocessing(train.inputs, normalize or "standard", full.columns,
                                full.classes, str(data))
        if stored is not None and not pre.same_scaling(stored):
            replaced = stored
    info["train_rows"] = len(train)
    info["val_rows"] = 0 if held is None else len(held)
    return TrainingData(_normalized(train, pre), None if held is None else _normalized(held, pre),
                        pre, info, replaced)


def load_for_network(
    net: Network,
    data: FileName,
    *,
    target: str | None = None,
    features: str | None = None,
    delimiter: str = DELIMITER,
    need_target: bool = True,
    split: str = "all",
    net_file: str | None = None,
) -> tuple[Dataset, Preprocessing | None]:
    """Rows of ``data`` as ``net`` sees them (its stored preprocessing applied), for predict
    and evaluate. ``split`` train or val: only the rows ``--val-split`` gave that side when
    the network was trained (recomputed from its ``training:`` block)."""
    pre = preprocessing_of(net, net_file)
    ds = load_dataset(data, net, target=target, features=features, delimiter=delimiter,
                      preprocessing=pre, need_target=need_target, net_file=net_file)
    if split != "all":
        ds = ds.subset(_split_of(net, len(ds), split, str(data), net_file))
    return (_normalized(ds, pre) if pre is not None else ds), pre


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
    _lines: list[NDArray[np.intp]] = field(default_factory=list, repr=False)

    def __iter__(self) -> Iterator[tuple[Array, Array]]:
        return self.read(on_lines=self._seen)

    def _seen(self, lines: NDArray[np.intp]) -> None:
        self._lines[:] = [lines]

    def line_of(self, row: int) -> int:
        """The file line (1-based; the header is line 1) of row ``row`` (0-based) of the chunk
        yielded last."""
        return int(self._lines[0][row])

    def name_row(self, exc: NumericalError) -> NumericalError:
        """``exc`` naming the file and line of its row in the chunk yielded last
        (:class:`errors.RowSource`)."""
        return _on_line(exc, self.file, self.line_of)

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


def _label_classes(reader: _Reader, net: Network, columns: Columns, file: str
                   ) -> tuple[Label, ...]:
    """:func:`_classes_for` the rest of ``reader``'s label column, keeping only its distinct
    labels (so that memory does not grow with the rows)."""
    c = columns.targets[0]
    seen: set[str] = set()
    for row, _ in reader.rows():
        seen.add(row[c].strip())
        if len(seen) > 64 * net.output_size + 1024:  # not labels: stop collecting
            break
    return _classes_for(net, seen, columns, file)


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
    pre = preprocessing_of(net, net_file)
    if pre is not None and pre.classes:
        return pre.classes
    data = as_input(data)
    with _Reader(data, delimiter) as reader:
        if len(reader.header) == net.input_size and target is None and features is None:
            return None  # every column is a feature, as load_dataset reads it for predict
        try:
            columns = _columns_for(reader, target, features, pre, net_file=net_file)
        except DataError:
            return None
        if not _is_classifier(net, columns):
            return None
        return _label_classes(reader, net, columns, str(data))


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
    data = as_input(data)
    file = str(data)
    pre = preprocessing_of(net, net_file)
    with _Reader(data, delimiter) as reader:
        columns = _columns_for(reader, target, features, pre, net_file=net_file)
        _check_fit(net, columns, file)
        if _is_classifier(net, columns) and not (pre and pre.classes):
            classes = _label_classes(reader, net, columns, file)
            pre = (Preprocessing((), (), classes=classes) if pre is None
                   else replace(pre, classes=classes))
    read = functools.partial(iter_csv_chunks, data, net, target=target, features=features,
                             delimiter=delimiter, preprocessing=pre, chunk_rows=chunk_rows,
                             net_file=net_file)
    return DataStream(file, columns, pre, read)


def _split_of(net: Network, m: int, split: str, file: str, net_file: str | None
              ) -> NDArray[np.intp]:
    if split not in SPLITS:
        raise UsageError(f"--split {split!r}: expected one of: {', '.join(SPLITS)}")
    training = net.extra.get("training")
    ok = isinstance(training, dict) and isinstance(training.get("options"), dict)
    fraction = training.get("val_split") if ok and isinstance(training, dict) else None
    if not ok or not isinstance(fraction, int | float) or not fraction:
        raise UsageError(
            f"--split {split}: {net_file or 'the network'} was not trained with --val-split "
            "(its training: block has no val_split)")
    assert isinstance(training, dict)
    options = training["options"]
    seed, shuffle = options.get("seed", 0), options.get("shuffle", True)

    def bad(field: str, expected: str) -> ConfigError:
        return ConfigError(f"expected {expected}", path=f"training.{field}", file=net_file)

    if isinstance(fraction, bool) or not 0 < fraction < 1:
        raise bad("val_split", "a fraction between 0 and 1")
    if isinstance(seed, bool) or not isinstance(seed, int | float) or not (
            math.isfinite(seed) and seed >= 0 and float(seed).is_integer()):
        raise bad("options.seed", "a whole number ≥ 0")
    if not isinstance(shuffle, bool):
        raise bad("options.shuffle", "true or false")
    rows = training.get("rows")
    if rows != m:
        raise DataError(
            f"--split {split}: this file has {m} data rows, but the network was trained on "
            f"{rows}; the split can only be recomputed on the same file", file=file)
    train, val = split_rows(m, float(fraction), int(seed), shuffle)
    return train if split == "train" else val
