"""Machine formats of the analyze report: one JSON document, NDJSON rows, CSV rows.

NDJSON and CSV are written from the report's row blocks (:meth:`AnalyzeReport.row_blocks`), a
block of columns at a time: each distinct number is formatted once (a neuron's factors are
shared by all its weights, a(l−1)k by all weights from k, per example and layer), the per-row
floats by :mod:`floatrepr` in numpy, and the lines are assembled as one byte matrix (see
:class:`_Writer`). The text is exactly what ``json.dumps`` of each row and ``csv.writer``
write: floats as their shortest round-trip ``repr``.

The JSON document is written as it is made (:meth:`AnalyzeReport.document`): the same bytes as
``json.dumps(report.to_dict(), indent=2)``, its arrays a block of floats at a time in the same
way (:class:`_DocumentWriter`), so that the memory used does not grow with the examples.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from typing import Any, TextIO

import numpy as np

from backprop_cli.network import Array
from backprop_cli.present import Options
from backprop_cli.present.floatrepr import U8, U64, WIDTH, repr_matrix
from backprop_cli.reports.analyze import AnalyzeReport, Outer, as_plain
from backprop_cli.reports.rows import ROW_FIELDS, RowBlock


def round_floats(value: Any, digits: int) -> Any:
    """Every float in a nested structure rounded to ``digits`` significant digits."""
    if isinstance(value, float):
        return float(f"{value:.{digits}g}") if math.isfinite(value) else value
    if isinstance(value, list):
        return [round_floats(v, digits) for v in value]
    if isinstance(value, dict):
        return {k: round_floats(v, digits) for k, v in value.items()}
    return value


def dumps(doc: Any, precision: int | None = None, indent: int | None = 2) -> str:
    if precision is not None:
        doc = round_floats(doc, precision)
    try:
        return json.dumps(doc, indent=indent, allow_nan=False)
    except ValueError:  # an inf or NaN (e.g. a statistic of weights near 1e308): write null
        return json.dumps(_null_non_finite(doc), indent=indent, allow_nan=False)


def _null_non_finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        return [_null_non_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _null_non_finite(v) for k, v in value.items()}
    return value


def render_json(report: AnalyzeReport, out: TextIO, options: Options) -> None:
    _DocumentWriter(out, options.precision).value(report.document(), 0)
    out.write("\n")


def render_ndjson(report: AnalyzeReport, out: TextIO, options: Options) -> None:
    writer = _Writer(_NDJSON, options.precision)
    for block in report.row_blocks(BLOCK_ROWS):
        out.write(writer.lines(block))


def render_csv(report: AnalyzeReport, out: TextIO, options: Options) -> None:
    out.write(",".join(ROW_FIELDS) + "\n")
    writer = _Writer(_CSV, options.precision)
    for block in report.row_blocks(BLOCK_ROWS):
        out.write(writer.lines(block))


def render_document(report: Any, out: TextIO, options: Options) -> None:
    """Any other report as its JSON document, ``report.to_dict()``."""
    out.write(dumps(report.to_dict(), options.precision, None if options.compact else 2) + "\n")


# --- the block writer ---------------------------------------------------------------------

class _Style:
    """How one format writes a row: the text around the fields and of each kind of value."""

    def __init__(self, start: str, key: Callable[[str], str], sep: str, end: str,
                 none: str, text: Callable[[str], str], nonfinite: str | None) -> None:
        self.start, self.key, self.sep, self.end = start, key, sep, end
        self.none, self.text = none, text
        self.nonfinite = nonfinite  # what a NaN or ±inf becomes (None: its repr)

    def scalar(self, value: int | str | None) -> str:
        if value is None:
            return self.none
        return self.text(value) if isinstance(value, str) else str(value)


# json.dumps(row) writes {"key": value, ...} with ", " and ": "; NaN/inf are not JSON (null,
# as in the JSON document). csv.writer writes None as "" and floats with str() = repr().
_NDJSON = _Style("{", lambda name: f'"{name}": ', ", ", "}\n", "null", json.dumps, "null")
_CSV = _Style("", lambda name: "", ",", "\n", "", str, None)

# A line's pieces: ("c", [text]) the same on every line; ("j", texts) one per neuron j of the
# layer, ("k", texts) one per input k (texts[j], texts[k]); ("r", [field]) one float per row,
# the block's column ``field``.
Piece = tuple[str, list[str]]

# Rows formatted at a time: the line matrix (≈ 250 bytes a row) and the temporaries of
# floatrepr.repr_matrix stay a few MB, and the memory used does not grow with the rows.
BLOCK_ROWS = 1 << 14


def _floats(values: Array, style: _Style, precision: int | None) -> list[str]:
    """(n,) float64 → their text as json.dumps and str() write a Python float."""
    items: list[float] = _rounded(values, precision).tolist()
    texts = list(map(repr, items))
    if style.nonfinite is not None and not np.isfinite(values).all():
        for i in np.flatnonzero(~np.isfinite(values)).tolist():
            texts[i] = style.nonfinite
    return texts


def _rounded(values: Array, precision: int | None) -> Array:
    """The floats that --precision writes: each rounded to ``precision`` significant digits."""
    if precision is None:
        return values
    items: list[float] = values.tolist()
    return np.array(list(map(float, map(f"{{:.{precision}g}}".format, items))), dtype=float)


class _Writer:
    """Writes row blocks as lines. Each line is laid out as bands of columns of one (rows,
    width) uint8 matrix, every text padded with NUL bytes, and the NULs deleted at the end:
    constant text, the text of neuron j or input k (tables built once per example, layer and
    kind, and taken by the block's j and k), and the per-row floats (repr_matrix)."""

    def __init__(self, style: _Style, precision: int | None) -> None:
        self.style, self.precision = style, precision
        self._key: tuple[int | str, int, str] | None = None
        self._bands: list[tuple[str, U8 | str]] = []

    def lines(self, block: RowBlock) -> str:
        """The block's rows as lines of text, exactly as the row-by-row writers write them."""
        key = (block.example, block.layer, block.kind)
        if key != self._key:
            self._bands, self._key = self._layout(block), key
        matrices: list[U8] = []
        written: list[tuple[U64, U8]] = []
        for dep, band in self._bands:
            if isinstance(band, str):
                matrices.append(self._floats_matrix(getattr(block, band), written))
            elif dep == "c":
                matrices.append(band)
            else:
                index = block.j if dep == "j" else block.k
                assert index is not None
                matrices.append(np.take(band, index, axis=0))
        lines = np.empty((len(block), sum(m.shape[1] for m in matrices)), dtype=np.uint8)
        start = 0
        for matrix in matrices:
            lines[:, start:start + matrix.shape[1]] = matrix
            start += matrix.shape[1]
        return lines.tobytes().translate(None, b"\0").decode("utf-8")

    def _floats_matrix(self, values: Array, written: list[tuple[U64, U8]]) -> U8:
        """repr_matrix of one float per row; a column equal bit for bit to one already written
        (the mean gradient of a single example is its gradient) is not formatted again."""
        values = _rounded(np.asarray(values, dtype=float), self.precision)
        bits = values.view(np.uint64)
        for other, matrix in written:
            if np.array_equal(bits, other):
                return matrix
        matrix = repr_matrix(values, self.style.nonfinite)
        written.append((bits, matrix))
        return matrix

    def _layout(self, block: RowBlock) -> list[tuple[str, U8 | str]]:
        style, precision = self.style, self.precision

        def by_j(values: Array | None) -> Piece:
            if values is None:
                return ("c", [style.none])
            return ("j", _floats(values, style, precision))

        one = _floats(np.ones(1), style, precision)[0]
        n = block.dC_dz.shape[0]
        fields: dict[str, Piece] = {
            "example": ("c", [style.scalar(block.example)]),
            "layer": ("c", [str(block.layer)]),
            "kind": ("c", [style.scalar(block.kind)]),
            "j": ("j", list(map(str, range(n)))),
            "k": ("c", [style.none]),
            "value": ("r", ["value"]),
            "dC_da": by_j(block.dC_da),
            "da_dz": by_j(block.da_dz),
            "dC_dz": by_j(block.dC_dz),
            "dz_dw": ("c", [one]),
            "gradient": ("r", ["gradient"]),
            "mean_gradient": ("r", ["mean_gradient"]),
        }
        if block.k is not None and block.dz_dw is not None:
            fields["k"] = ("k", list(map(str, range(block.dz_dw.shape[0]))))
            fields["dz_dw"] = ("k", _floats(block.dz_dw, style, precision))
        pieces: list[Piece] = []
        for i, name in enumerate(ROW_FIELDS):
            pieces.append(("c", [(style.start if i == 0 else style.sep) + style.key(name)]))
            pieces.append(fields[name])
        pieces.append(("c", [style.end]))
        bands: list[tuple[str, U8 | str]] = []
        for dep, texts in _merge(pieces):
            if dep == "r":
                bands.append((dep, texts[0]))
            else:
                table = np.array([t.encode("utf-8") for t in texts], dtype=bytes)
                bands.append((dep, table.view(np.uint8).reshape(len(texts), table.itemsize)))
        return bands


def _merge(pieces: list[Piece]) -> list[Piece]:
    """Join neighbouring pieces that vary together (constant text joins any piece but a row's,
    which is kept whole)."""
    out: list[Piece] = []
    for dep, texts in pieces:
        if out and dep != "r" and out[-1][0] != "r":
            last_dep, last = out[-1]
            if dep == "c":
                out[-1] = (last_dep, [t + texts[0] for t in last])
                continue
            if last_dep == "c":
                out[-1] = (dep, [last[0] + t for t in texts])
                continue
            if dep == last_dep:
                out[-1] = (dep, [a + b for a, b in zip(last, texts, strict=True)])
                continue
        out.append((dep, texts))
    return out


# --- the document writer ------------------------------------------------------------------

INDENT = 2  # json.dumps(doc, indent=2)
# Floats formatted at a time: the element matrix (≈ 60 bytes a float) stays a few MB.
BLOCK_FLOATS = 1 << 15


class _DocumentWriter:
    """Writes a :meth:`AnalyzeReport.document` as ``json.dumps(as_plain(doc), indent=2)`` does
    (``dumps``: floats rounded to ``precision``, NaN and ±inf as null), piece by piece: the
    arrays a block of floats at a time, each float's text by :func:`floatrepr.repr_matrix`
    between its indentation and its comma in one byte matrix, as the rows of ndjson."""

    def __init__(self, out: TextIO, precision: int | None) -> None:
        self.out, self.precision = out, precision
        self._frame_key: tuple[int, int, int, int | None] | None = None
        self._frame_value: tuple[U8, U8]

    def value(self, value: Any, depth: int) -> None:
        write = self.out.write
        if isinstance(value, np.ndarray | Outer) and _streamable(value):
            self.array(value, depth)
        elif isinstance(value, dict):
            inner = "\n" + " " * (INDENT * (depth + 1))
            sep = "{"
            for key, item in value.items():
                write(f"{sep}{inner}{json.dumps(key)}: ")
                self.value(item, depth + 1)
                sep = ","
            write("{}" if sep == "{" else "\n" + " " * (INDENT * depth) + "}")
        elif isinstance(value, list | tuple | Iterator):
            inner = "\n" + " " * (INDENT * (depth + 1))
            sep = "["
            for item in value:
                write(sep + inner)
                self.value(item, depth + 1)
                sep = ","
            write("[]" if sep == "[" else "\n" + " " * (INDENT * depth) + "]")
        elif isinstance(value, np.ndarray | Outer):
            self.value(as_plain(value), depth)
        else:
            write(dumps(value, self.precision, None))

    def array(self, values: Array | Outer, depth: int) -> None:
        """A vector or a matrix (no empty axis): the numbers one per line, as json.dumps."""
        write = self.out.write
        outer = " " * (INDENT * depth)
        write("[\n")
        if len(values.shape) == 1:
            vector = values[:]
            for start in range(0, vector.shape[0], BLOCK_FLOATS):
                write(self.lines(vector[None, start:start + BLOCK_FLOATS], depth + 1,
                                 last=start + BLOCK_FLOATS >= vector.shape[0]))
            write(outer + "]")
            return
        n, columns = values.shape
        rows = max(1, BLOCK_FLOATS // columns)
        for start in range(0, n, rows):
            block = values[start:start + rows]
            if columns <= BLOCK_FLOATS:
                write(self.lines(block, depth + 2, last=True, row_depth=depth + 1,
                                 last_row=start + rows >= n))
                continue
            for i, row in enumerate(block):  # one long row: in blocks of its numbers
                write(" " * (INDENT * (depth + 1)) + "[\n")
                for first in range(0, columns, BLOCK_FLOATS):
                    write(self.lines(row[None, first:first + BLOCK_FLOATS], depth + 2,
                                     last=first + BLOCK_FLOATS >= columns))
                write(" " * (INDENT * (depth + 1)) + "]"
                      + ("\n" if start + i + 1 == n else ",\n"))
        write(outer + "]")

    def lines(self, block: Array, depth: int, last: bool, row_depth: int | None = None,
              last_row: bool = False) -> str:
        """The floats of ``block`` (r, c), one per line at ``depth`` with a comma after each but
        the last of a row (``last``: of the block's last row too); with ``row_depth``, each
        row is a list of its own: "[" before, "]" and a comma after (none after the block's
        last row if ``last_row``)."""
        r, c = block.shape
        values = _rounded(np.ascontiguousarray(block, dtype=float).ravel(), self.precision)
        text, floats = self._frame(r, c, INDENT * depth, row_depth)
        floats[...] = repr_matrix(values, "null").reshape(floats.shape)
        lines = text.tobytes().translate(None, b"\0")
        if last if row_depth is None else last_row:
            lines = lines[:-2] + b"\n"  # it ends with the comma of its last number or row
        return lines.decode("ascii")

    def _frame(self, r: int, c: int, pad: int, row_depth: int | None) -> tuple[U8, U8]:
        """The text around a block of (r, c) floats, NUL-padded, with a comma after each line,
        and the floats' columns in it (r, c, WIDTH); kept for the next blocks of the same
        shape (the blocks of one matrix), whose floats are written over the last ones."""
        key = (r, c, pad, row_depth)
        if key != self._frame_key:
            cell = np.zeros(pad + WIDTH + 2, dtype=np.uint8)
            cell[:pad] = ord(" ")
            cell[-2:] = np.frombuffer(b",\n", dtype=np.uint8)
            cells = np.tile(cell, (r, c, 1))
            head, tail = b"", b""
            if row_depth is not None:
                cells[:, -1, -2] = 0  # the last number of a row
                head = b" " * (INDENT * row_depth) + b"[\n"
                tail = b" " * (INDENT * row_depth) + b"],\n"
            text = np.concatenate([np.tile(np.frombuffer(head, dtype=np.uint8), (r, 1)),
                                   cells.reshape(r, -1),
                                   np.tile(np.frombuffer(tail, dtype=np.uint8), (r, 1))],
                                  axis=1)
            floats = np.reshape(text[:, len(head):text.shape[1] - len(tail)],
                                cells.shape, copy=False)[:, :, pad:pad + WIDTH]
            self._frame_key, self._frame_value = key, (text, floats)
        return self._frame_value


def _streamable(values: Array | Outer) -> bool:
    """Whether the array writer takes ``values``: a vector or a matrix with no empty axis
    (anything else goes through lists, as small as it then is)."""
    return len(values.shape) in (1, 2) and all(n > 0 for n in values.shape)
