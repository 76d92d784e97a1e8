"""Machine formats of the analyze report: one JSON document, NDJSON rows, CSV rows.

NDJSON and CSV are written from the report's row blocks (:meth:`AnalyzeReport.row_blocks`), a
block of columns at a time: each distinct number is formatted once (a neuron's factors are
shared by all its weights, a(l−1)k by all weights from k), the pieces of every line are laid
out in an object array and joined in one call. The text is exactly what ``json.dumps`` of each
row and ``csv.writer`` write: floats as their shortest round-trip ``repr``. With orjson
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
from backprop_cli.report import ROW_FIELDS, AnalyzeReport, RowBlock

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
    hold no NaN or inf (the engine refuses them; :func:`report._list` writes null)."""
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
    for block in report.row_blocks():
        out.write(_lines(block, _NDJSON, options.precision))


def render_csv(report: AnalyzeReport, out: TextIO, options: Options) -> None:
    out.write(",".join(ROW_FIELDS) + "\n")
    for block in report.row_blocks():
        out.write(_lines(block, _CSV, options.precision))


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

# A line's pieces: ("c", text) the same on every line of a block; ("j", texts) one per
# neuron j, ("k", texts) one per input k: texts[i] belongs to the i-th distinct index;
# ("r", texts) one per row.
Piece = tuple[str, list[str]]


def _floats(values: Array, style: _Style, precision: int | None) -> list[str]:
    """(n,) float64 → their text as json.dumps and str() write a Python float."""
    items: list[float] = values.tolist()
    if precision is not None:
        items = list(map(float, map(f"{{:.{precision}g}}".format, items)))
    texts = list(map(repr, items))
    if style.nonfinite is not None and not np.isfinite(values).all():
        for i in np.flatnonzero(~np.isfinite(values)).tolist():
            texts[i] = style.nonfinite
    return texts


def _lines(block: RowBlock, style: _Style, precision: int | None) -> str:
    """The block's rows as lines of text, exactly as the row-by-row writers would write them."""
    j_uniq, j_inv = np.unique(block.j, return_inverse=True)
    if block.k is None:
        k_uniq, k_inv = None, None
    else:
        k_uniq, k_inv = np.unique(block.k, return_inverse=True)

    def by_j(values: Array | None) -> Piece:
        if values is None:
            return ("c", [style.none])
        return ("j", _floats(values[j_uniq], style, precision))

    def by_k(values: Array | None, bias: str) -> Piece:
        if values is None or k_uniq is None:
            return ("c", [bias])
        return ("k", _floats(values[k_uniq], style, precision))

    one = _floats(np.ones(1), style, precision)[0]
    fields: dict[str, Piece] = {
        "example": ("c", [style.scalar(block.example)]),
        "layer": ("c", [str(block.layer)]),
        "kind": ("c", [style.scalar(block.kind)]),
        "j": ("j", list(map(str, j_uniq.tolist()))),
        "k": ("c", [style.none]) if k_uniq is None else ("k", list(map(str, k_uniq.tolist()))),
        "value": ("r", _floats(block.value, style, precision)),
        "dC_da": by_j(block.dC_da),
        "da_dz": by_j(block.da_dz),
        "dC_dz": by_j(block.dC_dz),
        "dz_dw": by_k(block.dz_dw, one),
        "gradient": ("r", _floats(block.gradient, style, precision)),
        "mean_gradient": ("r", _floats(block.mean_gradient, style, precision)),
    }
    pieces: list[Piece] = []
    for i, name in enumerate(ROW_FIELDS):
        pieces.append(("c", [(style.start if i == 0 else style.sep) + style.key(name)]))
        pieces.append(fields[name])
    pieces.append(("c", [style.end]))
    merged = _merge(pieces)
    cells = np.empty((len(block), len(merged)), dtype=object)
    for col, (dep, texts) in enumerate(merged):
        if dep == "c":
            cells[:, col] = texts[0]
        else:
            column = np.array(texts, dtype=object)
            cells[:, col] = column if dep == "r" else column[j_inv if dep == "j" else k_inv]
    return "".join(cells.ravel().tolist())


def _merge(pieces: list[Piece]) -> list[Piece]:
    """Join neighbouring pieces that vary together (constant text joins any piece but a row's,
    which is kept whole: per-row strings are never concatenated one by one)."""
    out: list[Piece] = []
    for dep, texts in pieces:
        if out:
            last_dep, last = out[-1]
            if dep == "c" and last_dep != "r":
                out[-1] = (last_dep, [t + texts[0] for t in last])
                continue
            if last_dep == "c" and dep != "r":
                out[-1] = (dep, [last[0] + t for t in texts])
                continue
            if dep == last_dep and dep != "r":
                out[-1] = (dep, [a + b for a, b in zip(last, texts, strict=True)])
                continue
        out.append((dep, texts))
    return out
