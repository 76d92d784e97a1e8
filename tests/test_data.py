"""CSV → arrays: every data error with file:row:column and exit 2, class labels, column
selection, normalization, the validation split and the chunked reader."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import CONFIGS, invoke, write
from test_train import NET

from backprop_cli.errors import DataError, UsageError
from backprop_cli.io.config import load_network, loads_network
from backprop_cli.io.csv_reader import discover_classes
from backprop_cli.io.datasets import iter_csv_chunks, load_dataset
from backprop_cli.io.training_data import fit_preprocessing, load_training_data, split_rows

CLASSIFIER = """\
input_size: 2
cost: categorical_cross_entropy
init: {method: xavier, seed: 0}
layers:
  - size: 3
    activation: tanh
  - size: 3
    activation: softmax
"""

GOOD = "x1,x2,x3,y1,y2\n1,2,3,0,1\n4,5,6,1,0\n7,8,9,0.5,0.5\n"


def train_on(tmp_path: Path, csv_text: str, *extra: str, net: str = NET) -> tuple[int, str]:
    net_file = write(tmp_path, "net.yaml", net)
    data = write(tmp_path, "d.csv", csv_text)
    args = ["train", net_file, data, "--out", tmp_path / "o.yaml", "--epochs", "1", "-q"]
    if "--target" not in extra and net == NET:
        args += ["--target", "y1,y2"]
    result = invoke(*args, *extra)
    assert "Traceback" not in result.output
    assert not (tmp_path / "o.yaml").exists()
    return result.exit_code, result.stderr


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        # a short row (a value missing at the end)
        ("x1,x2,x3,y1,y2\n1,2,3,0,1\n4,5,6,1\n", ":3:5:", "missing values: expected 5"),
        # a long row
        ("x1,x2,x3,y1,y2\n1,2,3,0,1,9\n", ":2:6:", "too many values"),
        # an empty cell
        ("x1,x2,x3,y1,y2\n1,,3,0,1\n", ":2:2:", "empty cell (missing value)"),
        # a word among the features
        ("x1,x2,x3,y1,y2\n1,2,3,0,1\n4,five,6,1,0\n", ":3:2:", "'five'"),
        # NaN and infinity, in a feature and in a target
        ("x1,x2,x3,y1,y2\n1,2,3,0,1\n4,5,nan,1,0\n", ":3:3:", "finite number, got 'nan'"),
        ("x1,x2,x3,y1,y2\n1,2,3,0,inf\n", ":2:5:", "finite number, got 'inf'"),
        ("x1,x2,x3,y1,y2\n1,2,-Infinity,0,1\n", ":2:3:", "finite number"),
        # a non-numeric target where numbers are expected
        ("x1,x2,x3,y1,y2\n1,2,3,zero,1\n", ":2:4:", "target column 'y1'"),
    ],
)
def test_bad_rows_name_file_row_and_column(tmp_path: Path, text: str, where: str,
                                           words: str) -> None:
    code, stderr = train_on(tmp_path, text)
    assert code == 2
    assert re.search(r"d\.csv" + re.escape(where), stderr), stderr
    assert words in stderr
    assert stderr.count("\n") == 1  # one message


def test_empty_file_and_header_only(tmp_path: Path) -> None:
    code, stderr = train_on(tmp_path, "")
    assert code == 2 and "d.csv: the file is empty" in stderr
    code, stderr = train_on(tmp_path, "\n\n")
    assert code == 2 and "the file is empty" in stderr
    code, stderr = train_on(tmp_path, "x1,x2,x3,y1,y2\n")
    assert code == 2 and "d.csv: no data rows" in stderr


def test_unknown_columns(tmp_path: Path) -> None:
    code, stderr = train_on(tmp_path, GOOD, "--target", "y1,yy2")
    assert code == 2
    assert "d.csv:1: unknown column 'yy2' in --target; did you mean 'y2'?" in stderr
    code, stderr = train_on(tmp_path, GOOD, "--target", "q")
    assert code == 2 and "the columns are: x1, x2, x3, y1, y2" in stderr
    code, stderr = train_on(tmp_path, GOOD, "--target", "y1,y2", "--features", "x1,x2,zz")
    assert code == 2 and "unknown column 'zz' in --features" in stderr
    code, stderr = train_on(tmp_path, GOOD, "--target", "y1,y2", "--features", "x1,x2")
    assert code == 2 and "2 feature columns, but the network's input_size is 3" in stderr


def test_class_count_must_equal_output_size(tmp_path: Path) -> None:
    rows = "a,b,label\n0,1,cat\n1,0,dog\n1,1,cat\n"
    code, stderr = train_on(tmp_path, rows, net=CLASSIFIER)
    assert code == 2
    assert "d.csv:1:3: column 'label' holds 2 distinct class labels (cat, dog), but the " \
           "output layer has 3 neurons" in stderr
    code, stderr = train_on(tmp_path, "a,b,c,d\n0,1,1,0\n", "--target", "c,d", net=CLASSIFIER)
    assert code == 2 and "2 target columns (c, d), but the output layer has 3" in stderr


def test_duplicate_header_and_missing_files(tmp_path: Path) -> None:
    code, stderr = train_on(tmp_path, "x1,x2,x1,y1,y2\n1,2,3,0,1\n")
    assert code == 2 and "d.csv:1:3: duplicate column name 'x1'" in stderr
    result = invoke("train", write(tmp_path, "net.yaml", NET), tmp_path / "nope.csv", "--out",
                    tmp_path / "o.yaml")
    assert result.exit_code == 2 and "nope.csv: no such file" in result.stderr


def test_probability_targets_must_be_in_0_1(tmp_path: Path) -> None:
    net = NET.replace("cost: squared_error", "cost: cross_entropy")
    code, stderr = train_on(tmp_path, "x1,x2,x3,y1,y2\n1,2,3,0,1\n1,2,3,2,0\n", "--target",
                            "y1,y2", net=net)
    assert code == 2 and "d.csv:3:4:" in stderr and "between 0 and 1" in stderr


def test_class_labels_one_hot_in_sorted_order(tmp_path: Path) -> None:
    net = loads_network(CLASSIFIER)
    path = write(tmp_path, "c.csv", "a,b,label\n0,1,dog\n1,0,cat\n1,1,emu\n0,0,cat\n")
    ds = load_dataset(path, net)
    assert ds.classes == ("cat", "dog", "emu")
    assert ds.labels is not None and ds.labels.tolist() == [1, 0, 2, 0]
    assert ds.targets is not None
    assert ds.targets.tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 1], [1, 0, 0]]
    # numbers sort as numbers (10 after 9), whole numbers come back as ints
    assert discover_classes(["10", "9", "2.5", "9.0"]) == (2.5, 9, 10)
    assert discover_classes(["b", "10", "9"]) == ("10", "9", "b")


def test_columns_delimiter_and_quoting(tmp_path: Path) -> None:
    net = loads_network(CLASSIFIER)
    path = write(tmp_path, "t.tsv", 'kind\tb\tnote\ta\n"x y"\t2\tfoo\t1\nz\t4\tbar\t3\n'
                                    "x y\t6\tbaz\t5\n")
    ds = load_dataset(path, net, target="note", features="a,b", delimiter="tab")
    assert ds.inputs.tolist() == [[1, 2], [3, 4], [5, 6]]
    assert ds.classes == ("bar", "baz", "foo")
    assert ds.columns.feature_names == ("a", "b")
    with pytest.raises(UsageError, match="both as a feature and as a target"):
        load_dataset(path, net, target="a", features="a,b", delimiter="\t")


def test_normalization_statistics() -> None:
    x = np.array([[1.0, 5.0, 2.0], [3.0, 5.0, 4.0], [5.0, 5.0, 9.0]])
    from backprop_cli.io.csv_reader import Columns

    columns = Columns(("a", "b", "c", "y"), (0, 1, 2), (3,))
    standard = fit_preprocessing(x, "standard", columns, None)
    z = standard.apply(x)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-15)
    np.testing.assert_allclose(z.std(axis=0), [1, 0, 1], atol=1e-15)  # constant column: scale 1
    assert standard.scale is not None and standard.scale[1] == 1.0
    minmax = fit_preprocessing(x, "minmax", columns, None).apply(x)
    np.testing.assert_allclose(minmax, [[0, 0, 0], [0.5, 0, 2 / 7], [1, 0, 1]])
    assert fit_preprocessing(x, "none", columns, None).apply(x) is x
    x32 = x.astype(np.float32)
    assert standard.apply(x32).dtype == np.float32


def test_split_rows() -> None:
    train, val = split_rows(10, 0.3, seed=4, shuffle=True)
    assert len(val) == 3 and len(train) == 7
    assert sorted([*train, *val]) == list(range(10))
    again = split_rows(10, 0.3, seed=4, shuffle=True)
    assert np.array_equal(again[1], val)
    assert split_rows(10, 0.3, seed=4, shuffle=False)[1].tolist() == [7, 8, 9]
    assert len(split_rows(10, 0.0, seed=0, shuffle=True)[1]) == 0


def test_training_data_fits_statistics_on_training_rows_only(tmp_path: Path) -> None:
    net = loads_network(NET)
    path = write(tmp_path, "d.csv", GOOD)
    data = load_training_data(net, path, target="y1,y2", val_split=1 / 3, seed=0,
                              shuffle=False, normalize="minmax")
    assert data.val is not None and len(data.val) == 1 and len(data.train) == 2
    assert data.train.inputs.tolist() == [[0, 0, 0], [1, 1, 1]]
    assert data.val.inputs.tolist() == [[2, 2, 2]]  # (7 − 1) / (4 − 1)
    assert data.info == {"data": str(path), "rows": 3, "val_split": 1 / 3, "train_rows": 2,
                         "val_rows": 1}


def test_chunked_reader_matches_the_whole_file(tmp_path: Path) -> None:
    net = load_network(CONFIGS / "digits.yaml")
    lines = (CONFIGS / "digits.csv").read_text().splitlines()[:101]
    path = write(tmp_path, "d.csv", "\n".join(lines) + "\n")
    whole = load_dataset(path, net)
    from backprop_cli.network import Preprocessing

    pre = fit_preprocessing(whole.inputs, "standard", whole.columns, whole.classes)
    chunks = list(iter_csv_chunks(path, net, preprocessing=pre, chunk_rows=30))
    assert [len(x) for x, _ in chunks] == [30, 30, 30, 10]
    inputs = np.concatenate([x for x, _ in chunks])
    targets = np.concatenate([y for _, y in chunks])
    np.testing.assert_array_equal(inputs, pre.apply(whole.inputs))
    assert whole.targets is not None
    np.testing.assert_array_equal(targets, whole.targets)
    assert chunks[0][0].shape[1] == 64 and chunks[0][1].shape[1] == 10
    f32 = next(iter_csv_chunks(path, net, preprocessing=pre, chunk_rows=5, dtype=np.float32))
    assert f32[0].dtype == np.float32 and f32[1].dtype == np.float32
    with pytest.raises(DataError, match="stores no class list"):
        next(iter_csv_chunks(path, net, preprocessing=Preprocessing((), ())))
    bad = write(tmp_path, "bad.csv", "\n".join([*lines[:40], lines[40] + ",1"]) + "\n")
    with pytest.raises(DataError, match=r"bad\.csv:41:66"):
        list(iter_csv_chunks(bad, net, preprocessing=pre, chunk_rows=30))
