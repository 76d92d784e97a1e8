"""Metrics of predictions against targets, as scikit-learn defines them: RMSE, MAE and R² per
output for numeric targets; accuracy, precision, recall, F1 (per class, macro and weighted)
and the confusion matrix for class labels, with the ROC-AUC for two classes. Pure numpy,
accumulated chunk by chunk (:class:`RegressionTally`, :class:`ClassTally`), so a stream of rows
is measured in one pass.

Zero division: a precision, recall or F1 whose denominator is 0 (a class never predicted,
or without rows) is 0, as scikit-learn's ``zero_division=0``; an R² of a constant target is 1
when every prediction is exact, else 0 (its ``force_finite``); the ROC-AUC is None when the
rows hold only one of the two classes. "overall" and "macro" average the outputs or classes
with equal weight (scikit-learn's ``uniform_average`` and ``average="macro"`` over every class
of the network); "weighted" weighs each class by its rows (its support).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from backprop_cli.network import Array, Label

# The value of a precision, recall or F1 whose denominator is 0 (scikit-learn: zero_division=0)
ZERO_DIVISION = 0.0


@dataclass(frozen=True)
class RegressionMetrics:
    """Per output j (``names[j]``, the target column): ``rmse[j]`` = √(mean (ŷ − y)²),
    ``mae[j]`` = mean |ŷ − y|, ``r2[j]`` = 1 − Σ(ŷ − y)² / Σ(y − ȳ)², in the target's units;
    ``overall_*`` their mean over the outputs."""

    names: tuple[str, ...]
    rmse: tuple[float, ...]
    mae: tuple[float, ...]
    r2: tuple[float, ...]

    @property
    def overall_rmse(self) -> float:
        return float(np.mean(self.rmse))

    @property
    def overall_mae(self) -> float:
        return float(np.mean(self.mae))

    @property
    def overall_r2(self) -> float:
        return float(np.mean(self.r2))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "regression",
            "rmse": self.overall_rmse,
            "mae": self.overall_mae,
            "r2": self.overall_r2,
            "outputs": [{"name": n, "rmse": r, "mae": a, "r2": q} for n, r, a, q in
                        zip(self.names, self.rmse, self.mae, self.r2, strict=True)],
        }


@dataclass(frozen=True)
class Averages:
    precision: float
    recall: float
    f1: float

    def to_dict(self) -> dict[str, float]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1}


@dataclass(frozen=True, eq=False)
class ClassMetrics:
    """``confusion`` (K, K): ``[i, j]`` rows of class i predicted as class j; per class k
    (``classes[k]``): ``support[k]`` its rows, ``precision[k]`` = right / predicted as k,
    ``recall[k]`` = right / its rows, ``f1[k]`` = 2·tp / (2·tp + fp + fn); ``roc_auc`` for two
    classes (None otherwise, or when the rows hold one class only)."""

    classes: tuple[Label, ...]
    confusion: NDArray[np.int64]
    precision: tuple[float, ...]
    recall: tuple[float, ...]
    f1: tuple[float, ...]
    macro: Averages
    weighted: Averages
    roc_auc: float | None

    @property
    def rows(self) -> int:
        return int(self.confusion.sum())

    @property
    def correct(self) -> int:
        return int(np.trace(self.confusion))

    @property
    def accuracy(self) -> float:
        return self.correct / self.rows if self.rows else ZERO_DIVISION

    @property
    def support(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self.confusion.sum(axis=1))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "classification",
            "accuracy": self.accuracy,
            "classes": [
                {"class": c, "support": s, "precision": p, "recall": r, "f1": f}
                for c, s, p, r, f in zip(self.classes, self.support, self.precision,
                                         self.recall, self.f1, strict=True)],
            "macro": self.macro.to_dict(),
            "weighted": self.weighted.to_dict(),
            "roc_auc": self.roc_auc,
            "confusion": self.confusion.tolist(),
        }


Metrics = RegressionMetrics | ClassMetrics


def _ratio(num: NDArray[Any], den: NDArray[Any]) -> NDArray[np.float64]:
    """num / den elementwise, :data:`ZERO_DIVISION` where den is 0."""
    out = np.full(num.shape, ZERO_DIVISION, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def class_metrics(confusion: NDArray[np.int64], classes: tuple[Label, ...],
                  roc_auc: float | None = None) -> ClassMetrics:
    """The metrics of a confusion matrix (K, K), rows the true class."""
    tp = np.diagonal(confusion).astype(np.float64)
    support = confusion.sum(axis=1).astype(np.float64)
    predicted = confusion.sum(axis=0).astype(np.float64)
    precision, recall = _ratio(tp, predicted), _ratio(tp, support)
    f1 = _ratio(2 * tp, support + predicted)  # 2tp + fp + fn

    def averages(weights: NDArray[np.float64] | None) -> Averages:
        if weights is not None and weights.sum() == 0:
            return Averages(ZERO_DIVISION, ZERO_DIVISION, ZERO_DIVISION)
        return Averages(*(float(np.average(v, weights=weights)) for v in (precision, recall, f1)))

    return ClassMetrics(classes, confusion, tuple(precision.tolist()), tuple(recall.tolist()),
                        tuple(f1.tolist()), averages(None), averages(support), roc_auc)


def roc_auc(scores: Array, positive: NDArray[np.bool_]) -> float | None:
    """The area under the ROC curve of ``scores`` (m,) for the rows ``positive`` (m,): the
    chance that a positive row scores above a negative one, ties counting one half (the
    Mann–Whitney U over n₁·n₀). None if there are no positive or no negative rows."""
    n1 = int(positive.sum())
    n0 = len(positive) - n1
    if n1 == 0 or n0 == 0:
        return None
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    # the average rank (1-based) of each distinct score: tied rows share their ranks' mean
    last = np.cumsum(counts, dtype=np.float64)
    mean_rank = last - (counts - 1) / 2.0
    rank_sum = float(mean_rank[inverse.reshape(-1)][positive].sum())
    return (rank_sum - n1 * (n1 + 1) / 2.0) / (n1 * n0)


def _mean(x: Array) -> NDArray[np.float64]:
    """Column means of x (r, n); a column whose sum overflows is summed as x / r."""
    mean = np.asarray(x.mean(axis=0), dtype=np.float64)
    big = ~np.isfinite(mean)
    if big.any():
        mean[big] = (x[:, big] / len(x)).sum(axis=0)
    return mean


@dataclass
class RegressionTally:
    """Accumulates (ŷ, y) chunks (r, n_L) in the target's units: per output the largest
    |ŷ − y| and Σ((ŷ − y) / largest)² (so that the RMSE of errors near 1e154, whose squares
    overflow, is still found), the mean |ŷ − y|, and ȳ and Σ(y − ȳ)² merged chunk by chunk
    (Chan et al.), which keeps R² accurate for a target far from 0. Memory O(n_L)."""

    names: tuple[str, ...]
    rows: int = 0
    largest: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    scaled_sse: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    mae: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    mean: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    m2: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    def add(self, predicted: Array, target: Array) -> None:
        y = np.asarray(target, dtype=np.float64)
        r = len(y)
        if r == 0:
            return
        with np.errstate(over="ignore", invalid="ignore"):
            error = np.abs(np.asarray(predicted, dtype=np.float64) - y)
            largest = error.max(axis=0)
            if self.rows == 0:
                self.largest, self.scaled_sse = np.zeros_like(largest), np.zeros_like(largest)
                self.mae, self.mean, self.m2 = (np.zeros_like(largest) for _ in range(3))
            top = np.maximum(self.largest, largest)
            safe = np.where(top > 0, top, 1.0)
            self.scaled_sse = (self.scaled_sse * (self.largest / safe) ** 2
                               + ((error / safe) ** 2).sum(axis=0))
            self.largest = top
            total = self.rows + r
            self.mae = self.mae + (_mean(error) - self.mae) * (r / total)
            mean = _mean(y)
            m2 = ((y - mean) ** 2).sum(axis=0)
            delta = mean - self.mean
            self.m2 = self.m2 + m2 + delta**2 * (self.rows * r / total)
            self.mean = self.mean + delta * (r / total)
        self.rows = total

    def result(self) -> RegressionMetrics:
        """RMSE and MAE; R² = 1 − SSE / Σ(y − ȳ)² (inf or NaN where those overflow, which
        JSON writes as null)."""
        n = max(self.rows, 1)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            rmse = self.largest * np.sqrt(self.scaled_sse / n)
            sse = self.scaled_sse * self.largest**2
            exact = self.largest == 0
            r2 = np.where(self.m2 > 0, 1.0 - sse / np.where(self.m2 > 0, self.m2, 1.0),
                          np.where(exact, 1.0, 0.0))
        return RegressionMetrics(self.names, tuple(rmse.tolist()), tuple(self.mae.tolist()),
                                 tuple(r2.tolist()))


def predicted_classes(outputs: Array) -> NDArray[np.intp]:
    """outputs (m, n_L) → (m,): the class of each row's largest output; with one output (a
    sigmoid's probability of class 1), class 1 where it is above 0.5, else class 0 (as
    scikit-learn's MLPClassifier: exactly 0.5 is class 0)."""
    if outputs.shape[1] == 1:
        return (outputs[:, 0] > 0.5).astype(np.intp)
    return np.argmax(outputs, axis=1)


