"""Data in (issue 15, item 6): ``-`` reads CSV from standard input, gzip/bzip2/xz files are
decompressed with the standard library, Parquet and Arrow IPC files are read with the optional
pyarrow — and each gives exactly what the plain CSV file of the same rows gives.
"""

from __future__ import annotations

import builtins
import bz2
import gzip
import json
import lzma
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_present import loaded
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.errors import DataError
from backprop_cli.io import inputs
from backprop_cli.io.config import load_network

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
DIGITS = CONFIGS / "digits.yaml"
DIGITS_CSV = CONFIGS / "digits.csv"
XOR = CONFIGS / "xor.yaml"
XOR_CSV = CONFIGS / "xor.csv"
ENV = {"COLUMNS": "200", "NO_COLOR": "1", "OPENBLAS_NUM_THREADS": "1"}
COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}


def run(args: list[str | Path], stdin: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args], input=stdin, env=ENV)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception))
    return result.exit_code, result.stdout, result.stderr


def ok(args: list[str | Path], stdin: bytes | None = None) -> str:
    code, out, err = run(args, stdin)
    assert code == 0, err
    return out


def without_file(text: str) -> dict[str, Any]:
    """A JSON document with the names of its data file left out (they differ by design)."""
    doc: dict[str, Any] = json.loads(text)
    if isinstance(doc.get("data"), dict):
        doc["data"].pop("file")
    else:
        doc.pop("data", None)  # evaluate: the file's name
    return doc


@pytest.fixture(scope="module")
def compressed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("compressed")
    plain = DIGITS_CSV.read_bytes()
    files = {}
    for ext, compress in COMPRESSORS.items():
        files[ext] = folder / f"digits.csv.{ext}"
        files[ext].write_bytes(compress(plain))
    return files


# -- standard input -------------------------------------------------------------------------

def test_predict_dash_reads_stdin_as_the_file_gives() -> None:
    from_file = ok(["predict", DIGITS, DIGITS_CSV])
    assert from_file.count("\n") == 1798
    assert ok(["predict", DIGITS, "-"], DIGITS_CSV.read_bytes()) == from_file


def test_dash_for_every_data_option() -> None:
    data = XOR_CSV.read_bytes()
    for command in (["analyze"], ["check"], ["diagnose"], ["sensitivity"],
                    ["step", "--lr", "0.5"]):
        by_file = without_file(ok([command[0], XOR, *command[1:], "--data", XOR_CSV,
                                   "-f", "json"]))
        by_stdin = without_file(ok([command[0], XOR, *command[1:], "--data", "-",
                                    "-f", "json"], data))
        assert by_stdin == by_file, command
    assert without_file(ok(["evaluate", XOR, "-", "-f", "json"], data)) == without_file(
        ok(["evaluate", XOR, XOR_CSV, "-f", "json"]))


def test_dash_twice_reads_stdin_once_for_both(tmp_path: Path) -> None:
    """train's data and --val both ``-``: standard input is read once and both get its rows,
    as two names of one regular file would."""
    args: list[str | Path] = ["train", XOR, "--epochs", "5", "--no-shuffle", "--seed", "3"]
    ok([*args, XOR_CSV, "--val", XOR_CSV, "--out", tmp_path / "file.yaml"])
    code, out, err = run([*args, "-", "--val", "-", "--out", tmp_path / "stdin.yaml"],
                         XOR_CSV.read_bytes())
    assert code == 0, err
    assert "validation │    4" in out  # the validation rows are the 4 rows, not an empty rest
    for a, b in zip(load_network(tmp_path / "file.yaml").layers,
                    load_network(tmp_path / "stdin.yaml").layers, strict=True):
        np.testing.assert_array_equal(a.weights, b.weights)
        np.testing.assert_array_equal(a.biases, b.biases)


def test_bad_cell_on_stdin_is_named_stdin() -> None:
    lines = XOR_CSV.read_text().splitlines()
    lines[3] = "0,oops,1"
    code, out, err = run(["evaluate", XOR, "-"], ("\n".join(lines) + "\n").encode())
    assert code == 2 and out == ""
    assert "<stdin>:4:2" in err and "oops" in err


def test_gzip_on_stdin_is_decompressed() -> None:
    assert ok(["predict", XOR, "-"], gzip.compress(XOR_CSV.read_bytes())) == ok(
        ["predict", XOR, XOR_CSV])


# -- compressed files -----------------------------------------------------------------------

