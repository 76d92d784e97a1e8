"""The feature columns of a trained network are matched by name, never by position.

A trained network stores its feature names (``preprocessing.features``) in the order of its
inputs. Every command that reads a CSV for it — predict, evaluate, analyze --data, and train
training it again — takes those columns by name in that order; a file (or a --features list)
without exactly those names exits 2 naming the missing and unexpected columns. Without stored
names the columns go by position and their count must match."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import invoke

NET = """\
input_size: 3
cost: categorical_cross_entropy
init: {method: xavier, seed: 1}
layers:
  - {size: 4, activation: sigmoid}
  - {size: 3, activation: softmax}
"""
LABELS = ("cat", "dog", "emu")


def rows(m: int = 60) -> list[tuple[float, float, float, str]]:
    """Features on very different scales (so that a column taken for another shows), and a
    class that depends on each of them differently."""
    rng = np.random.default_rng(0)
    a, b, c = rng.uniform(0, 1, m), rng.uniform(0, 1000, m), rng.uniform(-5, 5, m)
    score = np.stack([3 * a, b / 300, c / 2 + 1], axis=1)
    return [(float(x), float(y), float(z), LABELS[k])
            for x, y, z, k in zip(a, b, c, score.argmax(axis=1), strict=True)]


def write_csv(path: Path, header: list[str], order: list[int] | None = None,
              data: list[tuple[float, float, float, str]] | None = None) -> Path:
    """``header`` over the columns a, b, c, label of :func:`rows` taken in ``order``."""
    order = order if order is not None else list(range(len(header)))
    lines = [",".join(header)]
    lines += [",".join(repr(r[k]) if k < 3 else str(r[k]) for k in order)
              for r in (data if data is not None else rows())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ok(*args: str | Path) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def refused(*args: str | Path) -> str:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Traceback" not in result.stderr
    return result.stderr


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("trained")
    net = tmp / "net.yaml"
    net.write_text(NET, encoding="utf-8")
    data = write_csv(tmp / "data.csv", ["a", "b", "c", "label"])
    out = tmp / "trained.yaml"
    ok("train", net, data, "--out", out, "--optimizer", "adam", "--lr", "0.1", "--epochs",
       "60", "--normalize", "minmax", "--seed", "3", "-q")
    return out, data


def evaluated(net: Path, data: Path, *options: str) -> dict[str, Any]:
    """evaluate's JSON without the keys that name the files."""
    doc = json.loads(ok("evaluate", net, data, "-f", "json", *options))
    return {k: v for k, v in doc.items() if k not in ("data", "network", "file")}


def test_the_column_order_of_the_file_does_not_matter(trained: tuple[Path, Path],
                                                      tmp_path: Path) -> None:
    net, data = trained
    reference = evaluated(net, data)
    assert reference["accuracy"] > 0.8
    shuffled = write_csv(tmp_path / "shuffled.csv", ["c", "label", "a", "b"], [2, 3, 0, 1])
    assert evaluated(net, shuffled) == reference
    assert ok("predict", net, shuffled) == ok("predict", net, data)
    # features only, in another order, with an id column the network never saw
    extra = tmp_path / "extra.csv"
    extra.write_text("id,b,a,c\n" + "".join(
        f"{i},{r[1]!r},{r[0]!r},{r[2]!r}\n" for i, r in enumerate(rows())), encoding="utf-8")
    assert ok("predict", net, extra) == ok("predict", net, data)
    analyzed = [json.loads(ok("analyze", net, "--data", f, "-f", "json"))["cost"]
                for f in (data, shuffled)]
    assert analyzed[0] == analyzed[1] == pytest.approx(reference["cost"], rel=1e-12)
    # --features in any order names the same inputs
    assert evaluated(net, shuffled, "--features", "c,b,a") == evaluated(net, shuffled)
    # The test can fail: the same values under swapped names give other numbers.
    swapped = write_csv(tmp_path / "swapped.csv", ["a", "b", "c", "label"], [2, 0, 1, 3])
    assert evaluated(net, swapped)["cost"] > reference["cost"] + 0.5


