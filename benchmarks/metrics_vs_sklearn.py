"""`backprop evaluate --format json` against scikit-learn's metrics on the same predictions.

On scikit-learn's bundled diabetes (regression; the target, 25–346, scaled by train's default
--normalize-target standard) and breast_cancer (one sigmoid output, labels 0/1): a 70/30 split,
a small network trained with the CLI, `backprop evaluate --format json` and `backprop predict`
on the held-out 30 %, and scikit-learn's metrics computed on the predictions `predict` wrote.
Needs scikit-learn (the [test] extra). About 10 s on a quiet machine.

    python benchmarks/metrics_vs_sklearn.py          # in a temporary directory
    python benchmarks/metrics_vs_sklearn.py DIR      # keeps the CSVs and networks in DIR
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from sklearn import datasets, metrics


def backprop(*args: str | Path) -> str:
    done = subprocess.run([sys.executable, "-m", "backprop_cli", *map(str, args)],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"backprop {' '.join(map(str, args))}: {done.stderr}")
    return done.stdout


def write_csv(path: Path, x: np.ndarray, y: np.ndarray, names: list[str], target: str) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow([*names, target])
        for row, value in zip(x.tolist(), y.tolist(), strict=True):
            out.writerow([*map(repr, row), repr(value)])


def split(m: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(m)
    cut = round(0.7 * m)
    return np.sort(order[:cut]), np.sort(order[cut:])


def run(tmp: Path, name: str, sizes: str, output: str, cost: str, y_kind: type,
        epochs: str) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    bunch = getattr(datasets, f"load_{name}")()
    x, y = bunch.data, bunch.target.astype(y_kind)
    names = [n.replace(" ", "_") for n in bunch.feature_names]
    train_rows, test_rows = split(len(y))
    train_csv, test_csv = tmp / f"{name}-train.csv", tmp / f"{name}-test.csv"
    write_csv(train_csv, x[train_rows], y[train_rows], names, "target")
    write_csv(test_csv, x[test_rows], y[test_rows], names, "target")
    net, trained = tmp / f"{name}.yaml", tmp / f"{name}-trained.yaml"
    backprop("init", "--sizes", sizes, "--activation", "tanh", "--output-activation", output,
             "--cost", cost, "--seed", "0", "--no-example-input", "-o", net)
    backprop("train", net, train_csv, "--target", "target", "--out", trained, "--optimizer",
             "adam", "--lr", "0.01", "--epochs", epochs, "--batch-size", "16", "-q")
    doc = json.loads(backprop("evaluate", trained, test_csv, "--target", "target",
                              "--format", "json"))
    rows = list(csv.reader(io.StringIO(backprop("predict", trained, test_csv))))
    outputs = np.array([float(r[0]) for r in rows[1:]])
    return doc, y[test_rows], outputs


def main() -> None:
    if len(sys.argv) > 1:
        Path(sys.argv[1]).mkdir(parents=True, exist_ok=True)
        compare(Path(sys.argv[1]))
        return
    with tempfile.TemporaryDirectory() as directory:
        compare(Path(directory))


def compare(tmp: Path) -> None:
    doc, y, yhat = run(tmp, "diabetes", "10,8,1", "linear", "squared_error", float,
                       "40")
    m = doc["metrics"]
    print(f"diabetes: {doc['rows']} held-out rows; target scaling "
          f"{doc['target_scaling']}; cost (scaled units) {doc['cost']:.6g}")
    print(f"{'metric':10} {'backprop evaluate':>20} {'scikit-learn':>20} {'difference':>12}")
    for key, ref in (("rmse", metrics.root_mean_squared_error(y, yhat)),
                     ("mae", metrics.mean_absolute_error(y, yhat)),
                     ("r2", metrics.r2_score(y, yhat))):
        print(f"{key:10} {m[key]:20.12g} {ref:20.12g} {m[key] - ref:12.3g}")

    doc, y, scores = run(tmp, "breast_cancer", "30,8,1", "sigmoid", "cross_entropy", int,
                         "60")
    m = doc["metrics"]
    labels = (scores > 0.5).astype(int)
    print(f"\nbreast_cancer: {doc['rows']} held-out rows; classes {doc['classes']}")
    print(f"{'metric':10} {'backprop evaluate':>20} {'scikit-learn':>20} {'difference':>12}")
    p, r, f, _ = metrics.precision_recall_fscore_support(y, labels, labels=[0, 1],
                                                         zero_division=0)
    macro = metrics.precision_recall_fscore_support(y, labels, average="macro",
                                                    zero_division=0)
    pairs = [("accuracy", m["accuracy"], metrics.accuracy_score(y, labels)),
             ("roc_auc", m["roc_auc"], metrics.roc_auc_score(y, scores))]
    for k in (0, 1):
        c = m["classes"][k]
        pairs += [(f"prec[{k}]", c["precision"], p[k]), (f"recall[{k}]", c["recall"], r[k]),
                  (f"f1[{k}]", c["f1"], f[k])]
    pairs.append(("macro f1", m["macro"]["f1"], macro[2]))
    for key, ours, ref in pairs:
        print(f"{key:10} {ours:20.12g} {ref:20.12g} {ours - ref:12.3g}")
    assert m["confusion"] == metrics.confusion_matrix(y, labels).tolist()
    print("confusion", m["confusion"], "(equal to scikit-learn's)")


if __name__ == "__main__":
    main()