def positive_scores(outputs: Array) -> Array:
    """The score of class 1 for two classes: the one output, or the second of two."""
    return outputs[:, -1]


@dataclass
class ClassTally:
    """Accumulates (outputs (r, n_L), labels (r,)) chunks: the confusion matrix, and for two
    classes every row's score of class 1 and its label, for the ROC-AUC (16 bytes a row:
    one float64 and one label index; O(K²) otherwise)."""

    classes: tuple[Label, ...]
    confusion: NDArray[np.int64] = field(init=False)
    scores: list[Array] = field(default_factory=list)
    labels: list[NDArray[np.intp]] = field(default_factory=list)

    def __post_init__(self) -> None:
        k = len(self.classes)
        self.confusion = np.zeros((k, k), dtype=np.int64)

    def add(self, outputs: Array, labels: NDArray[np.intp]) -> None:
        np.add.at(self.confusion, (labels, predicted_classes(outputs)), 1)
        if len(self.classes) == 2:
            self.scores.append(np.asarray(positive_scores(outputs), dtype=np.float64))
            self.labels.append(np.asarray(labels))

    def result(self) -> ClassMetrics:
        auc = None
        if len(self.classes) == 2 and self.scores:
            auc = roc_auc(np.concatenate(self.scores), np.concatenate(self.labels) == 1)
        return class_metrics(self.confusion, self.classes, auc)
