"""The plain CSV reader's path for whole numbers (digits and separators only, as MNIST's
pixels) and the scaling fitted and applied on several threads: the same arrays, bit for bit,
as the careful reader and a single pass; a file that is not plain the careful reader's message
(file:line:column) and exit 2."""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory
from unittest import mock

import numpy as np
import pytest
from conftest import invoke
from hypothesis import given, settings
from hypothesis import strategies as st
from test_train import NET

from backprop_cli.errors import DataError
from backprop_cli.io import csv_fast, training_data
from backprop_cli.io import datasets as data
from backprop_cli.io.config import loads_network
from backprop_cli.network import Preprocessing

HEADER = ("x1", "x2", "x3", "y1", "y2")

# whole numbers as files hold them: mostly 1–3 digits, some leading zeros, up to 20 digits
# (beyond 2^53 the fast path refuses and the careful reader reads them)
_DIGITS = st.one_of(st.integers(0, 255).map(str), st.integers(0, 10**6).map(str),
                    st.text("0123456789", min_size=1, max_size=20))


@st.composite
def _tables(draw: st.DrawFn, width: int) -> list[list[str]]:
    rows = draw(st.integers(1, 40))
    return [[draw(_DIGITS) for _ in range(width)] for _ in range(rows)]


def _text(rows: list[list[str]], sep: str = ",", end: str = "\n") -> str:
    return "\n".join([sep.join(HEADER), *(sep.join(row) for row in rows)]) + end


