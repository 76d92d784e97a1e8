"""reports/metrics.py against references computed independently (loops over the rows, the
pairwise definition of the ROC-AUC) and against scikit-learn where it is installed (the
[test] extra installs it): generated predictions with ties, classes never predicted and
classes without rows."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_cli.reports.metrics import (
    ZERO_DIVISION,
    ClassTally,
    RegressionTally,
    predicted_classes,
    roc_auc,
)


def _pairwise_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """The chance that a positive row scores above a negative one, ties ½: every pair."""
    pos, neg = scores[positive], scores[~positive]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0
               for p, n in itertools.product(pos.tolist(), neg.tolist()))
    return wins / (len(pos) * len(neg))


def _per_class_reference(true: list[int], pred: list[int], k: int
                         ) -> tuple[list[float], list[float], list[float], list[int]]:
    precision, recall, f1, support = [], [], [], []
    for c in range(k):
        tp = sum(1 for t, p in zip(true, pred, strict=True) if t == c and p == c)
        fp = sum(1 for t, p in zip(true, pred, strict=True) if t != c and p == c)
        fn = sum(1 for t, p in zip(true, pred, strict=True) if t == c and p != c)
        p_ = tp / (tp + fp) if tp + fp else 0.0
        r_ = tp / (tp + fn) if tp + fn else 0.0
        precision.append(p_)
        recall.append(r_)
        f1.append(2 * p_ * r_ / (p_ + r_) if p_ + r_ else 0.0)
        support.append(tp + fn)
    return precision, recall, f1, support


def _tally(outputs: np.ndarray, labels: np.ndarray, k: int, chunk: int) -> ClassTally:
    tally = ClassTally(tuple(range(k)))
    for start in range(0, len(labels), chunk):
        tally.add(outputs[start:start + chunk], labels[start:start + chunk])
    return tally


def test_roc_auc_counts_ties_as_one_half() -> None:
    rng = np.random.default_rng(1)
    scores = np.round(rng.random(200), 1)  # 11 distinct values: many ties
    positive = rng.random(200) < np.clip(scores, 0.1, 0.9)
    assert roc_auc(scores, positive) == pytest.approx(_pairwise_auc(scores, positive), abs=1e-15)
    # every score alike: no better than chance
    assert roc_auc(np.full(6, 0.3), np.array([1, 0, 1, 0, 0, 1], bool)) == 0.5
    assert roc_auc(np.array([0.1, 0.2, 0.9]), np.array([False, False, True])) == 1.0
    assert roc_auc(np.array([0.9, 0.2, 0.1]), np.array([False, False, True])) == 0.0
    assert roc_auc(np.array([0.1, 0.2]), np.array([True, True])) is None  # one class only


def test_class_metrics_with_a_class_never_predicted_and_one_without_rows() -> None:
    # 4 classes: class 3 has no rows, class 2 is never predicted
    true = [0, 0, 0, 1, 1, 2, 2, 0, 1, 2]
    pred = [0, 1, 0, 1, 3, 0, 1, 0, 1, 3]
    k = 4
    tally = _tally(np.eye(k)[pred], np.array(true), k, chunk=3)
    m = tally.result()
    precision, recall, f1, support = _per_class_reference(true, pred, k)
    assert m.support == tuple(support) == (4, 3, 3, 0)
    np.testing.assert_allclose(m.precision, precision)
    np.testing.assert_allclose(m.recall, recall)
    np.testing.assert_allclose(m.f1, f1)
    assert m.precision[2] == m.recall[3] == m.f1[2] == m.f1[3] == ZERO_DIVISION == 0.0
    assert m.macro.f1 == pytest.approx(sum(f1) / k)
    assert m.weighted.recall == pytest.approx(sum(r * s for r, s in zip(recall, support,
                                                                           strict=True)) / 10)
    assert m.accuracy == 5 / 10 and m.correct == 5
    assert m.roc_auc is None  # four classes
    assert m.confusion.tolist()[0] == [3, 1, 0, 0]


def test_one_output_is_class_1_above_one_half() -> None:
    a = np.array([[0.2], [0.5], [0.5000001], [0.99]])
    assert predicted_classes(a).tolist() == [0, 0, 1, 1]
    assert predicted_classes(np.array([[0.5, 0.5], [0.4, 0.6]])).tolist() == [0, 1]


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 60), st.integers(1, 7), st.integers(0, 2**32 - 1))
def test_regression_tally_over_chunks_equals_the_formulas(m: int, chunk: int,
                                                          seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.normal(1e4, 3.0, size=(m, 2))  # far from 0: the merged spread must stay exact
    y[:, 1] = np.round(y[:, 1])
    yhat = y + rng.normal(0.0, 2.0, size=(m, 2))
    tally = RegressionTally(("u", "v"))
    for start in range(0, m, chunk):
        tally.add(yhat[start:start + chunk], y[start:start + chunk])
    r = tally.result()
    for j in range(2):
        err = yhat[:, j] - y[:, j]
        assert r.rmse[j] == pytest.approx(np.sqrt(np.mean(err**2)), rel=1e-12)
        assert r.mae[j] == pytest.approx(np.mean(np.abs(err)), rel=1e-12)
        ss_tot = np.sum((y[:, j] - y[:, j].mean()) ** 2)
        expected = 1 - np.sum(err**2) / ss_tot if ss_tot > 0 else float(np.all(err == 0))
        assert r.r2[j] == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert r.overall_rmse == pytest.approx(np.mean(r.rmse))
    assert r.to_dict()["outputs"][1]["name"] == "v"


def test_r2_of_a_constant_target() -> None:
    tally = RegressionTally(("y",))
    tally.add(np.array([[2.0], [2.0]]), np.array([[2.0], [2.0]]))
    assert tally.result().r2 == (1.0,)  # exact
    tally = RegressionTally(("y",))
    tally.add(np.array([[2.0], [3.0]]), np.array([[2.0], [2.0]]))
    assert tally.result().r2 == (0.0,)  # scikit-learn's force_finite


# --- against scikit-learn ---------------------------------------------------------------------

@pytest.mark.parametrize("k", [2, 3, 5])
def test_classification_equals_scikit_learn(k: int) -> None:
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(k)
    m = 300
    labels = rng.integers(0, k, m)
    labels[labels == k - 1] = 0 if k > 2 else labels[labels == k - 1]  # k>2: a class unused
    outputs = np.round(rng.random((m, k)) + 0.3 * np.eye(k)[labels], 1)
    if k == 2:  # one sigmoid output, with ties in the scores
        outputs = np.round(rng.random((m, 1)) * 0.6 + 0.4 * labels[:, None], 1)
    m_ = _tally(outputs, labels, k, chunk=64).result()
    pred = predicted_classes(outputs)
    every = list(range(k))
    p, r, f, s = sk.precision_recall_fscore_support(labels, pred, labels=every,
                                                    zero_division=0)
    np.testing.assert_allclose(m_.precision, p, rtol=1e-12)
    np.testing.assert_allclose(m_.recall, r, rtol=1e-12)
    np.testing.assert_allclose(m_.f1, f, rtol=1e-12)
    assert m_.support == tuple(s.tolist())
    for average, ours in (("macro", m_.macro), ("weighted", m_.weighted)):
        ap, ar, af, _ = sk.precision_recall_fscore_support(labels, pred, labels=every,
                                                           average=average, zero_division=0)
        assert (ours.precision, ours.recall, ours.f1) == pytest.approx((ap, ar, af), rel=1e-12)
    assert m_.accuracy == sk.accuracy_score(labels, pred)
    assert m_.confusion.tolist() == sk.confusion_matrix(labels, pred, labels=every).tolist()
    if k == 2:
        assert m_.roc_auc == pytest.approx(sk.roc_auc_score(labels, outputs[:, 0]), rel=1e-12)


def test_regression_equals_scikit_learn() -> None:
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    y = rng.normal(50, 20, size=(120, 3))
    y[:, 2] = 7.0  # a constant output
    yhat = y + rng.normal(0, 5, size=y.shape)
    tally = RegressionTally(("a", "b", "c"))
    tally.add(yhat[:50], y[:50])
    tally.add(yhat[50:], y[50:])
    r = tally.result()
    np.testing.assert_allclose(
        r.rmse, sk.root_mean_squared_error(y, yhat, multioutput="raw_values"), rtol=1e-12)
    np.testing.assert_allclose(
        r.mae, sk.mean_absolute_error(y, yhat, multioutput="raw_values"), rtol=1e-12)
    np.testing.assert_allclose(
        r.r2, sk.r2_score(y, yhat, multioutput="raw_values"), rtol=1e-10)
    assert r.overall_rmse == pytest.approx(sk.root_mean_squared_error(y, yhat), rel=1e-12)
    assert r.overall_r2 == pytest.approx(sk.r2_score(y, yhat), rel=1e-10)


def test_errors_whose_squares_overflow_still_have_an_rmse() -> None:
    tally = RegressionTally(("y",))
    with np.errstate(all="raise"):  # and no numpy warning on the way
        tally.add(np.array([[1.2e154], [-1.2e154]]), np.zeros((2, 1)))
        tally.add(np.array([[3e200]]), np.zeros((1, 1)))
        r = tally.result()
    # √((2·(1.2e154)² + (3e200)²) / 3): the first two squares vanish beside the third
    assert r.rmse[0] == pytest.approx(3e200 / np.sqrt(3), rel=1e-12)
    assert r.mae[0] == pytest.approx((2.4e154 + 3e200) / 3, rel=1e-12)