@pytest.mark.parametrize("ext", sorted(COMPRESSORS))
def test_compressed_gives_the_plain_results(ext: str, compressed: dict[str, Path],
                                            tmp_path: Path) -> None:
    path = compressed[ext]
    for command in (["evaluate", DIGITS], ["analyze", DIGITS, "--data"]):
        assert without_file(ok([*command, path, "-f", "json"])) == without_file(
            ok([*command, DIGITS_CSV, "-f", "json"])), command
    assert ok(["predict", DIGITS, path]) == ok(["predict", DIGITS, DIGITS_CSV])
    args: list[str | Path] = ["train", DIGITS, "--epochs", "2", "--no-shuffle", "--seed", "1"]
    ok([*args, DIGITS_CSV, "--out", tmp_path / "plain.yaml"])
    ok([*args, path, "--out", tmp_path / "packed.yaml"])
    for a, b in zip(load_network(tmp_path / "plain.yaml").layers,
                    load_network(tmp_path / "packed.yaml").layers, strict=True):
        np.testing.assert_array_equal(a.weights, b.weights)  # bit for bit
        np.testing.assert_array_equal(a.biases, b.biases)


def test_gzip_named_csv_is_read_by_its_first_bytes(tmp_path: Path) -> None:
    path = tmp_path / "xor.csv"
    path.write_bytes(gzip.compress(XOR_CSV.read_bytes()))
    assert ok(["predict", XOR, path]) == ok(["predict", XOR, XOR_CSV])


def test_corrupt_gzip_is_named(tmp_path: Path) -> None:
    packed = gzip.compress(DIGITS_CSV.read_bytes())
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    garbled = tmp_path / "garbled.csv.gz"
    garbled.write_bytes(packed[:10] + bytes(range(256)) * 4)
    not_gzip = tmp_path / "plain.csv.gz"
    not_gzip.write_bytes(XOR_CSV.read_bytes())
    for path in (cut, garbled, not_gzip):
        code, out, err = run(["evaluate", DIGITS, path])
        assert code == 2 and out == "", err
        assert err.startswith(f"backprop: error: {path}: not valid gzip data"), err
        assert "Traceback" not in err


def test_corrupt_bzip2_and_xz_are_named(tmp_path: Path) -> None:
    for ext, fmt in (("bz2", "bzip2"), ("xz", "xz")):
        path = tmp_path / f"cut.csv.{ext}"
        path.write_bytes(COMPRESSORS[ext](XOR_CSV.read_bytes())[:30])
        code, _, err = run(["predict", XOR, path])
        assert code == 2 and f"{path}: not valid {fmt} data" in err, err


def test_bad_cell_inside_gzip_names_file_and_line(tmp_path: Path) -> None:
    lines = DIGITS_CSV.read_text().splitlines()
    lines[11] = "7," + lines[11].split(",", 1)[1]  # line 12: a well-formed row …
    lines[11] = lines[11][:-1] + "x"  # … whose label cell is not a class
    lines[12] = "1,zz," + lines[12].split(",", 2)[2]  # line 13: a feature that is not a number
    path = tmp_path / "data.csv.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    code, _, err = run(["evaluate", DIGITS, path])
    assert code == 2
    assert f"{path}:13:2" in err and "zz" in err, err


def test_a_stream_too_long_when_decompressed_is_refused(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inputs, "MAX_STREAM_BYTES", 2**20)
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n" + b"1,2\n" * 2**19))  # 2 MiB of text, 2 KiB packed
    code, _, err = run(["predict", XOR, path])
    assert code == 2 and f"{path}: more than" in err and "gzip" in err, err


# -- Parquet and Arrow ----------------------------------------------------------------------

