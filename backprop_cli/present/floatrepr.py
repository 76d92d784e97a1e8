"""``repr`` of many float64 at once, in numpy: the text of NDJSON and CSV rows.

Python writes a float as the shortest decimal that reads back as the same float (the nearest one
if several are as short), positional from 1e-4 to 1e16 and scientific outside (``1e-05``,
``1.5e+16``). Python's own routine (dtoa) costs ≈ 0.4 µs per 17-digit float, most of the time of
writing large analyses; here the digits come from Ryu (Ulf Adams, "Ryu: fast float-to-string
conversion", PLDI 2018) computed on whole arrays, for the floats its common case covers (≈ 99%
of random floats: below 2⁵⁴ and not a short binary fraction such as 0.0, 0.5 or 3.0); ≈ 0.1 µs
a float. The rest (those, inf, NaN, and the rare float whose rounding the 64 bits kept here
cannot decide) are written by ``repr`` itself. tests/test_floatrepr.py compares the two on
random bit patterns, every binary exponent and short decimals.

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

WIDTH = 48
# The fields of a row: the sign, "0." and up to three zeros (positional, |x| < 1), the digits
# before the point, the point, the digits after it, the "0" of "123.0", the exponent "e-05".
# The digit columns hold the digit's value (0–9) until the frame adds "0" (0x30) to them.
_SIGN, _ZERO_DOT, _INT, _DOT, _FRAC, _TRAIL, _EXP = 0, 1, 6, 23, 24, 41, 42
_DIGITS = 17
_M32 = np.uint64(0xFFFFFFFF)
_POW10 = np.array([10**i for i in range(20)], dtype=np.uint64)
_DECPT_MIN, _DECPT_MAX = -330, 320  # the decimal point positions the frame table covers


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
    removed = np.zeros(bits.shape[0], dtype=np.int64)
    up = np.zeros(bits.shape[0], dtype=bool)
    _remove_digits(vr, vp, vm, up, removed, len(vr) // 8)
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


@cache
def _frame_rows() -> tuple[U64, U64, NDArray[np.bool_]]:
    """The frame table, as (rows, WIDTH / 8) uint64: row 2 · ((decpt − _DECPT_MIN) · 17 + n −
    1) + sign holds the characters of a float of n digits whose decimal point is after digit
    ``decpt`` (value ±0.d₁d₂… · 10^decpt), with 0x30 in its digit columns, and the mask that
    keeps those columns' digit values (0x0F) and clears the others. Rows are filled on first
    use (:func:`_frames`)."""
    rows = (_DECPT_MAX - _DECPT_MIN + 1) * _DIGITS * 2
    return (np.zeros((rows, WIDTH // 8), dtype=np.uint64),
            np.zeros((rows, WIDTH // 8), dtype=np.uint64), np.zeros(rows, dtype=bool))


def _frames(keys: NDArray[np.intp]) -> tuple[U64, U64]:
    chars64, masks64, built = _frame_rows()
    chars, masks = chars64.view(np.uint8), masks64.view(np.uint8)
    missing = np.flatnonzero(~built & (np.bincount(keys, minlength=built.size) > 0))
    for key in missing.tolist():
        rest, negative = divmod(key, 2)
        decpt, n = divmod(rest, _DIGITS)
        decpt, n = decpt + _DECPT_MIN, n + 1
        row, mask = chars[key], masks[key]
        scientific = decpt <= -4 or decpt > 16
        before = 1 if scientific else max(decpt, 0)  # digits before the point
        first = _DIGITS - n  # the digits are right-aligned in their 17 columns
        for digits in (slice(_INT + first, _INT + first + before),
                       slice(_FRAC + first + before, _FRAC + _DIGITS)):
            row[digits], mask[digits] = 0x30, 0x0F
        if negative:
            row[_SIGN] = ord("-")
        if scientific:
            if n > 1:
                row[_DOT] = ord(".")
            exp = f"e{decpt - 1:+03d}".encode()
            row[_EXP:_EXP + len(exp)] = np.frombuffer(exp, dtype=np.uint8)
        elif decpt <= 0:
            row[_ZERO_DOT:_ZERO_DOT + 2 - decpt] = np.frombuffer(b"0." + b"0" * -decpt,
                                                                dtype=np.uint8)
        else:
            row[_DOT] = ord(".")
            if decpt == n:
                row[_TRAIL] = ord("0")
        built[key] = True
    return chars64, masks64


def repr_matrix(values: Array, nonfinite: str | None = None) -> U8:
    """(n,) float64 → (n, WIDTH) uint8: row i is ``repr(float(values[i]))`` (``nonfinite``
    instead for NaN and ±inf, if given) with NUL bytes in between."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    n = values.shape[0]
    bits = values.view(np.uint64)
    ok, digits, e10 = _shortest(bits & np.uint64((1 << 63) - 1))
    size = np.searchsorted(_POW10, digits, side="right")  # number of digits
    decpt = size + e10
    ok &= (size <= _DIGITS) & ((decpt <= size) | (decpt > 16)) & (decpt >= _DECPT_MIN) \
        & (decpt <= _DECPT_MAX)
    keys = np.where(ok, ((decpt - _DECPT_MIN) * _DIGITS + size - 1) * 2
                    + (bits >> np.uint64(63)).astype(np.intp), 0)
    chars, masks = _frames(keys)
    out = np.empty((n, WIDTH), dtype=np.uint8)
    # The digits, right-aligned, twice: before the point and after it (the frame keeps one).
    rest = np.where(ok, digits, np.uint64(0))
    for col in range(_DIGITS - 1, -1, -1):
        tens = rest // np.uint64(10)
        out[:, _INT + col] = rest - tens * np.uint64(10)
        rest = tens
    out[:, _FRAC:_FRAC + _DIGITS] = out[:, _INT:_INT + _DIGITS]
    words = out.view(np.uint64)
    words &= np.take(masks, keys, axis=0)
    words |= np.take(chars, keys, axis=0)
    others = np.flatnonzero(~ok)
    if others.size:
        items: list[float] = values[others].tolist()
        texts = [repr(v) for v in items]
        if nonfinite is not None:
            texts = [t if np.isfinite(v) else nonfinite for t, v in zip(texts, items,
                                                                         strict=True)]
        fixed = np.array([t.encode("ascii") for t in texts], dtype=f"S{WIDTH}")
        out[others] = fixed.view(np.uint8).reshape(-1, WIDTH)
    return out


def repr_texts(values: Array, nonfinite: str | None = None) -> list[str]:
    """:func:`repr_matrix` as a list of str (for tests and small arrays)."""
    matrix = repr_matrix(values, nonfinite)
    return [bytes(row).translate(None, b"\0").decode("ascii") for row in matrix]
