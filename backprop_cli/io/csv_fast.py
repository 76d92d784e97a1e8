"""The fast path for plain numeric CSV: whole blocks of rows parsed by numpy (decimal digits
converted exactly, or the file handed back to the careful reader with :class:`_NotPlain`)."""

from __future__ import annotations

import os
import threading
import warnings
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

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
        _header_line(stream, header, sep)
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


def _header_line(stream: IO[bytes], header: Sequence[str], sep: str) -> None:
    """Reads line 1 of ``stream``; :class:`_NotPlain` unless it is ``header`` (a UTF-8
    byte-order mark and spaces around the names aside)."""
    first = stream.readline(MAX_LINE_BYTES + 1).removeprefix(b"\xef\xbb\xbf")
    if len(first) > MAX_LINE_BYTES or tuple(
            name.strip() for name in first.decode("utf-8").rstrip("\r\n").split(sep)
    ) != tuple(header):
        raise _NotPlain


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
_PAD = _CHARS + 2  # bytes before a piece, for body[ends − 1 − k]


class _Scratch:
    """One thread's work arrays, kept from piece to piece: a new array of megabytes for every
    step would be fresh memory each time, whose page faults cost more than the arithmetic."""

    def __init__(self) -> None:
        self._arrays: dict[str, NDArray[Any]] = {}

    def __call__(self, name: str, n: int, dtype: DTypeLike) -> NDArray[Any]:
        array = self._arrays.get(name)
        if array is None or array.size < n or array.dtype != dtype:
            array = self._arrays[name] = np.empty(n + n // 8, dtype)
        return array[:n]


def _parse_decimals(body: bytes, width: int, sep: int, chunk: int = 1 << 22) -> Array | None:
    """Lines of ``width`` decimal numbers (``body`` ending with \\n) → (lines, width)
    float64, equal to ``float()`` of every field; None if a line has another number of
    fields, a field is empty or not a plain decimal ([-]digits[.digits]), or not certainly
    exact this way. Parsed by :func:`_piece` on ~4 MB at a time."""
    rows = body.count(b"\n")
    out = np.empty((rows, width), np.float64)
    flat = out.reshape(-1)
    work = _Scratch()
    done = start = 0
    while start < len(body):
        stop = body.rfind(b"\n", start, start + chunk) + 1 or body.index(b"\n", start) + 1
        if start >= _PAD:  # after a \n: what precedes the first field ends it
            padded = np.frombuffer(body, np.uint8, stop - start + _PAD, start - _PAD)
        else:
            padded = np.frombuffer(bytes((sep,)) * _PAD + body[start:stop], np.uint8)
        value = _piece(padded, width, sep, work, body.find(b".", start, stop) >= 0,
                       body.find(b"-", start, stop) >= 0)
        if value is None:
            return None
        flat[done:done + len(value)] = value
        done += len(value)
        start = stop
    return out if done == rows * width else None  # else some \n was not at a line's end


def _piece(padded: NDArray[np.uint8], width: int, sep: int, work: _Scratch, dots: bool,
           signs: bool) -> NDArray[Any] | None:
    """The fields of ``padded[_PAD:]`` (whole lines of ``width`` fields, each ending with \\n;
    the _PAD bytes before it are ``sep``) as one flat array, row after row: whole numbers
    as unsigned integers, anything with a dot or a sign as float64, each equal to ``float()``
    of its text. None if the piece is not plain decimals (another byte, another number of
    fields on a line, an empty field …). The array is ``work``'s, overwritten by its next
    piece. ``dots``/``signs``: whether the piece has a ``.``/``-`` at all.

    With ``ends`` the index of the separator after each field, the character k places left
    of it is ``part[ends − 1 − k]``, read for k = 0, 1, … while any field goes on (see
    :func:`_decimals`)."""
    part = padded[_PAD:]
    length = len(part)
    is_end = work("is_end", length, np.bool_)
    is_sep = work("is_sep", length, np.bool_)
    np.equal(part, sep, out=is_sep)
    seps = int(np.count_nonzero(is_sep))
    if sep < 45:  # "," or a tab: one comparison finds the separators and \n (and less)
        np.less(part, 45, out=is_end)
    else:
        np.equal(part, 10, out=is_end)
        is_end |= is_sep
    ends = np.flatnonzero(is_end)
    rows = len(ends) // width
    if len(ends) != rows * width or len(ends) - rows != seps or not (
            part[ends[width - 1::width]] == 10).all():
        return None  # a line of another width, or a byte below "-" taken for a separator
    if not (dots or signs):
        return _whole(padded, ends, length, work)
    return _decimals(padded, ends, length, dots, signs, work)


def _whole(padded: NDArray[np.uint8], ends: NDArray[np.intp], length: int, work: _Scratch
           ) -> NDArray[Any] | None:
    """:func:`_decimals` of a piece with neither dots nor signs (digits and separators
    only, as MNIST's pixels): the digits' value as unsigned integers, or None. Every field
    has a digit before its separator; the k-th character to its left (k ≥ 1) is the field's
    while its characters 0 … k − 1 were digits. The loop stops once every byte is accounted
    for (separators and digits), so 0–255 takes three steps, not four."""
    n = len(ends)
    c = work("c", n, np.uint8)
    np.take(padded[_PAD - 1:], ends, out=c, mode="clip")  # each field's last character
    c -= 48  # digits → 0–9; anything else wraps to > 9
    if n and int(c.max()) > 9:
        return None  # an empty field, or a byte that is no digit
    value: NDArray[Any] = work("value", n, np.uint16)
    np.copyto(value, c)
    term: NDArray[Any] = work("term", n, np.uint16)
    live = work("live", n, np.bool_)  # still reading the field, right to left
    is_digit = work("is_digit", n, np.bool_)
    taken = 2 * n  # bytes accounted for: each field's separator and last digit
    k = 1
    while taken < length:
        if k >= _CHARS:
            return None  # too many digits to be certainly exact
        np.take(padded[_PAD - 1 - k:], ends, out=c, mode="clip")
        c -= 48
        np.less_equal(c, 9, out=is_digit)
        if k > 1:  # at k = 1 every field is still being read
            is_digit &= live
        count = int(np.count_nonzero(is_digit))
        if not count:
            return None  # a byte that is neither a digit nor a separator
        taken += count
        if k in (4, 9):  # 10^(k+1) − 1 would not fit
            kind = np.uint32 if k == 4 else np.uint64
            value, term = value.astype(kind), np.empty(n, kind)
        c *= is_digit
        np.multiply(c, term.dtype.type(10**k), out=term, casting="unsafe")
        value += term
        live, is_digit = is_digit, live
        k += 1
    if int(value.max(initial=0)) > _EXACT:
        return None
    return value


def _decimals(padded: NDArray[np.uint8], ends: NDArray[np.intp], length: int, dots: bool,
              signs: bool, work: _Scratch) -> NDArray[Any] | None:
    """The fields before ``padded[_PAD + ends]`` (see :func:`_piece`; ``length`` bytes in
    all); every field's first character follows a separator or \\n. Without ``dots`` and
    ``signs`` (see :func:`_piece`) a cheaper loop suffices.

    A field is the integer M of its digits and f digits after the dot; M / 10^f is one
    correctly rounded division of two exact numbers (M ≤ 2^53, f ≤ 22), which is what
    ``float()`` returns. Every byte must be taken by some field, or be its separator: a byte
    that is neither (a letter, a space, "+", "e") ends its field early and so is counted out.
    """
    n = len(ends)
    value = work("value", n, np.uint16)  # the digits, a dot counted as a 0 digit: 10·I·10^f + F
    value[...] = 0
    if dots:
        after_dot = work("after_dot", n, np.uint16)  # F: the f digits after the dot
        after_dot[...] = 0
        frac = work("frac", n, np.uint8)  # f
        frac[...] = 0
        dot = work("dot", n, np.bool_)
        dot[...] = False
        before_dot = work("before_dot", n, np.bool_)
        at = work("at", n, np.uint8)
    else:
        after_dot = value
    if signs:
        neg = work("neg", n, np.bool_)
        neg[...] = False
        sign = work("sign", n, np.bool_)  # the field's "-" was the previous character
        sign[...] = False
    if dots or signs:
        has_digit = work("has_digit", n, np.bool_)
        has_digit[...] = False
    live = work("live", n, np.bool_)  # still reading the field, right to left
    live[...] = True
    is_digit = work("is_digit", n, np.bool_)
    step = work("step", n, np.bool_)
    c = work("c", n, np.uint8)
    term = work("term", n, np.uint16)
    taken = n  # bytes accounted for: the separators, then each field's characters
    for k in range(_CHARS + 2):
        np.take(padded[_PAD - 1 - k:], ends, out=c, mode="clip")  # k-th character from the right
        c -= 48  # digits → 0–9, "-" → 253, "." → 254; separators and \n → other values > 9
        np.less_equal(c, 9, out=is_digit)
        is_digit &= live
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
            np.logical_or(is_digit, is_dot, out=step)
        else:
            np.copyto(step, is_digit)
        if dots or signs:
            has_digit |= is_digit
        count = int(np.count_nonzero(step))
        if k == 0 and count != n and not (dots or signs):
            return None  # an empty field
        if count:
            if k >= _CHARS:
                return None  # too many digits to be certainly exact
            taken += count
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
        live, step = step, live  # (live's array is free for the next step)
    if signs:
        taken += int(np.count_nonzero(neg))
    if taken != length:
        return None  # some byte is not part of a plain decimal
    if (dots or signs) and not has_digit.all():
        return None  # "-" or "." without digits
    if dots:
        value -= after_dot  # 10·I·10^f, exactly
        value //= 10
        value += after_dot  # M = I·10^f + F
    if int(value.max(initial=0)) > _EXACT:
        return None
    if not (dots or signs):
        return value
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
    ordered = np.sort(values, axis=None)  # np.unique's, without its import of numpy.ma
    distinct = ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]
    return tuple(int(v) if v.is_integer() else v for v in distinct.tolist())


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


