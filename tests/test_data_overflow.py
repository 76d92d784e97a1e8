"""A row of --data whose numbers overflow: `analyze --data`, `diagnose --data` and `check --data`
name the file and the file's line of that row (the header is line 1), as the CSV reader's own
errors do, not the row's index within the chunk it was read in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import CONFIGS, invoke

from backprop_cli import engine
from backprop_cli.errors import NumericalError
from backprop_cli.io.config import load_network
from backprop_cli.io.datasets import stream_for_network
from backprop_cli.reports.dataset import analyze_data

XOR = CONFIGS / "xor.yaml"  # z(1)1 = −0.78 x1 + 0.98 x2: (−1.7e308, 1.7e308) overflows
ROWS = ["0,0,0", "0,1,1", "1,0,1", "1,1,0"] * 5
ADVICE = ("the weights, biases or inputs are too large for the numbers to be computed; scale "
          "them down")


def _csv(tmp_path: Path, rows: list[str], text: str = "") -> Path:
    path = tmp_path / "d.csv"
    path.write_text("x1,x2,y\n" + "\n".join(rows) + "\n" + text)
    return path


@pytest.mark.parametrize("command", ["analyze", "diagnose", "check"])
def test_the_line_beyond_the_first_chunk(tmp_path: Path, command: str) -> None:
    rows = list(ROWS)
    rows[14] = "-1.7e308,1.7e308,1"  # line 16: row 2 of the fourth chunk of 4 rows
    path = _csv(tmp_path, rows)
    result = invoke(command, XOR, "--data", path, "--chunk-rows", "4")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (f"backprop: error: {path}:16: the forward pass: z(1)1 overflows "
                             f"float64 for this row: {ADVICE}\n")


def test_lines_of_the_careful_reader(tmp_path: Path) -> None:
    """Blank lines and a quoted cell: the file is read by the csv module, whose line numbers
    are not the row index + 2."""
    rows = list(ROWS[:6])
    rows[1] = '"0",1,1'
    rows[3] = "\n\n1,1,0"  # the row is on line 7 (of the file), the 4th data row
    rows[5] = "-1.7e308,1.7e308,1"  # line 9
    path = _csv(tmp_path, rows)
    net = load_network(XOR)
    stream = stream_for_network(net, path, chunk_rows=2)
    with pytest.raises(NumericalError) as caught:
        analyze_data(net, stream, stream.describe())
    error = caught.value
    assert (error.file, error.line, error.example) == (str(path), 9, 1)
    assert str(error) == (f"{path}:9: the forward pass: z(1)1 overflows float64 for this row: "
                          f"{ADVICE}")


def test_the_first_chunk_and_one_chunk(tmp_path: Path) -> None:
    rows = list(ROWS)
    rows[2] = "-1.7e308,1.7e308,1"
    path = _csv(tmp_path, rows)
    for chunk in ("1", "8192"):
        result = invoke("analyze", XOR, "--data", path, "--chunk-rows", chunk)
        assert result.exit_code == 2
        assert result.stderr.startswith(f"backprop: error: {path}:4: the forward pass: z(1)1 ")


def test_the_network_examples_are_still_named_by_index() -> None:
    net = load_network(XOR)
    x = np.array([[0.0, 0.0], [-1.7e308, 1.7e308]])
    with pytest.raises(NumericalError) as caught:
        engine.backprop(net, x, np.array([[0.0], [1.0]]))
    assert str(caught.value) == (f"the forward pass: z(1)1 overflows float64 for example 1: "
                                 f"{ADVICE}")
    assert caught.value.line is None


def test_a_bound_over_the_batch_blames_no_row() -> None:
    with pytest.raises(NumericalError) as caught:
        engine._finite(np.array([[np.inf]]), "the gradient ∂C/∂w(2)", np.float64,
                       per_example=False)
    assert caught.value.example is None
    assert str(caught.value) == f"the gradient ∂C/∂w(2) overflows float64: {ADVICE}"
