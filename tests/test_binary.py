"""One sigmoid output with a column of 0/1 or of two labels is a binary classifier everywhere:
train (accuracy, stored classes), evaluate (accuracy, per-class metrics, ROC-AUC), predict
(the label of a(L) > 0.5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import CONFIGS, invoke, write

from backprop_cli.io.config import load_network

NET = """\
input_size: 2
cost: cross_entropy
init: {method: xavier, seed: 3}
layers:
  - {size: 4, activation: tanh}
  - {size: 1, activation: sigmoid}
"""


def ok(*args: str | Path) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def blobs(tmp_path: Path, labels: tuple[str, str] = ("no", "yes"), m: int = 80) -> Path:
    """Two overlapping blobs: some rows misclassified, so every metric is below 1."""
    rng = np.random.default_rng(2)
    lines = ["u,v,answer"]
    for i in range(m):
        c = i % 2
        u, v = rng.normal(1.2 * c, 1.0), rng.normal(-0.8 * c, 1.0)
        lines.append(f"{u!r},{v!r},{labels[c]}")
    return write(tmp_path, "b.csv", "\n".join(lines) + "\n")


def trained(tmp_path: Path, csv: Path) -> tuple[Path, dict[str, Any]]:
    out = tmp_path / "t.yaml"
    summary = json.loads(ok("train", write(tmp_path, "n.yaml", NET), csv, "--out", out,
                            "--optimizer", "adam", "--lr", "0.05", "--epochs", "30", "-q",
                            "--format", "json"))
    return out, summary


def test_two_text_labels(tmp_path: Path) -> None:
    csv = blobs(tmp_path)
    net, summary = trained(tmp_path, csv)
    pre = yaml.safe_load(net.read_text(encoding="utf-8"))["preprocessing"]
    assert pre["classes"] == ["no", "yes"] and "normalize_target" not in pre
    assert load_network(net).preprocessing.classes == ("no", "yes")  # type: ignore[union-attr]
    assert 0.6 < summary["train_accuracy"] < 1.0
    assert summary["train_metrics"]["kind"] == "classification"

    rows = [line.split(",") for line in ok("predict", net, csv).splitlines()]
    assert rows[0] == ["p_yes", "label"]  # the probability of the second class
    a = np.array([float(r[0]) for r in rows[1:]])
    assert [r[1] for r in rows[1:]] == ["yes" if p > 0.5 else "no" for p in a]

    truth = np.array([i % 2 for i in range(80)])
    predicted = (a > 0.5).astype(int)
    doc = json.loads(ok("evaluate", net, csv, "-f", "json"))
    assert doc["classes"] == ["no", "yes"]
    assert doc["accuracy"] == pytest.approx(np.mean(predicted == truth))
    assert doc["accuracy"] == pytest.approx(summary["train_accuracy"])
    m = doc["metrics"]
    tp = int(np.sum((predicted == 1) & (truth == 1)))
    assert m["classes"][1]["precision"] == pytest.approx(tp / np.sum(predicted == 1))
    assert m["classes"][1]["recall"] == pytest.approx(tp / np.sum(truth == 1))
    pos, neg = a[truth == 1], a[truth == 0]
    pairs = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert m["roc_auc"] == pytest.approx(pairs / (len(pos) * len(neg)), rel=1e-12)
    assert doc["confusion"] == m["confusion"]
    table = ok("evaluate", net, csv)
    assert "ROC-AUC (class yes against no)" in table and "macro avg" in table


def test_xor_summary_shows_an_accuracy(tmp_path: Path) -> None:
    out = tmp_path / "x.yaml"
    table = ok("train", CONFIGS / "xor.yaml", CONFIGS / "xor.csv", "--out", out, "--optimizer",
               "adam", "--lr", "0.1", "--epochs", "300", "--batch-size", "4", "--normalize",
               "none", "-q")
    assert "accuracy" in table and "100.00%" in table
    doc = json.loads(ok("evaluate", out, CONFIGS / "xor.csv", "-f", "json"))
    assert doc["accuracy"] == 1.0 and doc["classes"] == [0, 1]
    assert doc["metrics"]["roc_auc"] == 1.0
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["preprocessing"]["classes"] == [0, 1]


def test_an_untrained_network_on_0_1_targets_is_evaluated_as_a_classifier() -> None:
    doc = json.loads(ok("evaluate", CONFIGS / "xor.yaml", CONFIGS / "xor.csv", "-f", "json"))
    assert doc["classes"] == [0, 1] and doc["accuracy"] is not None
    assert sum(map(sum, doc["confusion"])) == 4


def test_probabilities_stay_a_regression(tmp_path: Path) -> None:
    csv = write(tmp_path, "p.csv", "u,v,p\n0,0,0.1\n0,1,0.9\n1,0,0.8\n1,1,0.2\n")
    doc = json.loads(ok("evaluate", write(tmp_path, "n.yaml", NET), csv, "-f", "json"))
    assert doc["classes"] is None and doc["metrics"]["kind"] == "regression"


def test_a_label_the_network_does_not_know(tmp_path: Path) -> None:
    net, _ = trained(tmp_path, blobs(tmp_path))
    bad = write(tmp_path, "bad.csv", "u,v,answer\n0,0,no\n1,1,maybe\n")
    result = invoke("evaluate", net, bad)
    assert result.exit_code == 2 and "bad.csv:3:3" in result.stderr
    assert "maybe" in result.stderr and "Traceback" not in result.stderr


def test_a_stored_class_list_of_the_wrong_length_is_refused(tmp_path: Path) -> None:
    net, _ = trained(tmp_path, blobs(tmp_path))
    doc = yaml.safe_load(net.read_text(encoding="utf-8"))
    doc["preprocessing"]["classes"] = ["no", "yes", "maybe"]
    bad = write(tmp_path, "bad.yaml", yaml.safe_dump(doc, sort_keys=False))
    result = invoke("evaluate", bad, tmp_path / "b.csv")
    assert result.exit_code == 2
    assert "bad.yaml:" in result.stderr and "expected 2 labels" in result.stderr