def test_missing_pyarrow_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    real_import = builtins.__import__

    def no_pyarrow(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] == "pyarrow":
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    for name in [m for m in sys.modules if m.split(".")[0] == "pyarrow"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    for name, fmt in (("data.parquet", "Parquet"), ("data.arrow", "Arrow IPC"),
                      ("data.feather", "Arrow IPC")):
        path = tmp_path / name
        path.write_bytes(b"PAR1 not really" if fmt == "Parquet" else b"ARROW1 not really")
        code, out, err = run(["predict", XOR, path])
        assert code == 2 and out == ""
        assert f"{path}: reading a {fmt} file needs pyarrow" in err
        assert "pip install '.[arrow]'" in err


def test_pyarrow_is_loaded_only_for_columnar_files(tmp_path: Path) -> None:
    packed = tmp_path / "xor.csv.gz"
    packed.write_bytes(gzip.compress(XOR_CSV.read_bytes()))
    help_ = loaded("--help")
    assert "gzip" not in help_  # (bz2 and lzma come with shutil)
    for modules in (help_, loaded("predict", XOR, XOR_CSV), loaded("predict", XOR, packed)):
        assert not {m for m in modules if m.split(".")[0] == "pyarrow"}


@pytest.fixture(scope="module")
def columnar(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pa = pytest.importorskip("pyarrow")
    pa_csv = pytest.importorskip("pyarrow.csv")
    pa_feather = pytest.importorskip("pyarrow.feather")
    pa_parquet = pytest.importorskip("pyarrow.parquet")
    folder = tmp_path_factory.mktemp("columnar")
    table = pa_csv.read_csv(DIGITS_CSV)
    floats = table.cast(pa.schema([pa.field(n, pa.float64()) for n in table.column_names]))
    files = {"parquet": folder / "digits.parquet", "floats": folder / "floats.parquet",
             "arrow": folder / "digits.arrow", "stream": folder / "stream.arrow"}
    pa_parquet.write_table(table, files["parquet"])
    pa_parquet.write_table(floats, files["floats"])
    pa_feather.write_feather(table, files["arrow"])
    with pa.OSFile(str(files["stream"]), "wb") as sink, \
            pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return files


@pytest.mark.parametrize("kind", ["parquet", "floats", "arrow", "stream"])
def test_columnar_gives_the_csv_results(kind: str, columnar: dict[str, Path]) -> None:
    path = columnar[kind]
    assert without_file(ok(["evaluate", DIGITS, path, "-f", "json"])) == without_file(
        ok(["evaluate", DIGITS, DIGITS_CSV, "-f", "json"]))
    assert ok(["predict", DIGITS, path]) == ok(["predict", DIGITS, DIGITS_CSV])


def test_parquet_on_stdin_and_columns_by_name(columnar: dict[str, Path]) -> None:
    assert ok(["predict", DIGITS, "-"], columnar["parquet"].read_bytes()) == ok(
        ["predict", DIGITS, DIGITS_CSV])
    features = ",".join(f"pixel{i}" for i in range(64))
    picked = ["analyze", DIGITS, "--target", "label", "--features", features, "-f", "json"]
    assert without_file(ok([*picked, "--data", columnar["parquet"]])) == without_file(
        ok([*picked, "--data", DIGITS_CSV]))


def test_parquet_with_text_labels_and_nulls(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pa_parquet = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"x1": [0.0, 0.0, 1.0, 1.0], "x2": [0.0, 1.0, 0.0, 1.0],
                      "y": ["no", "yes", "yes", "no"]})
    path = tmp_path / "xor.parquet"
    pa_parquet.write_table(table, path)
    csv = tmp_path / "xor.csv"
    csv.write_text("x1,x2,y\n0,0,no\n0,1,yes\n1,0,yes\n1,1,no\n")
    assert without_file(ok(["analyze", XOR, "--data", path, "-f", "json"])) == without_file(
        ok(["analyze", XOR, "--data", csv, "-f", "json"]))
    holes = pa.table({"x1": [0.0, None], "x2": [0.0, 1.0], "y": [0, 1]})
    pa_parquet.write_table(holes, tmp_path / "holes.parquet")
    code, _, err = run(["predict", XOR, tmp_path / "holes.parquet"])
    assert code == 2 and f"{tmp_path / 'holes.parquet'}:3:1" in err, err


def test_corrupt_parquet_is_named(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1" + bytes(100))
    code, _, err = run(["predict", XOR, path])
    assert code == 2 and f"{path}: not a readable Parquet file" in err, err


def test_text_that_starts_like_a_magic_number_is_csv(tmp_path: Path) -> None:
    path = tmp_path / "names.csv"
    path.write_text("BZh1,PAR1,y\n0,1,1\n1,1,0\n")
    by_name = ok(["predict", XOR, path, "--features", "BZh1,PAR1", "--target", "y"])
    xor = ok(["predict", XOR, XOR_CSV]).splitlines(True)  # rows 0,0 0,1 1,0 1,1
    assert by_name == xor[0] + xor[2] + xor[4]


def test_dash_on_a_terminal_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal:
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    with pytest.raises(DataError, match="standard input is a terminal; pipe or redirect"):
        inputs.as_input("-")
