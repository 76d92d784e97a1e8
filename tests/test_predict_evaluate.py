"""`backprop predict` and `backprop evaluate`: the stored preprocessing is applied, the JSON keys
(cost, accuracy as a fraction, confusion), --split, and the formats."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import CONFIGS, invoke, write
from test_train import NET, ROWS, data_csv

from backprop_cli.io.config import load_network

# Two features, three classes with text labels; easy to separate.
CLASSES = """\
input_size: 2
cost: categorical_cross_entropy
init: {method: xavier, seed: 3}
layers:
  - size: 6
    activation: tanh
  - size: 3
    activation: softmax
"""


def _blobs(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    centres = {"red": (0.0, 10.0), "green": (10.0, 0.0), "blue": (-10.0, -10.0)}
    lines = ["u,v,colour"]
    for i in range(60):
        name = list(centres)[i % 3]
        cu, cv = centres[name]
        lines.append(f"{cu + rng.normal()},{cv + rng.normal()},{name}")
    return write(tmp_path, "blobs.csv", "\n".join(lines) + "\n")


@pytest.fixture
def trained(tmp_path: Path) -> tuple[Path, Path]:
    data = _blobs(tmp_path)
    out = tmp_path / "blobs-trained.yaml"
    result = invoke("train", write(tmp_path, "net.yaml", CLASSES), data, "--out", out,
                    "--optimizer", "adam", "--lr", "0.05", "--epochs", "20", "--batch-size",
                    "8", "--val-split", "0.25", "--seed", "1", "-q")
    assert result.exit_code == 0, result.output
    return out, data


def test_evaluate_json_keys_and_numbers(trained: tuple[Path, Path]) -> None:
    out, data = trained
    result = invoke("evaluate", out, data, "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["rows"] == 60
    assert doc["classes"] == ["blue", "green", "red"]  # sorted
    confusion = np.array(doc["confusion"])
    assert confusion.shape == (3, 3) and confusion.sum() == 60
    assert confusion.sum(axis=1).tolist() == [20, 20, 20]  # rows are the true classes
    assert doc["accuracy"] == pytest.approx(np.trace(confusion) / 60, abs=1e-15)
    assert 0.9 <= doc["accuracy"] <= 1.0
    # The cost from predict's outputs: mean of −ln a(true class), preprocessing applied.
    predicted = invoke("predict", out, data, "--format", "json")
    outputs = np.array(json.loads(predicted.stdout)["outputs"])
    truth = [{"blue": 0, "green": 1, "red": 2}[row.split(",")[2]]
             for row in data.read_text().splitlines()[1:]]
    cost = -np.mean(np.log(outputs[np.arange(60), truth]))
    assert doc["cost"] == pytest.approx(cost, rel=1e-12)


def test_split_val_reproduces_the_training_validation(trained: tuple[Path, Path]) -> None:
    out, data = trained
    block = load_network(out).training.to_dict()
    val = json.loads(invoke("evaluate", out, data, "--split", "val", "-f", "json").stdout)
    train = json.loads(invoke("evaluate", out, data, "--split", "train", "-f", "json").stdout)
    assert val["rows"] == block["val_rows"] == 15 and train["rows"] == 45
    assert val["cost"] == pytest.approx(block["val_cost"], rel=1e-12)
    assert val["accuracy"] == pytest.approx(block["val_accuracy"], abs=1e-15)
    assert train["cost"] == pytest.approx(block["train_cost"], rel=1e-12)
    untrained = invoke("evaluate", CONFIGS / "xor.yaml", CONFIGS / "xor.csv", "--split", "val")
    assert untrained.exit_code == 2 and "not trained with --val-split" in untrained.stderr


def test_evaluate_table(trained: tuple[Path, Path]) -> None:
    out, data = trained
    result = invoke("evaluate", out, data)
    assert result.exit_code == 0, result.output
    assert "60 rows" in result.stdout and "accuracy:" in result.stdout
    assert "Confusion matrix" in result.stdout and "recall" in result.stdout


def test_predict_formats_and_labels(trained: tuple[Path, Path], tmp_path: Path) -> None:
    out, data = trained
    rows = list(csv.reader(io.StringIO(invoke("predict", out, data).stdout)))
    assert rows[0] == ["p_blue", "p_green", "p_red", "label"]  # named after the classes
    assert len(rows) == 61
    probabilities = np.array([[float(v) for v in row[:3]] for row in rows[1:]])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-12)
    names = ["blue", "green", "red"]
    assert [row[3] for row in rows[1:]] == [names[i] for i in probabilities.argmax(axis=1)]
    ndjson = [json.loads(line) for line in
              invoke("predict", out, data, "-f", "ndjson").stdout.splitlines()]
    assert len(ndjson) == 60 and ndjson[5]["row"] == 5
    assert ndjson[5]["label"] == rows[6][3]
    # Without the target column, and with the columns in another order: the stored feature
    # names pick them.
    lines = data.read_text().splitlines()
    swapped = ["v,u", *(f"{r.split(',')[1]},{r.split(',')[0]}" for r in lines[1:])]
    no_target = write(tmp_path, "features-only.csv", "\n".join(swapped) + "\n")
    again = list(csv.reader(io.StringIO(invoke("predict", out, no_target).stdout)))
    assert again == rows


def test_numeric_targets_have_no_accuracy(tmp_path: Path) -> None:
    net_file = write(tmp_path, "net.yaml", NET)
    data = data_csv(tmp_path)
    result = invoke("evaluate", net_file, data, "--target", "y1,y2", "-f", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["accuracy"] is None and doc["confusion"] is None
    net = load_network(net_file)
    a = ROWS[:, :3]
    for layer in net.layers:
        a = 1 / (1 + np.exp(-(a @ layer.weights.T + layer.biases)))
    assert doc["cost"] == pytest.approx(np.mean(np.sum((a - ROWS[:, 3:]) ** 2, axis=1)),
                                        rel=1e-12)
    predicted = invoke("predict", net_file, data, "--target", "y1,y2")
    assert predicted.stdout.splitlines()[0] == "y1,y2"  # named after --target
    values = np.array([[float(v) for v in line.split(",")]
                       for line in predicted.stdout.splitlines()[1:]])
    np.testing.assert_allclose(values, a, rtol=1e-12)


def test_unknown_label_at_evaluate(trained: tuple[Path, Path], tmp_path: Path) -> None:
    out, _ = trained
    bad = write(tmp_path, "bad.csv", "u,v,colour\n0,10,red\n1,1,purple\n")
    result = invoke("evaluate", out, bad)
    assert result.exit_code == 2
    assert "bad.csv:3:3:" in result.stderr and "'purple' is not one of" in result.stderr


def test_digits_subset_trains_above_chance(tmp_path: Path) -> None:
    lines = (CONFIGS / "digits.csv").read_text().splitlines()[:601]
    data = write(tmp_path, "digits600.csv", "\n".join(lines) + "\n")
    out = tmp_path / "digits.yaml"
    result = invoke("train", CONFIGS / "digits.yaml", data, "--out", out, "--optimizer", "adam",
                    "--lr", "0.01", "--epochs", "30", "--val-split", "0.2", "-q")
    assert result.exit_code == 0, result.output
    doc = json.loads(invoke("evaluate", out, data, "--split", "val", "-f", "json").stdout)
    assert doc["rows"] == 120
    assert doc["accuracy"] > 0.85


def test_a_missing_stored_target_is_named_not_replaced_by_a_feature(tmp_path: Path) -> None:
    out = tmp_path / "xor.yaml"
    trained = invoke("train", CONFIGS / "xor.yaml", CONFIGS / "xor.csv", "--out", out,
                     "--epochs", "2", "--quiet")
    assert trained.exit_code == 0, trained.output
    features_only = write(tmp_path, "x.csv", "x1,x2\n0,0\n0,1\n1,0\n1,1\n")
    result = invoke("evaluate", out, features_only)
    assert result.exit_code == 2 and result.stdout == ""
    assert "the target column 'y' the network was trained on is not in the header" in \
        result.stderr and "x.csv:1:" in result.stderr
    predicted = invoke("predict", out, features_only)  # predict needs no targets
    assert predicted.exit_code == 0, predicted.output
    assert len(predicted.stdout.splitlines()) == 5
    extra = write(tmp_path, "extra.csv", "x1,x2,z\n0,0,7\n1,1,7\n")
    assert invoke("predict", out, extra).stdout == invoke(
        "predict", out, write(tmp_path, "two.csv", "x1,x2\n0,0\n1,1\n")).stdout
    overlap = invoke("evaluate", out, CONFIGS / "xor.csv", "--target", "x2")
    assert overlap.exit_code == 2
    assert "column 'x2' is given both as a feature (one of the network's stored features) " \
        "and as a target" in overlap.stderr


def test_predict_labels_an_untrained_classifier_as_evaluate_does(tmp_path: Path) -> None:
    # digits.yaml was never trained (no stored class list): evaluate one-hot encodes the labels
    # 0 … 9 in sorted order, and predict labels the rows with the same classes.
    net, data = CONFIGS / "digits.yaml", CONFIGS / "digits.csv"
    evaluated = json.loads(invoke("evaluate", net, data, "-f", "json").stdout)
    predicted = invoke("predict", net, data, "-f", "json")
    assert predicted.exit_code == 0, predicted.stderr
    doc = json.loads(predicted.stdout)
    assert doc["classes"] == evaluated["classes"] == list(range(10))
    outputs = np.array(doc["outputs"])
    labels = np.loadtxt(data, delimiter=",", skiprows=1, usecols=64)
    assert np.mean(np.array(doc["labels"]) == labels) == evaluated["accuracy"]
    rows = list(csv.reader(io.StringIO(invoke("predict", net, data).stdout)))
    assert rows[0][-1] == "label" and rows[1][-1] == str(int(outputs[0].argmax()))
    # Without the label column (64 pixel columns) there is no class list to name the outputs.
    pixels = data.read_text().splitlines()
    cut = write(tmp_path, "pixels.csv",
                "\n".join(",".join(line.split(",")[:64]) for line in pixels[:4]) + "\n")
    assert invoke("predict", net, cut).stdout.splitlines()[0].split(",")[-1] == "a9"
    # A file whose labels cannot be the ten classes: the rows without labels, and a note.
    few = write(tmp_path, "few.csv", "\n".join(pixels[:4]) + "\n")
    result = invoke("predict", net, few)
    assert result.exit_code == 0 and result.stdout.splitlines()[0].split(",")[-1] == "a9"
    assert "no label column" in result.stderr and "holds 3 distinct class labels" in result.stderr