# Bytes of text per piece of read_plain: 1 MiB keeps a thread's work arrays (≈ 5 MB) in the
# cache, which 4 MiB did not (≈ 20% less time); a file whose header line is longer than
# 1/64 of that gets pieces of 64 header lines, so that wide rows still fit in one.
PIECE = 1 << 20
_PIECE_LINES = 64


class _Order:
    """The first row of each piece of :func:`read_plain`, known once every piece before it
    has counted its lines; a piece that fails stops the others waiting."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.first = [0]
        self._failed = False

    def first_row(self, index: int) -> int:
        with self._cond:
            self._cond.wait_for(lambda: self._failed or len(self.first) > index)
            if self._failed:
                raise _NotPlain
            return self.first[index]

    def counted(self, index: int, rows: int) -> None:
        with self._cond:
            self.first.append(self.first[index] + rows)
            self._cond.notify_all()

    def fail(self) -> None:
        with self._cond:
            self._failed = True
            self._cond.notify_all()


def workers() -> int:
    """Threads for :func:`read_plain`: the cores this process may use (at most 4)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


def read_plain(path: FileName, header: Sequence[str], delimiter: str,
               features: Sequence[int], targets: Sequence[int], dtype: type[np.floating],
               *, threads: int | None = None, piece: int | None = None
               ) -> tuple[Array, Array]:
    """Every data row of a plain numeric CSV file (as :func:`_plain_blocks` takes it) straight
    into the arrays train uses: ``inputs`` (m, len(features)) of ``dtype``, a view of
    [x 1] (m, len(features) + 1) whose last column is 1 (what :class:`fastpath.Model` takes
    without copying), and the ``targets`` columns' values (m, len(targets)) in float64.

    The file is read in pieces of ``piece`` bytes (whole lines; default :data:`PIECE`, or
    64 header lines if more), parsed by :func:`_piece` on
    ``threads`` threads (default :func:`workers`; numpy releases the GIL) and written to
    their rows as soon as the pieces before have counted theirs; nothing holds the whole text
    or a float64 copy of the table. :class:`_NotPlain` as :func:`_plain_blocks` (the caller
    reads the file the careful way), and also when a feature value is not exact in
    ``dtype`` (for float32: whole numbers beyond 2^24, most decimals), or a line is longer
    than a piece.
    """
    sep = _delimiter(delimiter)
    if sep in "0123456789.-" or not sep.isascii():
        raise _NotPlain
    code, width, n = ord(sep), len(header), len(features)
    with open(path, "rb") as stream:
        _header_line(stream, header, sep)
        if piece is None:
            piece = max(PIECE, _PIECE_LINES * stream.tell())
        size = os.fstat(stream.fileno()).st_size - stream.tell()
        capacity = size // (2 * width) + 1  # every field takes ≥ 2 bytes: untouched pages are free
        try:
            table = np.empty((capacity, n + 1), dtype)
            values = np.empty((capacity, len(targets)), np.float64)
        except MemoryError:
            raise _NotPlain from None
        order = _Order()
        local = threading.local()
        exact = float(2 ** (np.finfo(dtype).nmant + 1))  # whole numbers up to this are exact

        def parse(index: int, text: bytearray, stop: int) -> None:
            try:
                work = getattr(local, "work", None) or _Scratch()
                local.work = work
                padded = np.frombuffer(text, np.uint8, stop)
                value = _piece(padded, width, code, work, text.find(b".", _PAD, stop) >= 0,
                               text.find(b"-", _PAD, stop) >= 0)
                if value is None:
                    raise _NotPlain
                rows = len(value) // width
                first = order.first_row(index)
                order.counted(index, rows)
                block = value.reshape(rows, width)
                chosen = _take(block, features)
                out = table[first:first + rows]
                out[:, :n] = chosen
                out[:, n] = 1
                values[first:first + rows] = _take(block, targets)
                if value.dtype.kind == "u":
                    if chosen.size and float(chosen.max()) > exact:
                        raise _NotPlain
                elif not np.array_equal(out[:, :n], chosen):
                    raise _NotPlain  # a decimal that dtype rounds
            except BaseException:
                order.fail()
                raise

        free: list[bytearray] = []
        pending: deque[tuple[Future[None], bytearray]] = deque()
        count = threads or workers()
        carry = b""
        index = 0
        with ThreadPoolExecutor(count) as pool:
            try:
                while True:
                    text = free.pop() if free else bytearray(sep.encode() * _PAD
                                                             + bytes(2 * piece + 1))
                    start = _PAD + len(carry)
                    text[_PAD:start] = carry
                    got = stream.readinto(memoryview(text)[start:start + piece])
                    end = start + got
                    if not got:
                        if not carry:
                            break
                        text[end] = 10  # the last line without its \n
                        stop = end = end + 1
                    else:
                        stop = text.rfind(b"\n", _PAD, end) + 1
                        if not stop and end - _PAD > piece:
                            raise _NotPlain  # a line longer than a piece
                        if not stop:  # the last line, without its \n: read on to the end
                            carry = bytes(text[_PAD:end])
                            free.append(text)
                            continue
                    carry = bytes(text[stop:end])
                    pending.append((pool.submit(parse, index, text, stop), text))
                    index += 1
                    if len(pending) > count:
                        done, buffer = pending.popleft()
                        done.result()
                        free.append(buffer)
                    if not got:
                        break
                for done, _ in pending:
                    done.result()
            except BaseException:
                order.fail()
                raise
    m = order.first[-1]
    if not m:
        raise _NotPlain  # no data rows: the careful reader says so
    return table[:m, :n], values[:m]