def _careful(path: Path, dtype: type[np.floating] = np.float64) -> data.Dataset:
    """load_dataset with the fast readers turned away: the careful reader alone."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise csv_fast._NotPlain

    with mock.patch.object(data, "read_plain", refuse), \
            mock.patch.object(data, "_plain_blocks", refuse):
        return data.load_dataset(path, loads_network(NET), target="y1,y2", dtype=dtype)


def _outcome(load: object) -> tuple[str, object]:
    """("rows", (inputs, targets)) or ("error", its message) of calling ``load``."""
    try:
        ds = load()  # type: ignore[operator]
    except DataError as exc:
        return "error", str(exc)
    return "rows", (ds.inputs, ds.targets)


def _same(fast: tuple[str, object], careful: tuple[str, object]) -> None:
    assert fast[0] == careful[0], (fast, careful)
    if fast[0] == "error":
        assert fast[1] == careful[1]
        return
    (x, y), (cx, cy) = fast[1], careful[1]  # type: ignore[misc]
    # The careful reader gives float64; the fast one the dtype asked for, where every value is
    # exact in it (datasets.load_dataset): the same numbers, bit for bit, once in float64.
    assert cx.dtype == np.float64 and x.dtype in (np.float64, np.float32)
    assert x.astype(np.float64).view(np.uint64).tolist() == cx.view(np.uint64).tolist()
    assert y.view(np.uint64).tolist() == cy.view(np.uint64).tolist()


@settings(max_examples=60, deadline=None)
@given(_tables(5), st.sampled_from([",", "\t", ";"]), st.booleans(),
       st.integers(1, 3), st.sampled_from([16, 64, csv_fast.PIECE]))
def test_whole_numbers_read_as_float_reads_them_bit_for_bit(
        rows: list[list[str]], sep: str, last_newline: bool, threads: int, piece: int) -> None:
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.csv"
        path.write_text(_text(rows, sep, "\n" if last_newline else ""), encoding="utf-8")
        expected = np.array([[float(v) for v in row] for row in rows])
        exact = all(int(v) <= 2**53 for row in rows for v in row)
        try:
            x, y = csv_fast.read_plain(path, HEADER, sep, (0, 1, 2), (3, 4), np.float64,
                                       threads=threads, piece=piece)
        except csv_fast._NotPlain:
            # above 2^53 (or a line longer than a tiny piece) the careful reader reads it
            assert not exact or max(len(sep.join(r)) for r in rows) + 1 > piece
        else:
            assert x.view(np.uint64).tolist() == expected[:, :3].view(np.uint64).tolist()
            assert y.view(np.uint64).tolist() == expected[:, 3:].view(np.uint64).tolist()
        if sep == ",":
            _same(_outcome(lambda: data.load_dataset(path, loads_network(NET),
                                                     target="y1,y2")),
                  _outcome(lambda: _careful(path)))


@settings(max_examples=40, deadline=None)
@given(_tables(5), st.data(), st.sampled_from(
    ["", " 1", "1 ", "+1", "-1", "1.5", "1e3", "0x1", "a", '"7"', "1,2", "١", "1\r", "inf"]))
def test_a_field_that_is_not_a_whole_number_is_read_or_named_as_the_careful_reader_does(
        rows: list[list[str]], draw: st.DataObject, bad: str) -> None:
    row = draw.draw(st.integers(0, len(rows) - 1))
    rows[row][draw.draw(st.integers(0, 4))] = bad
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.csv"
        path.write_text(_text(rows), encoding="utf-8")
        for dtype in (np.float64, np.float32):
            _same(_outcome(lambda: data.load_dataset(path, loads_network(NET), target="y1,y2",
                                                     dtype=dtype)),  # noqa: B023
                  _outcome(lambda: _careful(path, dtype)))  # noqa: B023


def test_whole_piece_refuses_what_is_not_digits_and_separators() -> None:
    def piece(text: bytes, width: int) -> object:
        padded = np.frombuffer(b"," * csv_fast._PAD + text, np.uint8)
        return csv_fast._piece(padded, width, ord(","), csv_fast._Scratch(), False, False)

    got = piece(b"0,255,007\n12345,65536,4294967296\n", 3)
    assert isinstance(got, np.ndarray) and got.tolist() == [0, 255, 7, 12345, 65536, 2**32]
    assert piece(b"9007199254740993,1\n", 2) is None  # 2^53 + 1: not certainly exact
    assert piece(b"1" * 20 + b",1\n", 2) is None  # too many digits
    for bad in (b"1,,2\n", b",1,2\n", b"1,2,\n", b"1,2 ,3\n", b"1,2#,3\n", b"1,+2,3\n"):
        assert piece(bad, 3) is None, bad


def test_a_bad_cell_in_a_whole_number_file_exits_2_naming_line_and_column(
        tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = [[str(v) for v in row] for row in rng.integers(0, 256, (3000, 5))]
    rows[2400][1] = "12a"
    net = tmp_path / "net.yaml"
    net.write_text(NET, encoding="utf-8")
    path = tmp_path / "d.csv"
    path.write_text(_text(rows), encoding="utf-8")
    result = invoke("train", net, path, "--target", "y1,y2", "--epochs", "1", "--dtype",
                    "float32", "-o", tmp_path / "out.yaml", "--quiet")
    assert result.exit_code == 2
    assert f"{path}:2402:2:" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == "" and not (tmp_path / "out.yaml").exists()


def test_scaling_on_threads_equals_one_pass_bit_for_bit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training_data, "workers", lambda: 3)
    rng = np.random.default_rng(5)
    m, n = 30_000, 200  # 200 columns and 30 blocks of rows: three threads
    x = rng.integers(0, 256, (m, n)).astype(np.float32)
    x[:, 7] = 3  # a constant column
    x[:, 9] *= 0.25
    wide = x.astype(np.float64)
    for method in ("standard", "minmax"):
        shift, scale = training_data._fit_scaling(x, method, tuple(map(str, range(n))),
                                                  tuple(range(n)), "d.csv", "feature", "-n")
        assert shift is not None and scale is not None
        if method == "standard":
            expected = wide.mean(axis=0), wide.std(axis=0)
        else:
            expected = wide.min(axis=0), wide.max(axis=0) - wide.min(axis=0)
        assert np.array_equal(shift, expected[0])
        assert np.array_equal(scale, np.where(expected[1] > 0, expected[1], 1.0))
        pre = Preprocessing(tuple(map(str, range(n))), (), method, shift, scale)
        scaled = training_data._scaled(x.copy(), pre, "d.csv", None)
        assert np.array_equal(scaled, ((wide - shift) / scale).astype(np.float32))


def test_scaling_on_threads_names_the_first_row_that_overflows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training_data, "workers", lambda: 2)
    x = np.ones((20_000, 3), np.float32)
    x[15_000, 2] = 1e30  # in the second thread's rows
    x[19_000, 0] = 1e30
    pre = Preprocessing(("a", "b", "c"), (), "standard", np.zeros(3), np.full(3, 1e-300))
    lines = np.arange(2, 20_002)
    with pytest.raises(DataError, match=r"d\.csv:15002: feature 'c'"):
        training_data._scaled(x, pre, "d.csv", lines)
    x = np.ones((20_000, 3), np.float32)
    x[[3, 15_000], [1, 2]] = 1e30  # now one in the first thread's rows too
    with pytest.raises(DataError, match=r"d\.csv:5: feature 'b'"):
        training_data._scaled(x, pre, "d.csv", lines)


def _scale_with_every_max(x: np.ndarray) -> np.ndarray:
    """The standard scale as fitted before max|x| was skipped: std, or 1 where std is within
    rounding of the largest |x| (every column's min and max read)."""
    _, std = training_data._mean_std(x)
    largest = np.maximum(np.maximum(x.max(axis=0), -x.min(axis=0)), 0.0)
    return np.where(std > training_data._ROUNDING * largest, std, 1.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_standard_scale_reads_max_only_where_the_spread_may_be_rounding(dtype: type) -> None:
    rng = np.random.default_rng(11)
    m = 5000
    columns = [
        rng.integers(0, 256, m),  # pixels
        np.full(m, 0.1),  # std 1.4e-17: rounding, scale 1
        np.full(m, 7.0),  # constant
        np.r_[np.zeros(m - 1), 255.0],  # one bright pixel in 5000
        1e8 + rng.integers(0, 2, m) * 1e-7,  # a real spread far below the mean
        1e15 + rng.integers(0, 2, m),  # a spread of 1 at 10^15: near the rounding line
        rng.normal(0, 1e-300 if dtype == np.float64 else 1e-40, m),  # tiny values
        rng.choice([-1.0, 1.0], m) * float(np.finfo(dtype).max) / 2,  # sums overflow (float64)
        np.r_[np.full(m - 1, 3.0), 3.0000000000000004],  # one ulp apart
    ]
    x = np.column_stack(columns).astype(dtype)
    _, scale = training_data._fit_scaling(x, "standard", tuple("abcdefghi"),
                                          tuple(range(9)), "d.csv", "feature", "-n")
    assert scale is not None and np.array_equal(scale, _scale_with_every_max(x))
    assert scale[2] == 1.0 and scale[0] > 1


def test_pieces_hold_64_header_lines_so_wide_rows_fit(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_fast, "PIECE", 64)  # shorter than a line of this file
    rows = [["1234567890123"] * 5 for _ in range(30)]
    path = tmp_path / "d.csv"
    path.write_text(_text(rows), encoding="utf-8")
    x, _ = csv_fast.read_plain(path, HEADER, ",", (0, 1, 2), (3, 4), np.float64, threads=2)
    assert x.shape == (30, 3) and (x == 1234567890123).all()
    with pytest.raises(csv_fast._NotPlain):  # a line longer than the piece asked for
        csv_fast.read_plain(path, HEADER, ",", (0, 1, 2), (3, 4), np.float64, piece=64)
