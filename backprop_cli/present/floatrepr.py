"""``repr`` of many float64 at once, in numpy: the text of NDJSON and CSV rows and of the
JSON document's arrays.

Python writes a float as the shortest decimal that reads back as the same float (the nearest one
if several are as short), positional from 1e-4 to 1e16 and scientific outside (``1e-05``,
``1.5e+16``). Python's own routine (dtoa) costs ≈ 0.4 µs per 17-digit float, most of the time of
writing large analyses; here the digits come from Ryu (Ulf Adams, "Ryu: fast float-to-string
conversion", PLDI 2018) computed on whole arrays, for the floats its common case covers (≈ 99%
of random floats: below 2⁵⁴ and not a short binary fraction such as 0.0, 0.5 or 3.0); ≈ 0.07 µs
a float. The rest (those, inf, NaN, and the rare float whose rounding the 64 bits kept here
cannot decide) are written by ``repr`` itself, ±0.0 from a table. tests/test_floatrepr.py
compares the two on random bit patterns, every binary exponent and short decimals.

The result is a (n, WIDTH) uint8 matrix: row i is the ASCII text of ``repr(values[i])`` with NUL
bytes between and around its parts, so that deleting every NUL byte
(``bytes.translate(None, b"\\0")``) gives the text; rows can be laid side by side with other
NUL-padded fields and the whole line block cleaned at once.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.typing import NDArray

from backprop_cli.network import Array

U8 = NDArray[np.uint8]
U64 = NDArray[np.uint64]

WIDTH = 32
# The columns of a row: the sign (0), "0." and up to three zeros (1–5: positional, |x| < 1),
# the digits with the point among them or "ddd.0" (from _FIRST: 17 digits and a point at
# most), the exponent "e-05" (from _EXP). The 17 digits d0 … d16 (a float's shortest digits
# and zeros after them) are laid twice, d_i in column _FIRST + i and in _FIRST + 1 + i: those
# before the point are taken from the first copy, those after it from the second.
_FIRST, _EXP = 7, 25
_DIGITS = 17
_M32 = np.uint64(0xFFFFFFFF)
_POW10 = np.array([10**i for i in range(20)], dtype=np.uint64)
_DECPT_MIN, _DECPT_MAX = -330, 320  # the decimal point positions the frame table covers
# Floats formatted at a time, for the ≈ 40 temporary arrays of 8 bytes a float: in blocks of
# 2¹⁵ or more the allocator may map fresh pages for each of them (a process that made no
# larger array before pays as much in page faults as in arithmetic); below 2¹³ numpy's cost
# per call shows.
CHUNK = 1 << 14


class _Exponents:
    """Ryu's constants per biased binary exponent (0–2047; from its d2s.c, branch e2 < 0:
    |x| < 2⁵⁴; larger floats and those whose product is exact are left to repr): ``fast``,
    whether the common case may apply; ``e10``; ``limbs``, the 125-bit power of 5 in 32-bit
    limbs; ``right`` = j − 64 and ``left`` = 128 − j for the shift by j; ``zeros``, the mask of
    the low bits of 4·m2 that must not all be 0; ``up`` and ``up_frac``: floor(2·mul / 2^j)
    and the next 64 bits of 2·mul / 2^j, for vp; ``down`` and ``down_frac`` (index 2·exponent + s, s
    Ryu's mmShift): the same for (1 + s)·mul, for vm."""

    def __init__(self) -> None:
        cols = np.zeros((2048, 10), dtype=np.uint64)
        down = np.zeros((4096, 2), dtype=np.uint64)
        fast = np.zeros(2048, dtype=bool)
        e10 = np.zeros(2048, dtype=np.int64)
        for ex in range(2047):
            e2 = (ex if ex else 1) - 1023 - 52 - 2
            if e2 >= 0:
                continue
            q = ((-e2 * 732923) >> 20) - (-e2 > 1)  # log10Pow5(-e2) - (-e2 > 1)
            if q <= 1:  # the product is exact: Ryu's general case
                continue
            pow5 = 5 ** (-e2 - q)
            shift = pow5.bit_length() - 125
            mul = pow5 >> shift if shift >= 0 else pow5 << -shift
            j = q - shift
            assert 64 < j < 128

            fast[ex], e10[ex] = True, q + e2
            cols[ex] = [mul & 0xFFFFFFFF, (mul >> 32) & 0xFFFFFFFF, (mul >> 64) & 0xFFFFFFFF,
                        mul >> 96, j - 64, 128 - j, (1 << min(q, 63)) - 1, *_split(2 * mul, j), 0]
            down[2 * ex], down[2 * ex + 1] = _split(mul, j), _split(2 * mul, j)
        self.fast, self.e10 = fast, e10
        self.limbs = [np.ascontiguousarray(cols[:, c]) for c in range(4)]
        self.right, self.left, self.zeros, self.up, self.up_frac = (
            np.ascontiguousarray(cols[:, c]) for c in range(4, 9))
        self.down, self.down_frac = (np.ascontiguousarray(down[:, c]) for c in range(2))


def _split(c: int, j: int) -> list[int]:
    """floor(c / 2^j) and the 64 bits after the binary point."""
    return [c >> j, (c & ((1 << j) - 1)) >> (j - 64)]


@cache
def _exponents() -> _Exponents:
    return _Exponents()


def _product(m: U64, limbs: list[U64], right: U64, left: U64) -> tuple[U64, U64]:
    """(floor(m · mul / 2^j), the next 64 bits), exactly, for m < 2⁵⁵, mul < 2¹²⁵ in four
    32-bit limbs, 64 < j < 128 (``right`` = j − 64, ``left`` = 128 − j): numpy has no 128-bit
    product."""
    l0, l1, h0, h1 = limbs
    m0, m1 = m & _M32, m >> np.uint64(32)
    p00, p01, p10, p02, p11, p03, p12 = m0 * l0, m0 * l1, m1 * l0, m0 * h0, m1 * l1, \
        m0 * h1, m1 * h0
    s = (p00 >> np.uint64(32)) + (p01 & _M32) + (p10 & _M32)
    word0 = (p00 & _M32) | (s << np.uint64(32))
    s = (s >> np.uint64(32)) + (p01 >> np.uint64(32)) + (p10 >> np.uint64(32)) \
        + (p02 & _M32) + (p11 & _M32)
    word1 = s & _M32
    s = (s >> np.uint64(32)) + (p02 >> np.uint64(32)) + (p11 >> np.uint64(32)) \
        + (p03 & _M32) + (p12 & _M32)
    word1 |= s << np.uint64(32)
    word2 = (s >> np.uint64(32)) + (p03 >> np.uint64(32)) + (p12 >> np.uint64(32)) + m1 * h1
    return (word1 >> right) | (word2 << left), (word0 >> right) | (word1 << left)


def _shortest(bits: U64) -> tuple[NDArray[np.bool_], U64, NDArray[np.int64]]:
    """(ok, digits, e10): where ``ok``, the shortest decimal of the positive float with these
    bits is ``digits`` · 10^e10 (Ryu's common case); elsewhere it is left to repr."""
    t = _exponents()
    ex = (bits >> np.uint64(52)).astype(np.intp)
    mant = bits & np.uint64((1 << 52) - 1)
    mv = np.where(ex != 0, mant | np.uint64(1 << 52), mant) << np.uint64(2)
    ok = np.take(t.fast, ex) & ((mv & np.take(t.zeros, ex)) != 0)
    vr, frac = _product(mv, [np.take(limb, ex) for limb in t.limbs], np.take(t.right, ex),
                        np.take(t.left, ex))
    # vp = floor((4·m2 + 2)·mul / 2^j) and vm = floor((4·m2 − 1 − s)·mul / 2^j) from vr and
    # the fraction of 4·m2·mul / 2^j: adding 2·mul carries, subtracting (1 + s)·mul borrows,
    # by comparing 64-bit fractions; when they are equal the bits below decide: such floats go
    # to repr.
    up_frac = ~np.take(t.up_frac, ex)
    vp = vr + np.take(t.up, ex) + (frac > up_frac)
    down = 2 * ex + ((mant != 0) | (ex <= 1))
    down_frac = np.take(t.down_frac, down)
    vm = vr - np.take(t.down, down) - (frac < down_frac)
    ok &= (frac != up_frac) & (frac != down_frac)
    # Two digits at once first, as Ryu does: ≈ 86% of floats have two or more to drop.
    hundred = np.uint64(100)
    vp100, vm100 = vp // hundred, vm // hundred
    two = vp100 > vm100
    vr100 = vr // hundred
    up = two & (vr - vr100 * hundred >= np.uint64(50))
    vr, vp, vm = np.where(two, vr100, vr), np.where(two, vp100, vp), np.where(two, vm100, vm)
    removed = two * np.int64(2)
    _remove_digits(vr, vp, vm, up, removed, len(vr) // 2)
    digits = vr + ((vr == vm) | up)
    return ok, digits, np.take(t.e10, ex) + removed


def _remove_digits(vr: U64, vp: U64, vm: U64, up: NDArray[np.bool_],
                   removed: NDArray[np.int64], few: int) -> None:
    """In place: drop the last digit of vr, vp, vm while the interval (vm, vp] holds a
    multiple of 10; ``up``: whether the last digit dropped from vr was ≥ 5; ``removed``: how
    many. A lane that stops never goes on (floor(vp/10) ≤ floor(vm/10) stays so), so the
    lanes are updated under a mask, and the last few lanes alone."""
    ten = np.uint64(10)
    while True:
        vp10, vm10 = vp // ten, vm // ten
        go = vp10 > vm10
        active = int(np.count_nonzero(go))
        if active == 0:
            return
        if active < few and active < len(go):
            lanes = np.flatnonzero(go)
            sub = vr[lanes], vp[lanes], vm[lanes], up[lanes], removed[lanes]
            _remove_digits(*sub, few=0)
            vr[lanes], vp[lanes], vm[lanes], up[lanes], removed[lanes] = sub
            return
        vr10 = vr // ten
        np.copyto(up, (vr - vr10 * ten) >= np.uint64(5), where=go)
        np.copyto(vr, vr10, where=go)
        np.copyto(vp, vp10, where=go)
        np.copyto(vm, vm10, where=go)
        removed += go


def _digit_groups() -> NDArray[np.uint32]:
    """The ASCII text of 0000 … 9999, four bytes each (the first digit first), as uint32."""
    n = np.arange(10_000)
    digits = np.stack([n // 1000, n // 100 % 10, n // 10 % 10, n % 10], axis=1) + ord("0")
    return np.ascontiguousarray(digits, dtype=np.uint8).view(np.uint32).ravel()


_GROUPS = _digit_groups()
_SCALE = _POW10.astype(np.int64)[_DIGITS - np.arange(_DIGITS + 1)]  # by digit count: 10^(17−n)


@cache
def _frame_rows() -> tuple[U64, NDArray[np.bool_]]:
    """The frame table, (3, rows, WIDTH / 8) uint64: row 2 · ((decpt − _DECPT_MIN) · 17 + n −
    1) + sign is for a float of n digits whose decimal point is after digit ``decpt`` (value
    ±0.d₁d₂… · 10^decpt): [0] keeps the columns of the first copy of the digits that are
    shown, [1] those of the second copy, [2] holds the other characters (sign, "0.", point,
    exponent). Rows are filled on first use (:func:`_frames`)."""
    rows = (_DECPT_MAX - _DECPT_MIN + 1) * _DIGITS * 2
    return np.zeros((3, rows, WIDTH // 8), dtype=np.uint64), np.zeros(rows, dtype=bool)


def _frames(keys: NDArray[np.intp]) -> U64:
    table, built = _frame_rows()
    if np.take(built, keys).all():
        return table
    rows = table.view(np.uint8)
    missing = np.flatnonzero(~built & (np.bincount(keys, minlength=built.size) > 0))
    for key in missing.tolist():
        rest, negative = divmod(key, 2)
        decpt, n = divmod(rest, _DIGITS)
        decpt, n = decpt + _DECPT_MIN, n + 1
        first, second, chars = rows[:, key]
        if negative:
            chars[0] = ord("-")
        if decpt <= -4 or decpt > 16:  # d.ddde±XX
            first[_FIRST] = 0xFF
            if n > 1:
                chars[_FIRST + 1] = ord(".")
                second[_FIRST + 2:_FIRST + 1 + n] = 0xFF
            exp = f"e{decpt - 1:+03d}".encode()
            chars[_EXP:_EXP + len(exp)] = np.frombuffer(exp, dtype=np.uint8)
        elif decpt <= 0:  # 0.00ddd
            chars[1:3 - decpt] = np.frombuffer(b"0." + b"0" * -decpt, dtype=np.uint8)
            first[_FIRST:_FIRST + n] = 0xFF
        else:  # dd.ddd or ddd.0
            first[_FIRST:_FIRST + decpt] = 0xFF
            chars[_FIRST + decpt] = ord(".")
            if decpt == n:
                chars[_FIRST + n + 1] = ord("0")
            else:
                second[_FIRST + 1 + decpt:_FIRST + 1 + n] = 0xFF
        built[key] = True
    return table


def repr_matrix(values: Array, nonfinite: str | None = None) -> U8:
    """(n,) float64 → (n, WIDTH) uint8: row i is ``repr(float(values[i]))`` (``nonfinite``
    instead for NaN and ±inf, if given) with NUL bytes in between."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    n = values.shape[0]
    words = np.empty((n, WIDTH // 8), dtype=np.uint64)
    ok = np.empty(n, dtype=bool)
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        _repr_words(values[start:stop], words[start:stop], ok[start:stop])
    out: U8 = words.view(np.uint8)
    others = np.flatnonzero(~ok)
    if others.size:
        # ±0.0 (most of a matrix of products with a(l−1)k = 0) from a table, the rest by repr
        signs = values[others].view(np.uint64) >> np.uint64(63)
        zero = values[others] == 0
        out[others[zero]] = _ZEROS[signs[zero]]
        others = others[~zero]
        items: list[float] = values[others].tolist()
        texts = [repr(v) for v in items]
        if nonfinite is not None:
            texts = [t if np.isfinite(v) else nonfinite for t, v in zip(texts, items,
                                                                         strict=True)]
        fixed = np.array([t.encode("ascii") for t in texts], dtype=f"S{WIDTH}")
        out[others] = fixed.view(np.uint8).reshape(-1, WIDTH)
    return out


_ZEROS = np.array([b"0.0", b"-0.0"], dtype=f"S{WIDTH}").view(np.uint8).reshape(2, WIDTH)


def _repr_words(values: Array, words: U64, ok: NDArray[np.bool_]) -> None:
    """The rows of :func:`repr_matrix` as (n, WIDTH / 8) uint64 ``words``, where ``ok`` is set
    (the others are left to repr)."""
    bits = values.view(np.uint64)
    fast, digits, e10 = _shortest(bits & np.uint64((1 << 63) - 1))
    size = np.searchsorted(_POW10, digits, side="right")  # number of digits
    decpt = size + e10
    fast &= (size <= _DIGITS) & ((decpt <= size) | (decpt > 16)) & (decpt >= _DECPT_MIN) \
        & (decpt <= _DECPT_MAX)
    ok[:] = fast
    keys = np.where(fast, ((decpt - _DECPT_MIN) * _DIGITS + size - 1) * 2
                    + (bits >> np.uint64(63)).astype(np.intp), 0)
    table = _frames(keys)
    # The 17 digits (the shortest ones, then zeros): the first, then four groups of four, as
    # text in columns _FIRST … _FIRST + 16 of ``first``.
    d = np.where(fast, digits, np.uint64(0)).view(np.int64) * np.take(_SCALE, size, mode="clip")
    lead = d // 10**16
    d -= lead * 10**16
    high = d // 10**8
    low = d - high * 10**8
    first = np.empty_like(words)  # the columns left out are masked below
    text = first.view(np.uint32)
    text[:, 1] = np.take(_GROUPS, lead)  # "000" and d0 in column _FIRST
    group = high // 10**4
    text[:, 2] = np.take(_GROUPS, group)
    text[:, 3] = np.take(_GROUPS, high - group * 10**4)
    group = low // 10**4
    text[:, 4] = np.take(_GROUPS, group)
    text[:, 5] = np.take(_GROUPS, low - group * 10**4)
    # The second copy: one column to the right (bytes are little-endian in a word).
    flat = first.reshape(-1)
    second = flat << np.uint64(8)
    second[1:] |= flat[:-1] >> np.uint64(56)
    np.take(table[0], keys, axis=0, out=words)
    words &= first
    second &= np.take(table[1], keys, axis=0).reshape(-1)
    words |= second.reshape(words.shape)
    words |= np.take(table[2], keys, axis=0)


def repr_texts(values: Array, nonfinite: str | None = None) -> list[str]:
    """:func:`repr_matrix` as a list of str (for tests and small arrays)."""
    matrix = repr_matrix(values, nonfinite)
    return [bytes(row).translate(None, b"\0").decode("ascii") for row in matrix]
