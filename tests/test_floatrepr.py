"""floatrepr: numpy's text of many floats is Python's repr, bit pattern for bit pattern."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from backprop_cli.present.floatrepr import CHUNK, WIDTH, _shortest, repr_matrix, repr_texts


def assert_repr(values: np.ndarray) -> None:
    expected = [repr(v) for v in values.tolist()]
    got = repr_texts(values)
    wrong = [(e, g) for e, g in zip(expected, got, strict=True) if e != g]
    assert not wrong, wrong[:5]


def test_special_values() -> None:
    values = np.array([
        0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 2 / 3, 1e-4, 9.999999999999999e-05, 1e-05, 1.5e-05,
        0.00012345678901234567, 1e15, 1e16, 9999999999999998.0, 1.2345678901234567e16,
        123456789012345.67, 2.0**53, 2.0**54 - 2, 2.0**54, 1e22, 1e23, 5e-324, 1e-323,
        2.2250738585072014e-308, 2.225073858507201e-308, 1.7976931348623157e308, 1e300,
        -1e-300, 0.30000000000000004, 100.0, 4503599627370500.0, 123.0, 123.5, 1.25e-7,
        np.inf, -np.inf, np.nan])
    assert_repr(values)
    assert repr_texts(np.array([1.5, np.inf, -np.inf, np.nan]), "null") == [
        "1.5", "null", "null", "null"]


def test_zeros_and_non_finite_among_many() -> None:
    """±0.0 (from a table) and NaN/±inf (by repr, or ``nonfinite``) in long arrays, over
    several of repr_matrix's chunks."""
    values = np.random.default_rng(7).standard_normal(3 * CHUNK + 5)
    values[::3] = 0.0
    values[1::7] = -0.0
    values[2::11] = np.nan
    values[5::13] = -np.inf
    assert_repr(values)
    texts = repr_texts(values, "null")
    assert texts[:6] == ["0.0", "-0.0", "null", "0.0", repr(float(values[4])), "null"]
    assert texts.count("null") == np.count_nonzero(~np.isfinite(values))


@pytest.mark.parametrize("scale", [1.0, 0.05, 1e-6, 1e12, 1e-200, 1e200])
def test_random_normals(scale: float) -> None:
    rng = np.random.default_rng(int(-np.log10(scale)) + 500)
    assert_repr(rng.standard_normal(20_000) * scale)


def test_random_bit_patterns_and_every_exponent() -> None:
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2**64, 100_000, dtype=np.uint64, endpoint=False)
    # Every binary exponent with the smallest, largest and a random mantissa.
    exponents = np.arange(2048, dtype=np.uint64) << np.uint64(52)
    mantissas = [np.uint64(0), np.uint64(1), np.uint64((1 << 52) - 1),
                 np.uint64(1 << 51), rng.integers(0, 1 << 52, dtype=np.uint64)]
    edges = np.concatenate([exponents | m for m in mantissas])
    assert_repr(np.concatenate([bits, edges]).view(np.float64))


def test_short_decimals() -> None:
    """Floats read from short decimals: the shortest text is the decimal itself (Ryu's digit
    removal and the rounding of the last digit)."""
    rng = np.random.default_rng(1)
    digits = rng.integers(1, 10 ** rng.integers(1, 18, 20_000))
    exponents = rng.integers(-330, 310, 20_000)
    assert_repr(np.array([float(f"{d}e{e}") for d, e in zip(digits.tolist(),
                                                            exponents.tolist(), strict=True)]))


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, st.integers(1, 40), elements=st.floats(allow_subnormal=True)))
def test_any_floats(values: np.ndarray) -> None:
    assert_repr(values)


def test_rows_are_text_with_nul_padding() -> None:
    matrix = repr_matrix(np.array([-0.001, 12.5, 3e-300]))
    assert matrix.shape == (3, WIDTH) and matrix.dtype == np.uint8
    assert matrix.tobytes().translate(None, b"\0") == b"-0.00112.53e-300"


def test_the_fast_path_writes_most_floats() -> None:
    """Every test above compares with repr, which also writes the floats the fast path leaves
    out: they would pass if it never ran. It runs for ≈ all floats of typical size and for
    every subnormal; the shortest digits it finds are those of repr."""
    x = np.concatenate([np.random.default_rng(2).standard_normal(10_000),
                        np.array([5e-324, 1e-310, 0.1, 2 / 3, 123.456])])
    ok, digits, e10 = _shortest(np.abs(x).view(np.uint64))  # of |x|: no sign bit
    assert ok.mean() > 0.99 and ok[-5:].all()
    for value, d, e in zip(x[ok].tolist()[-5:], digits[ok].tolist()[-5:],
                           e10[ok].tolist()[-5:], strict=True):
        assert float(f"{d}e{e}") == abs(value)
        assert str(d) == repr(value).replace("-", "").split("e")[0].replace(".", "").lstrip("0")
