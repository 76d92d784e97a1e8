"""The fast path for plain numeric CSV: whole blocks of rows parsed by numpy (decimal digits
converted exactly, or the file handed back to the careful reader with :class:`_NotPlain`)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from typing import IO

import numpy as np
from numpy.typing import NDArray

from backprop_cli.choices import CHUNK_ROWS
from backprop_cli.io.csv_reader import _delimiter
from backprop_cli.io.inputs import (
    BLOCK,
    MAX_LINE_BYTES,
    FileName,
    LineLimit,
)
from backprop_cli.network import Array, Label


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
