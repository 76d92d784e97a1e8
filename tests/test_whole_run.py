"""train's read of a whole CSV file (issue 16.1): parsed on several threads straight into the
[x 1] rows the trainer uses, in float32 where that is exact, scaled in place; every result bit
for bit what the float64 path gives, and the same fallbacks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_data import CLASSIFIER
from test_train import NET

from backprop_cli.fastpath import with_ones
from backprop_cli.io import csv_fast
from backprop_cli.io import datasets as data
from backprop_cli.io.config import _flow, loads_network
from backprop_cli.io.training_data import _mean_std, load_training_data
from backprop_cli.train import Trainer, TrainOptions

HEADER = ("x1", "x2", "x3", "y1", "y2")


def _write(path: Path, rows: list[str], end: str = "\n") -> Path:
    path.write_text("\n".join([",".join(HEADER), *rows]) + end, encoding="utf-8")
    return path


def _rows(count: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 256, (count, 5)).astype(np.float64)
    values[:, 3:] = rng.integers(0, 2, (count, 2))
    return [",".join(str(int(v)) for v in row) for row in values], values


@pytest.mark.parametrize(("threads", "piece"), [(1, csv_fast.PIECE), (3, 40), (2, 64)])
def test_read_plain_in_pieces_and_threads_keeps_every_row_in_order(
        tmp_path: Path, threads: int, piece: int) -> None:
    texts, values = _rows(300)
    path = _write(tmp_path / "d.csv", texts, end="")  # the last line without its \n
    inputs, targets = csv_fast.read_plain(path, HEADER, ",", (0, 2, 1), (3, 4), np.float32,
                                          threads=threads, piece=piece)
    assert inputs.dtype == np.float32 and targets.dtype == np.float64
    np.testing.assert_array_equal(inputs, values[:, [0, 2, 1]])
    np.testing.assert_array_equal(targets, values[:, 3:])
    full = with_ones(inputs)  # the trainer's [x 1], without a copy
    assert full is not None and full.shape == (300, 4) and (full[:, 3] == 1).all()
    assert np.shares_memory(full, inputs)
    assert with_ones(np.ascontiguousarray(inputs)) is None


@pytest.mark.parametrize("bad", [
    "1,2,3.5e2,0,1",   # an exponent: numpy's reader takes it, not this one
    "1,2,a,0,1",       # text: the careful reader names it
    "1,2, 3,0,1",      # a space
    "1,2,,0,1",        # an empty cell
    "1,2,3,0",         # a field short
    "1,2,3,0,1,5",     # a field more
    '"1",2,3,0,1',     # quotes
    "1,2,3,0,1\r",     # \r\n line ends
])
def test_read_plain_refuses_what_the_plain_reader_does_not_take(tmp_path: Path,
                                                                bad: str) -> None:
    texts, _ = _rows(50)
    texts[37] = bad
    path = _write(tmp_path / "d.csv", texts)
    with pytest.raises(csv_fast._NotPlain):
        csv_fast.read_plain(path, HEADER, ",", (0, 1, 2), (3, 4), np.float64, threads=2,
                            piece=64)


def test_read_plain_refuses_values_float32_rounds_but_float64_holds(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.csv", ["0.5,16777216,-3,0,1", "0.25,1,2,1,0"])
    inputs, _ = csv_fast.read_plain(path, HEADER, ",", (0, 1, 2), (3, 4), np.float32)
    assert inputs.tolist() == [[0.5, 16777216, -3], [0.25, 1, 2]]
    for row in ("0.1,1,2,0,1", "1,16777217,2,0,1"):  # 0.1 and 2^24 + 1 are not float32
        rounded = _write(tmp_path / "r.csv", [row])
        with pytest.raises(csv_fast._NotPlain):
            csv_fast.read_plain(rounded, HEADER, ",", (0, 1, 2), (3, 4), np.float32)
        assert csv_fast.read_plain(rounded, HEADER, ",", (0, 1, 2), (3, 4), np.float64)[0][
            0].tolist() == [float(v) for v in row.split(",")[:3]]
    header_only = _write(tmp_path / "h.csv", [])
    with pytest.raises(csv_fast._NotPlain):  # the careful reader says "no data rows"
        csv_fast.read_plain(header_only, HEADER, ",", (0, 1, 2), (3, 4), np.float64)


def test_float32_training_data_is_the_float64_data_rounded_bit_for_bit(tmp_path: Path) -> None:
    net = loads_network(NET)
    rng = np.random.default_rng(3)
    values = np.column_stack([rng.integers(0, 256, (2500, 3)) * 0.25,  # exact in float32
                              rng.integers(0, 2, (2500, 2))])
    path = _write(tmp_path / "d.csv", [",".join(map(repr, row.tolist())) for row in values])
    for normalize in ("standard", "minmax"):
        wide = load_training_data(net, path, target="y1,y2", normalize=normalize)
        narrow = load_training_data(net, path, target="y1,y2", normalize=normalize,
                                    dtype=np.float32, head=5)
        assert narrow.train.inputs.dtype == np.float32
        np.testing.assert_array_equal(narrow.train.inputs,
                                      wide.train.inputs.astype(np.float32))
        assert narrow.preprocessing.same_scaling(wide.preprocessing)
        assert np.array_equal(narrow.preprocessing.shift, wide.preprocessing.shift)
        assert np.array_equal(narrow.preprocessing.scale, wide.preprocessing.scale)
        # the trained file's examples: float64 as before
        np.testing.assert_array_equal(narrow.first_inputs(5), wide.train.inputs[:5])
        trainer = Trainer(net, narrow.train.inputs, narrow.train.targets,
                          TrainOptions(epochs=1, dtype="float32"))
        assert np.shares_memory(trainer._inputs1, narrow.train.inputs)  # not copied
    x = values[:, :3]
    mean, std = _mean_std(x.astype(np.float32))
    assert np.array_equal(mean, x.mean(axis=0)) and np.array_equal(std, x.std(axis=0))


def test_classifier_labels_and_errors_through_the_whole_file_reader(tmp_path: Path) -> None:
    net = loads_network(CLASSIFIER)
    path = tmp_path / "c.csv"
    path.write_text("a,b,label\n0,1,10\n1,0,2.5\n1,1,9\n0,0,10\n", encoding="utf-8")
    ds = data.load_dataset(path, net, dtype=np.float32)
    assert ds.inputs.dtype == np.float32 and ds.classes == (2.5, 9, 10)
    assert ds.labels is not None and ds.labels.tolist() == [2, 0, 1, 2]
    path.write_text("a,b,label\n0,1,10\n1,0,2.5\n1,1,9\n0,0,4\n", encoding="utf-8")
    with pytest.raises(data.DataError, match="holds 4 distinct class labels"):
        data.load_dataset(path, net, dtype=np.float32)
    path.write_text("a,b,label\n0,1,10\n1,x,2.5\n1,1,9\n", encoding="utf-8")
    with pytest.raises(data.DataError, match=r"c\.csv:3:2:"):
        data.load_dataset(path, net, dtype=np.float32)


def test_weight_rows_are_written_as_one_float_at_a_time_writes_them() -> None:
    row = np.array([1e-05, 2.5, -0.0, 1e300, 5e-324, 0.1, 123456789012345678.0, -7e-22])
    assert _flow(row) == _flow(row.tolist()) == (
        "[1.0e-05, 2.5, -0.0, 1.0e+300, 5.0e-324, 0.1, 1.2345678901234568e+17, -7.0e-22]")
    odd = np.array([np.nan, np.inf, -np.inf, 1.0])
    assert _flow(odd) == "[.nan, .inf, -.inf, 1.0]"
    assert _flow(np.arange(3, dtype=np.float32)) == "[0.0, 1.0, 2.0]"
    assert _flow("px0") == '"px0"' and _flow("a b") == '"a b"' and _flow("é") == '"\\xE9"'
