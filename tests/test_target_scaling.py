"""train --normalize-target: numeric targets scaled for training, the scaling stored in the
``preprocessing:`` block (typed, refused with file:line when malformed), undone by predict and
evaluate (predictions and metrics in the target's units; the cost in the units trained in),
and kept by a second train like the feature scaling."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import invoke, write
from test_retrain_scaling import NET, ok

from backprop_cli.io.config import load_network


def data(tmp_path: Path, m: int = 60, seed: int = 0) -> tuple[Path, np.ndarray]:
    """y in the hundreds (like diabetes' 25–346), so that an unscaled target would show."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (m, 2))
    y = 150 + 40 * x[:, 0] - 25 * np.tanh(x[:, 1]) + rng.normal(0, 5, m)
    rows = "".join(f"{a!r},{b!r},{c!r}\n" for a, b, c in zip(x[:, 0].tolist(),
                                                            x[:, 1].tolist(), y.tolist(),
                                                            strict=True))
    return write(tmp_path, "d.csv", "x1,x2,y\n" + rows), y


def train(tmp_path: Path, csv: Path, *extra: str, net: Path | None = None,
          out: str = "t.yaml") -> tuple[Path, dict[str, Any], str]:
    path = tmp_path / out
    stdout, stderr = ok("train", net or write(tmp_path, "n.yaml", NET), csv, "--out", path,
                        "--optimizer", "adam", "--lr", "0.05", "--epochs", "40", "-q",
                        "--no-shuffle", "--format", "json", *extra)
    return path, json.loads(stdout), stderr


def block(net: Path) -> dict[str, Any]:
    out: dict[str, Any] = yaml.safe_load(net.read_text(encoding="utf-8"))["preprocessing"]
    return out


def predictions(net: Path, csv: Path) -> np.ndarray:
    lines = ok("predict", net, csv)[0].splitlines()
    assert lines[0] == "y"  # named after the target column
    return np.array([float(v) for v in lines[1:]])


def test_linear_output_is_standard_by_default_and_evaluate_is_in_the_targets_units(
        tmp_path: Path) -> None:
    csv, y = data(tmp_path)
    net, summary, _ = train(tmp_path, csv)
    stored = block(net)
    assert stored["normalize_target"] == "standard"
    assert stored["target_shift"] == [pytest.approx(float(np.mean(y)), rel=1e-12)]
    assert stored["target_scale"] == [pytest.approx(float(np.std(y)), rel=1e-12)]
    yhat = predictions(net, csv)
    assert abs(yhat.mean() - y.mean()) < 10  # in the hundreds, not around 0
    doc = json.loads(ok("evaluate", net, csv, "-f", "json")[0])
    assert doc["target_scaling"] == "standard"
    m = doc["metrics"]
    err = yhat - y
    assert m["kind"] == "regression" and m["outputs"][0]["name"] == "y"
    assert m["rmse"] == pytest.approx(np.sqrt(np.mean(err**2)), rel=1e-9)
    assert m["mae"] == pytest.approx(np.mean(np.abs(err)), rel=1e-9)
    assert m["r2"] == pytest.approx(1 - np.sum(err**2) / np.sum((y - y.mean())**2), rel=1e-9)
    assert m["r2"] > 0.8
    # the cost: on the scaled targets, as training measured it on the same rows
    assert doc["cost"] == pytest.approx(summary["train_cost"], rel=1e-9)
    assert doc["cost"] == pytest.approx(np.mean((err / np.std(y)) ** 2), rel=1e-6)
    assert summary["train_metrics"]["rmse"] == pytest.approx(m["rmse"], rel=1e-9)
    table = ok("evaluate", net, csv)[0]
    assert "targets scaled standard" in table and "RMSE" in table and "R²" in table


def test_minmax_and_none(tmp_path: Path) -> None:
    csv, y = data(tmp_path)
    net, _, _ = train(tmp_path, csv, "--normalize-target", "minmax")
    stored = block(net)
    assert stored["normalize_target"] == "minmax"
    assert stored["target_shift"] == [float(y.min())]
    assert stored["target_scale"] == [pytest.approx(float(y.max() - y.min()), rel=1e-15)]
    plain, _, _ = train(tmp_path, csv, "--normalize-target", "none", out="p.yaml")
    assert "normalize_target" not in block(plain)
    doc = json.loads(ok("evaluate", plain, csv, "-f", "json")[0])
    assert doc["target_scaling"] == "none"
    yhat = predictions(plain, csv)
    assert doc["metrics"]["rmse"] == pytest.approx(np.sqrt(np.mean((yhat - y) ** 2)), rel=1e-9)


def test_a_second_train_keeps_the_stored_target_scaling(tmp_path: Path) -> None:
    csv, _ = data(tmp_path)
    first, _, _ = train(tmp_path, csv, "--normalize-target", "minmax")
    other, _ = data(tmp_path / "", m=30, seed=5)  # other rows: other statistics
    again, _, stderr = train(tmp_path, other, "--epochs", "1", net=first, out="again.yaml")
    assert block(again)["target_shift"] == block(first)["target_shift"]  # bit for bit
    assert block(again)["target_scale"] == block(first)["target_scale"]
    assert block(again)["normalize_target"] == "minmax" and "note" not in stderr
    refit, _, stderr = train(tmp_path, other, "--epochs", "1", "--normalize-target",
                             "standard", net=first, out="refit.yaml")
    assert block(refit)["normalize_target"] == "standard"
    assert "replaced the stored target scaling" in stderr and "(minmax)" in stderr


def test_stored_examples_are_in_the_units_trained_in(tmp_path: Path) -> None:
    csv, y = data(tmp_path)
    net, _, _ = train(tmp_path, csv, "--examples", "3")
    examples = load_network(net).examples
    assert examples is not None
    np.testing.assert_allclose(examples.targets[:, 0], (y[:3] - y.mean()) / y.std(),
                               rtol=1e-12)


def test_class_labels_are_not_scaled(tmp_path: Path) -> None:
    net = write(tmp_path, "n.yaml", NET.replace("linear", "sigmoid").replace(
        "squared_error", "cross_entropy"))
    csv = write(tmp_path, "d.csv", "x1,x2,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n")
    result = invoke("train", net, csv, "--out", tmp_path / "t.yaml", "-q",
                    "--normalize-target", "minmax")
    assert result.exit_code == 2
    assert "class labels, which are not scaled" in result.stderr
    assert not (tmp_path / "t.yaml").exists()


@pytest.mark.parametrize(("edit", "expected"), [
    ({"target_scale": [0.0]}, "preprocessing.target_scale: a scale of 0 would divide by zero"),
    ({"target_scale": [1.0, 2.0]}, "expected 1 finite numbers (one per output)"),
    ({"normalize_target": "log"}, "unknown normalization 'log'"),
    ({"target_scale": None}, "expected both 'target_shift' and 'target_scale'"),
])
def test_a_malformed_block_is_refused_with_its_line(tmp_path: Path, edit: dict[str, Any],
                                                     expected: str) -> None:
    csv, _ = data(tmp_path)
    net, _, _ = train(tmp_path, csv)
    doc = yaml.safe_load(net.read_text(encoding="utf-8"))
    doc["preprocessing"].update(edit)
    doc["preprocessing"] = {k: v for k, v in doc["preprocessing"].items() if v is not None}
    bad = write(tmp_path, "bad.yaml", yaml.safe_dump(doc, sort_keys=False))
    result = invoke("evaluate", bad, csv)
    assert result.exit_code == 2, result.output
    assert "bad.yaml:" in result.stderr and expected in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_epoch_records_carry_the_validation_metrics(tmp_path: Path) -> None:
    csv, _ = data(tmp_path)
    log = tmp_path / "log.ndjson"
    train(tmp_path, csv, "--val-split", "0.25", "--log", str(log), "--epochs", "3")
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 3
    assert all(r["val_rmse"] > 0 and r["val_r2"] is not None and r["val_accuracy"] is None
               for r in records)
    assert records[-1]["val_rmse"] < records[0]["val_rmse"]
