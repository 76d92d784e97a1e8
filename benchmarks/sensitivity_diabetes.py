"""`backprop sensitivity` on scikit-learn's diabetes data next to permutation importance.

Trains a 10-8-1 network (tanh, linear output, squared error, standard feature scaling) with
the CLI on a 70% split of the bundled diabetes data (raw feature units: age, sex, bmi, bp,
s1 … s6), runs `backprop sensitivity --data` on the 30% held out, computes scikit-learn's
permutation importance (the rise of the mean squared error when a column is shuffled) of the
same network on the same rows, and prints the top five of each and the Spearman correlation
of each sensitivity column with the permutation importance, over all ten features.

The target (25 … 346) is standardized here by hand before training: this branch has no
--normalize-target. A scaled target multiplies ∂ŷ/∂x by one factor and ∂C0/∂x by its square
for every feature alike, so the rankings do not depend on it.

    pip install -e '.[bench]'          # scikit-learn (and scipy) as references only
    python benchmarks/sensitivity_diabetes.py [--epochs 30] [--hidden 8] [--lr 0.005] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.datasets import load_diabetes
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import train_test_split

from backprop_cli.engine import predict
from backprop_cli.io.config import load_network
from backprop_cli.network import Network

COLUMNS = ("mean_abs_dC_dx", "mean_dC_dx", "mean_abs_dy_dx")


def backprop(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "backprop_cli", *args], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"backprop {' '.join(args)}: {done.stderr}")
    return done.stdout


def write_csv(path: Path, names: list[str], x: np.ndarray, y: np.ndarray) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*names, "y"])
        writer.writerows([[repr(float(v)) for v in row] for row in np.column_stack([x, y])])


class Trained(BaseEstimator, RegressorMixin):  # type: ignore[misc]
    """The trained network as a scikit-learn regressor (already fitted)."""

    def __init__(self, net: Network) -> None:
        self.net = net

    def fit(self, x: Any, y: Any) -> Trained:
        return self

    def predict(self, x: Any) -> Any:
        pre = self.net.preprocessing
        assert pre is not None
        return predict(self.net, pre.apply(np.asarray(x, dtype=float)))[:, 0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hidden", type=int, default=8)
    parser.add_argument("--lr", default="0.005")
    options = parser.parse_args()

    data = load_diabetes(scaled=False)
    names = list(data.feature_names)
    x_train, x_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.3, random_state=options.seed)
    mean, std = y_train.mean(), y_train.std()
    y_train, y_test = (y_train - mean) / std, (y_test - mean) / std

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        write_csv(d / "train.csv", names, x_train, y_train)
        write_csv(d / "test.csv", names, x_test, y_test)
        (d / "net.yaml").write_text(backprop(
            "init", "--sizes", f"10,{options.hidden},1", "--activation", "tanh",
            "--output-activation", "linear", "--seed", str(options.seed),
            "--no-example-input"), encoding="utf-8")
        backprop("train", str(d / "net.yaml"), str(d / "train.csv"), "--out",
                 str(d / "t.yaml"), "--optimizer", "adam", "--lr", options.lr, "--epochs",
                 str(options.epochs), "--seed", str(options.seed), "-q")
        doc = json.loads(backprop("sensitivity", str(d / "t.yaml"), "--data",
                                  str(d / "test.csv"), "-f", "json"))
        net = load_network(d / "t.yaml")

    model = Trained(net)
    mse = float(np.mean((model.predict(x_test) - y_test) ** 2))
    r2 = 1 - mse / float(np.var(y_test))
    perm = permutation_importance(model, x_test, y_test, scoring="neg_mean_squared_error",
                                  n_repeats=30, random_state=options.seed)
    importance = perm.importances_mean
    by_name = {f["name"]: f for f in doc["features"]}
    print(f"diabetes: {len(x_train)} training rows, {len(x_test)} held out; network "
          f"10-{options.hidden}-1 (tanh, linear), {options.epochs} epochs of adam, η "
          f"{options.lr}; held-out MSE {mse:.3f} "
          f"(standardized target), R² {r2:.3f}")
    linear = LinearRegression().fit(x_train, y_train).score(x_test, y_test)
    print(f"(scikit-learn's LinearRegression on the same split: R² {linear:.3f})")
    print("x: per one standard deviation of each feature (the stored standard scaling)\n")
    order = list(np.argsort(-importance))
    print("rank  permutation importance   " + "   ".join(f"{c:>22}" for c in COLUMNS))
    ranked = {c: sorted(names, key=lambda n, c=c: -abs(by_name[n][c])) for c in COLUMNS}
    for r in range(5):
        n = names[order[r]]
        cells = "   ".join(f"{ranked[c][r]:>6} {abs(by_name[ranked[c][r]][c]):15.4g}"
                           for c in COLUMNS)
        print(f"{r + 1:>4}  {n:>6} {importance[order[r]]:15.4g}   {cells}")
    print("\nSpearman correlation with permutation importance, over all 10 features:")
    for c in COLUMNS:
        values = [abs(by_name[n][c]) for n in names]
        rho = spearmanr(values, importance).statistic
        note = " (ranked by its size |·|)" if c == "mean_dC_dx" else ""
        print(f"  {c:>15}: {rho:+.3f}{note}")
    print("\nfull rankings:")
    print(f"  {'permutation':>15}: {' '.join(names[i] for i in order)}")
    for c in COLUMNS:
        print(f"  {c:>15}: {' '.join(ranked[c])}")


if __name__ == "__main__":
    main()
