"""Machine formats of the analyze report: one JSON document, NDJSON rows, CSV rows.

NDJSON and CSV are written from the report's row blocks (:meth:`AnalyzeReport.row_blocks`), a
block of columns at a time: each distinct number is formatted once (a neuron's factors are
shared by all its weights, a(l−1)k by all weights from k, per example and layer), the per-row
floats by :mod:`floatrepr` in numpy, and the lines are assembled as one byte matrix (see
:class:`_Writer`). The text is exactly what ``json.dumps`` of each row and ``csv.writer``
write: floats as their shortest round-trip ``repr``. With orjson
installed (``pip install '.[fast]'`` in the checkout) the JSON document is serialised by orjson.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any, TextIO

import numpy as np

from backprop_cli.network import Array
from backprop_cli.present import Options
from backprop_cli.present.floatrepr import U8, U64, repr_matrix
from backprop_cli.reports.analyze import AnalyzeReport
from backprop_cli.reports.rows import ROW_FIELDS, RowBlock

try:
    import orjson

    _orjson: Any = orjson
except ImportError:  # orjson is the optional [fast] extra
    _orjson = None


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


def dumps_fast(doc: Any, precision: int | None = None) -> str:
    """:func:`dumps` with indent 2, by orjson when it is installed: the same JSON values (floats
    with the same shortest digits; orjson writes 1e-05 as 1e-5; non-ASCII text is escaped as
    json.dumps escapes it), about 15× faster for documents of large matrices. The reports
    hold no NaN or inf (the engine refuses them; :func:`reports.analyze._list` writes null)."""
    if _orjson is None:
        return dumps(doc, precision)
    if precision is not None:
        doc = round_floats(doc, precision)
    return ascii_json(str(_orjson.dumps(doc, option=_orjson.OPT_INDENT_2).decode()))


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def ascii_json(text: str) -> str:
    """JSON text with every non-ASCII character written as json.dumps writes it (\\u00e9), so
    that it can go to any stream (non-ASCII characters only occur inside JSON strings)."""
    if text.isascii():
        return text
    return _NON_ASCII.sub(lambda m: json.dumps(m[0])[1:-1], text)


def render_json(report: AnalyzeReport, out: TextIO, options: Options) -> None:
    out.write(dumps_fast(report.to_dict(), options.precision))
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
