"""A CSV row whose numbers overflow: `predict`, `evaluate` and `train` name the file and its
line (the header is line 1), as every other data error and `analyze --data` do, not the row's
0-based index ("for example 4", "of row 4")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import invoke, write

from backprop_cli.errors import OVERFLOW_ADVICE, NumericalError
from backprop_cli.io.config import load_network
from backprop_cli.io.datasets import named_row
from backprop_cli.io.training_data import load_for_network

# z(1)0 = x1 + x2: finite for every row but the 5th data row (line 6), 1e308 + 1e308 = inf
LINEAR = """\
input_size: 2
cost: squared_error
layers:
  - {size: 1, activation: linear, weights: [[1.0, 1.0]], biases: [0.0]}
"""
ROWS = ["1,2,3", "2,3,5", "3,4,7", "4,5,9", "1e308,1e308,1", "6,7,13", "7,8,15", "8,9,17"]
FORWARD = "the forward pass: z(1)0 overflows float64 for this row"


def files(tmp_path: Path, rows: list[str], net: str = LINEAR) -> tuple[Path, Path]:
    return (write(tmp_path, "net.yaml", net),
            write(tmp_path, "d.csv", "x1,x2,y\n" + "\n".join(rows) + "\n"))


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_the_fifth_data_row_is_line_6(tmp_path: Path, command: str) -> None:
    net, data = files(tmp_path, ROWS)
    result = invoke(command, net, data)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == f"backprop: error: {data}:6: {FORWARD}: {OVERFLOW_ADVICE}\n"


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_lines_of_the_careful_reader(tmp_path: Path, command: str) -> None:
    """A quoted cell and blank lines: the file is read by the csv module, and the 5th data
    row is on line 8, not on line index + 2."""
    rows = list(ROWS)
    rows[1] = '"2",3,5'
    rows[3] = "\n\n4,5,9"
    net, data = files(tmp_path, rows)
    assert data.read_text().splitlines()[7] == "1e308,1e308,1"
    result = invoke(command, net, data)
    assert result.exit_code == 2
    assert result.stderr == f"backprop: error: {data}:8: {FORWARD}: {OVERFLOW_ADVICE}\n"


def test_evaluate_split_names_the_line_in_the_file(tmp_path: Path) -> None:
    """--split val holds rows 4…7 (the last half, unshuffled): the overflowing row is the
    validation set's row 0, and the file's line 6."""
    net, data = files(tmp_path, ROWS, LINEAR + "training: {rows: 8, val_split: 0.5, options: "
                                              "{seed: 0, shuffle: false}}\n")
    result = invoke("evaluate", net, data, "--split", "val")
    assert result.exit_code == 2
    assert result.stderr == f"backprop: error: {data}:6: {FORWARD}: {OVERFLOW_ADVICE}\n"
    result = invoke("evaluate", net, data, "--split", "train", "-f", "json")
    assert result.exit_code == 0 and '"rows": 4' in result.stdout


@pytest.mark.parametrize("options", [
    ["--val-split", "0.25", "--seed", "1"],  # shuffled: line 6 among the training rows
    ["--no-shuffle", "--batch-size", "2", "--lr", "1e-3"],  # in the third batch
    ["--no-shuffle", "--val-split", "0.5", "--lr", "1e-3"],  # validation row 0
])
def test_train_refuses_starting_weights_that_overflow_on_a_line(
        tmp_path: Path, options: list[str]) -> None:
    """Line 6 overflows with the starting weights: no --lr would help. Refused before
    training, as analyze refuses it (exit 2, the line named wherever the row ends up, nothing
    written)."""
    net, data = files(tmp_path, ROWS)
    out = tmp_path / "out.yaml"
    result = invoke("train", net, data, "--out", out, "--normalize", "none", "-q", *options)
    assert result.exit_code == 2, result.output
    assert result.stderr == (f"backprop: error: {data}:6: the network's starting weights: "
                             f"{FORWARD}: {OVERFLOW_ADVICE}\n")
    assert not out.exists()


def test_a_dataset_keeps_its_lines_through_a_split(tmp_path: Path) -> None:
    net_file, data = files(tmp_path, ROWS, LINEAR + "training: {rows: 8, val_split: 0.5, "
                                                   "options: {seed: 0, shuffle: false}}\n")
    net = load_network(net_file)
    ds, _ = load_for_network(net, data, split="val", net_file=str(net_file))
    assert ds.lines is not None and ds.lines.tolist() == [6, 7, 8, 9]
    assert ds.line_of(2) == 8
    error = NumericalError("the cost C0 overflows float64", example=1, advice="scale")
    assert str(named_row(error, ds)) == f"{data}:7: the cost C0 overflows float64 for this " \
        "row: scale"
    # rows that do not come from a file: the index stays
    assert named_row(error, [(np.ones((1, 2)), np.ones((1, 1)))]) is error