def test_other_column_names_are_refused_not_taken_by_position(trained: tuple[Path, Path],
                                                              tmp_path: Path) -> None:
    net, _ = trained
    renamed = write_csv(tmp_path / "renamed.csv", ["A", "b", "c", "label"])
    expected = (f"backprop: error: {renamed}:1: the inputs of {net} are the feature columns a, "
                "b, c, matched by name (never by position); this file lacks a; the file has "
                "columns the network was not trained on: A; give the file the network's column "
                "names, in any order, or, if they are the same quantities under other names, "
                f"write those names in preprocessing.features of {net} in place of the old "
                "ones\n")
    assert refused("evaluate", net, renamed) == expected
    assert refused("predict", net, renamed) == expected
    assert refused("analyze", net, "--data", renamed) == expected
    out = tmp_path / "again.yaml"
    assert refused("train", net, renamed, "--out", out, "-q") == expected
    assert not out.exists()
    # a column fewer; none of them
    fewer = tmp_path / "fewer.csv"
    fewer.write_text("a,c,label\n0.5,1,cat\n", encoding="utf-8")
    assert "this file lacks b;" in refused("evaluate", net, fewer)
    other = write_csv(tmp_path / "other.csv", ["x", "y", "z", "label"])
    message = refused("predict", net, other)
    assert "this file has none of them; the file has columns the network was not trained " \
        "on: x, y, z;" in message


def test_features_option_must_name_the_trained_columns(trained: tuple[Path, Path]) -> None:
    net, data = trained
    message = refused("evaluate", net, data, "--features", "a,b")
    assert f"{data}:1: the inputs of {net} are the feature columns a, b, c" in message
    assert "--features lacks c; list exactly the network's columns with --features (in any " \
        "order) or leave it out" in message
    message = refused("predict", net, data, "--features", "a,b,c,label")
    assert "--features names columns the network was not trained on: label;" in message


def _without(doc: dict[str, Any], *keys: str) -> dict[str, Any]:
    training = {k: v for k, v in doc["training"].items() if k not in keys}
    return {**doc, "training": training}


def test_training_again_matches_the_columns_by_name(trained: tuple[Path, Path],
                                                   tmp_path: Path) -> None:
    """Before, a file with the columns in another order was trained on by position: the
    first layer's weights met other columns (accuracy fell to chance) and the stored
    examples were normalized with another column's statistics."""
    net, data = trained
    shuffled = write_csv(tmp_path / "shuffled.csv", ["c", "a", "b", "label"], [2, 0, 1, 3])
    options = ["--epochs", "2", "--lr", "0.01", "--normalize", "minmax", "-q"]
    ok("train", net, data, "--out", tmp_path / "one.yaml", *options)
    ok("train", net, shuffled, "--out", tmp_path / "two.yaml", *options)
    one, two = (yaml.safe_load((tmp_path / f"{n}.yaml").read_text()) for n in ("one", "two"))
    assert two["preprocessing"]["features"] == ["a", "b", "c"]
    assert _without(one, "data") == _without(two, "data")
    before = yaml.safe_load(net.read_text())  # the same rows: the same minmax statistics
    for new, old in zip(two["examples"], before["examples"], strict=True):
        np.testing.assert_allclose(new["input"], old["input"], rtol=1e-12, atol=1e-15)
        assert new["target"] == old["target"]
    assert evaluated(tmp_path / "two.yaml", shuffled)["accuracy"] > 0.8


def test_training_again_keeps_the_stored_classes(trained: tuple[Path, Path],
                                                 tmp_path: Path) -> None:
    """The stored target column is the default, wherever it is (before: the last column), and
    a file with two of the three classes keeps the output neurons' classes (before: "holds 2
    distinct class labels, but the output layer has 3 neurons")."""
    net, _ = trained
    some = [r for r in rows() if r[3] != "dog"]
    data = write_csv(tmp_path / "some.csv", ["b", "label", "a", "c"], [1, 3, 0, 2], some)
    out = tmp_path / "again.yaml"
    ok("train", net, data, "--out", out, "--epochs", "1", "--normalize", "minmax", "-q")
    stored = yaml.safe_load(out.read_text())["preprocessing"]
    assert stored["classes"] == list(LABELS)
    assert stored["features"] == ["a", "b", "c"] and stored["targets"] == ["label"]
    unseen = tmp_path / "unseen.csv"
    unseen.write_text("a,b,c,label\n0.5,10,1,cat\n0.1,20,2,yak\n", encoding="utf-8")
    message = refused("train", net, unseen, "--out", tmp_path / "x.yaml", "-q")
    assert f"{unseen}:3:4:" in message and "label 'yak' is not one of the network's 3 classes" \
        in message


