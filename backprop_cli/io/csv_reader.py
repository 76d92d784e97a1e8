"""Reading a CSV file the careful way: the header, one row at a time (every line's length
bounded), the columns a command selects by name (with suggestions for a misspelt one), cell
conversion naming the file, line and column of a bad cell, and class labels."""

from __future__ import annotations

import csv
import difflib
import io
import itertools
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from backprop_cli.choices import DELIMITER
from backprop_cli.errors import DataError, UsageError, echo, plural
from backprop_cli.io.inputs import (
    MAX_LINE_BYTES,
    FileName,
    csv_stat,
    open_bytes,
    too_long,
)
from backprop_cli.network import Array, Label, label_key


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
    while True:
        try:
            text = stream.readline(MAX_LINE_BYTES + 1)
        except OSError as exc:  # EIO, a disk that went away: named with the line it stopped at
            raise DataError(f"cannot read it: {exc.strerror or exc}", file=file,
                            row=line + 1) from None
        if not text:
            break
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
    lookup = {label_key(c): i for i, c in enumerate(classes)}
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
