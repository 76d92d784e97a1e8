"""--top: the vectorised selection gives the order and ties of a plain stable sort (issue 5)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from backprop_cli.io.config import loads_network
from backprop_cli.network import Param
from backprop_cli.present import Options
from backprop_cli.present.json import render_csv, render_ndjson
from backprop_cli.reports.analyze import AnalyzeReport, all_params, analyze
from backprop_cli.reports.rows import top_order

# Every weight 0.5 and every bias 0: the three hidden neurons are alike, so ∂C/∂w(1)j0 and
# ∂C/∂b(1)j are one value (input 0 is 1.0), ∂C/∂w(1)j1 are 0.0 (input 1 is 0.0), and each
# output's three weights share one value: nine, three and three ties, and zeros.
TIED = """
name: tied
input_size: 2
cost: squared_error
layers:
  - size: 3
    activation: sigmoid
    weights: [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]
    biases: [0, 0, 0]
  - size: 2
    activation: sigmoid
    weights: [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]
    biases: [0, 0]
examples:
  - {input: [1, 0], target: [0, 1]}
"""


def brute_force_top(report: AnalyzeReport, top: int) -> list[tuple[Param, float]]:
    """Every selected parameter in file order, Python's (stable) sort by −|∂C/∂param|."""
    grads = [(p, report.trace.param_gradient(p.layer, p.kind, p.j, p.k)[1])
             for p in all_params(report.network, report.layers)]
    return sorted(grads, key=lambda item: -abs(item[1]))[:top]


@pytest.fixture
def tied() -> AnalyzeReport:
    return analyze(loads_network(TIED, "tied.yaml"))


def test_the_network_has_the_ties_the_test_is_about(tied: AnalyzeReport) -> None:
    g_w1, g_b1 = tied.trace.grad_w[0], tied.trace.grad_b[0]
    assert g_w1[0, 0] != 0 and np.all(g_w1[:, 0] == g_w1[0, 0]) and np.all(g_b1 == g_w1[0, 0])
    assert np.all(g_w1[:, 1] == 0)
    g_w2 = tied.trace.grad_w[1]
    assert np.all(g_w2 == g_w2[:, :1]) and g_w2[0, 0] != g_w2[1, 0]
    assert len({abs(float(g)) for g in tied.trace.grad_b[1]}) == 2


@pytest.mark.parametrize("layer", [None, 1, 2])
def test_top_k_is_the_stable_sort_for_every_k(tied: AnalyzeReport, layer: int | None) -> None:
    net = tied.network
    report = analyze(net, layer=layer)
    total = len(all_params(net, report.layers))
    for top in range(1, total + 3):
        report = analyze(net, layer=layer, top=top)
        expected = brute_force_top(report, top)
        assert report.top_params() == expected
        assert report.params() == [p for p, _ in expected]


def test_the_tie_order_is_pinned(tied: AnalyzeReport) -> None:
    """Not only equal to the brute force: equal |∂C/∂param| keep file order (per layer w row by
    row, then b), across w and b and with the zeros last."""
    full = analyze(tied.network, top=17).top_params()
    w, b = "w", "b"
    assert [(p.layer, p.kind, p.j, p.k) for p, _ in full] == [
        (2, b, 0, None), (2, w, 0, 0), (2, w, 0, 1), (2, w, 0, 2),
        (2, b, 1, None), (2, w, 1, 0), (2, w, 1, 1), (2, w, 1, 2),
        (1, w, 0, 0), (1, w, 1, 0), (1, w, 2, 0), (1, b, 0, None), (1, b, 1, None),
        (1, b, 2, None), (1, w, 0, 1), (1, w, 1, 1), (1, w, 2, 1)]
    assert [g for _, g in full][-3:] == [0.0, 0.0, 0.0]
    assert analyze(tied.network, top=10).params()[-2:] == [Param(1, w, 0, 0), Param(1, w, 1, 0)]


def test_top_rows_and_json_follow_the_top_order(tied: AnalyzeReport) -> None:
    net = tied.network
    for top in (1, 4, 7, 50):
        report = analyze(net, top=top)
        expected = brute_force_top(report, top)
        blocks = [(b.layer, b.kind, j, None if b.k is None else int(b.k[i]))
                  for size in (1, 2, 1 << 16) for b in report.row_blocks(size)
                  for i, j in enumerate(b.j.tolist())]
        order = [(p.layer, p.kind, p.j, p.k) for p, _ in expected]
        assert blocks == order * 3
        out = io.StringIO()
        render_ndjson(report, out, Options())
        rows = [json.loads(line) for line in out.getvalue().splitlines()]
        assert [(r["layer"], r["kind"], r["j"], r["k"]) for r in rows] == order
        assert [r["mean_gradient"] for r in rows] == [g for _, g in expected]
        doc = report.to_dict()["top"]
        assert [(d["layer"], d["kind"], d["j"], d["k"], d["gradient"]) for d in doc] == [
            (*o, g) for o, (_, g) in zip(order, expected, strict=True)]
        csv_out = io.StringIO()
        render_csv(report, csv_out, Options())
        assert len(csv_out.getvalue().splitlines()) == 1 + len(order)


@pytest.mark.parametrize("seed", range(20))
def test_top_order_is_a_stable_argsort_with_nan_last(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    magnitude = np.abs(rng.integers(-3, 4, n).astype(float))  # few values: many ties
    magnitude[rng.random(n) < 0.1] = np.nan
    magnitude[rng.random(n) < 0.05] = np.inf
    key = np.where(np.isnan(magnitude), np.inf, -magnitude)
    for top in range(1, n + 2):
        expected = np.argsort(key, kind="stable")[:top]
        assert top_order(magnitude, top).tolist() == expected.tolist()
    assert top_order(magnitude, None).tolist() == np.argsort(key, kind="stable").tolist()