def test_a_validation_file_is_matched_to_the_training_columns_by_name(tmp_path: Path) -> None:
    net = tmp_path / "net.yaml"
    net.write_text(NET, encoding="utf-8")
    data = write_csv(tmp_path / "data.csv", ["a", "b", "c", "label"])
    val = write_csv(tmp_path / "val.csv", ["a", "b", "c", "label"])
    val_shuffled = write_csv(tmp_path / "val2.csv", ["c", "a", "label", "b"], [2, 0, 3, 1])
    options = ["--epochs", "3", "--normalize", "minmax", "-q", "--format", "json"]
    one = json.loads(ok("train", net, data, "--out", tmp_path / "one.yaml", "--val", val,
                        *options))
    two = json.loads(ok("train", net, data, "--out", tmp_path / "two.yaml", "--val",
                        val_shuffled, *options))
    assert one["val_cost"] == two["val_cost"] and one["val_accuracy"] == two["val_accuracy"]
    renamed = write_csv(tmp_path / "val3.csv", ["a", "b", "C", "label"])
    message = refused("train", net, data, "--out", tmp_path / "three.yaml", "--val", renamed,
                      "-q")
    assert f"{renamed}:1: the network's inputs are the feature columns a, b, c" in message
    assert "this file lacks c; the file has columns the network was not trained on: C" in message


def test_without_stored_names_the_columns_go_by_position(trained: tuple[Path, Path],
                                                         tmp_path: Path) -> None:
    """A preprocessing block without features: (hand-written) — the inputs are the non-target
    columns in file order, as many as input_size; the stored target names still apply."""
    net, data = trained
    doc = yaml.safe_load(net.read_text())
    del doc["preprocessing"]["features"]
    anonymous = tmp_path / "anonymous.yaml"
    anonymous.write_text(yaml.safe_dump(doc), encoding="utf-8")
    other = write_csv(tmp_path / "other.csv", ["p", "q", "r", "label"])
    assert evaluated(anonymous, other) == evaluated(net, data)
    two = tmp_path / "two.csv"
    two.write_text("p,q,label\n1,2,cat\n", encoding="utf-8")
    assert f"{two}:1: 2 feature columns, but the network's input_size is 3" in refused(
        "evaluate", anonymous, two)
    headerless = write_csv(tmp_path / "headerless.csv", ["0.5", "10", "1", "1"])
    assert f"{headerless}:1: the first row (0.5, 10, 1, 1) holds only numbers; expected a " \
        "header row naming the columns" in refused("predict", anonymous, headerless)


def test_a_single_input_is_matched_by_name_too(tmp_path: Path) -> None:
    """n_0 = 1 with a one-column file used to fall back to that column whatever its name."""
    net = tmp_path / "one.yaml"
    net.write_text("input_size: 1\nlayers: [{size: 1, activation: linear, weights: [[2]], "
                   "biases: [1]}]\npreprocessing: {features: [x], targets: [y], normalize: "
                   "standard, shift: [10], scale: [2]}\n", encoding="utf-8")
    right = tmp_path / "x.csv"
    right.write_text("x\n14\n", encoding="utf-8")
    assert ok("predict", net, right, "-f", "json").count("5.0") == 1  # 2·(14 − 10)/2 + 1
    wrong = tmp_path / "z.csv"
    wrong.write_text("z\n14\n", encoding="utf-8")
    assert "this file has none of them; the file has columns the network was not trained " \
        "on: z;" in refused("predict", net, wrong)
