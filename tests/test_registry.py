"""Adding an activation or a cost is one registry entry: a throw-away one registered here reaches
analyze (json, the derivation in markdown, latex and text), train (the fast path, without
in-place kernels) and the HTML page."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import invoke, write

from backprop_cli.activations import ACTIVATIONS, Activation
from backprop_cli.costs import COSTS, Cost
from backprop_cli.engine import backprop
from backprop_cli.fastpath import Model
from backprop_cli.io.config import loads_network

# softsign keeps |σ(z)| ≤ |z| + 1, which Trainer._bounded relies on for every σ. Its LaTeX
# command \varsigma is not one the text renderer knows: the entry brings its words.
SOFTSIGN = Activation(
    "softsign", lambda z: z / (1 + np.abs(z)), lambda z, a: 1 / (1 + np.abs(z)) ** 2,
    "z / (1 + |z|)", r"\varsigma",
    derivative_formula=(r"\frac{1}{\left(1 + \left|$z\right|\right)^2}",),
    words={"varsigma": ("ς", "softsign")},
)
HALF_SQUARED = Cost(
    "half_squared_error", lambda a, y: 0.5 * np.sum((a - y) ** 2, axis=1), lambda a, y: a - y,
    "C0 = ½ Σj (a(L)j − yj)²", r"\frac{1}{2} \sum_j \left(a^{(L)}_j - y_j\right)^2",
    dC_da_latex="$a - y_{$j}", dC_da_values="$a - $y",
)
NET = """name: throwaway
input_size: 2
cost: half_squared_error
layers:
  - {size: 2, activation: softsign, weights: [[0.5, -0.25], [0.125, 1.0]], biases: [0.1, -0.2]}
  - {size: 1, activation: sigmoid, weights: [[1.5, -0.75]], biases: [0.05]}
examples:
  - {input: [1.0, 2.0], target: [1.0]}
"""
Z1 = np.array([0.5 - 0.5 + 0.1, 0.125 + 2.0 - 0.2])


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ACTIVATIONS, "softsign", SOFTSIGN)
    monkeypatch.setitem(COSTS, "half_squared_error", HALF_SQUARED)


def test_analyze_json_has_the_new_factors(registered: None, tmp_path: Path) -> None:
    result = invoke("analyze", write(tmp_path, "n.yaml", NET), "-f", "json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    layer = report["examples"][0]["layers"][0]
    assert layer["activation"] == "softsign"
    np.testing.assert_allclose(layer["a"], Z1 / (1 + np.abs(Z1)), rtol=1e-15)
    np.testing.assert_allclose(layer["da_dz"], 1 / (1 + np.abs(Z1)) ** 2, rtol=1e-15)
    a2 = 1 / (1 + np.exp(-(1.5 * layer["a"][0] - 0.75 * layer["a"][1] + 0.05)))
    assert report["examples"][0]["cost"] == pytest.approx(0.5 * (a2 - 1) ** 2, rel=1e-14)


def test_the_derivation_writes_its_formulas(registered: None, tmp_path: Path) -> None:
    net = write(tmp_path, "n.yaml", NET)
    for fmt in ("markdown", "latex"):
        result = invoke("analyze", net, "-f", fmt)
        assert result.exit_code == 0, result.stderr
        assert r"\varsigma'\left(z^{(1)}_{0}\right)" in result.stdout
        assert r"\frac{1}{\left(1 + \left|z^{(1)}_{0}\right|\right)^2}" in result.stdout
        assert r"C_0 = \frac{1}{2} \sum_j" in result.stdout
        assert r"a^{(2)}_{0} - y_{0}" in result.stdout  # ∂C0/∂a(L)0, the cost's own


def test_the_text_derivation_reads_its_words(registered: None, tmp_path: Path) -> None:
    net = write(tmp_path, "n.yaml", NET)
    result = invoke("analyze", net, "-f", "text")
    assert result.exit_code == 0, result.stderr
    assert "ς'(z⁽¹⁾₀)" in result.stdout
    result = invoke("analyze", net, "-f", "text", "--ascii")
    assert result.exit_code == 0, result.stderr
    assert "softsign'(z(1)_0)" in result.stdout


def test_html_page_names_it(registered: None, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = invoke("report", write(tmp_path, "n.yaml", NET), "-o", out)
    assert result.exit_code == 0, result.stderr
    page = out.read_text(encoding="utf-8")
    assert '"softsign"' in page and "C0 = ½ Σj" in page
    # without a JS form the page cannot recompute it: it is static and says why
    assert ("This page is static: the activation softsign has no JavaScript form (no js in its "
            "entry in activations.py), so the page cannot recompute it.") in page
    assert '"live": false' in page


def test_train_runs_it_and_writes_it(registered: None, tmp_path: Path) -> None:
    net = write(tmp_path, "n.yaml", NET)
    data = write(tmp_path, "d.csv", "x1,x2,y\n1,2,1\n0,1,0\n2,0,1\n")
    out = tmp_path / "t.yaml"
    result = invoke("train", net, data, "--out", out, "--epochs", "3", "-q", "-f", "json")
    assert result.exit_code == 0, result.stderr
    trained = out.read_text(encoding="utf-8")
    assert "activation: softsign" in trained and "cost: half_squared_error" in trained
    assert loads_network(trained).layers[0].weights.tolist() != [[0.5, -0.25], [0.125, 1.0]]


def test_fast_path_equals_the_engine_without_kernels(registered: None) -> None:
    net = loads_network(NET)
    assert net.examples is not None
    x, y = net.examples.inputs, net.examples.targets
    model = Model(net)
    cost = model.gradients(x, y)
    trace = backprop(net, x, y)
    assert cost == pytest.approx(trace.cost, rel=1e-12)
    for l, grad in enumerate(model.grads()):  # noqa: E741 — [∂C/∂w(l)ᵀ; ∂C/∂b(l)ᵀ]
        np.testing.assert_allclose(grad[:-1].T, trace.grad_w[l], rtol=1e-12)
        np.testing.assert_allclose(grad[-1], trace.grad_b[l], rtol=1e-12)


def test_diagnose_reads_its_flags(registered: None, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # huge weights saturate softsign (σ' → 0); registered as not saturating, it is not reported
    big = NET.replace("[[0.5, -0.25], [0.125, 1.0]]", "[[500, -250], [125, 1000]]")
    net = write(tmp_path, "n.yaml", big)
    codes = [f["code"] for f in json.loads(invoke("diagnose", net, "-f", "json").stdout)
             ["findings"] if f["layer"] == 1]
    assert "saturated" in codes and "dead_relu" not in codes
    monkeypatch.setitem(ACTIVATIONS, "softsign", Activation(**{
        **SOFTSIGN.__dict__, "saturates": False}))
    codes = [f["code"] for f in json.loads(invoke("diagnose", net, "-f", "json").stdout)
             ["findings"] if f["layer"] == 1]
    assert "saturated" not in codes


def test_a_typo_of_it_is_suggested(registered: None, tmp_path: Path) -> None:
    result = invoke("analyze", write(tmp_path, "n.yaml", NET.replace("softsign", "sotfsign")))
    assert result.exit_code == 2 and "did you mean 'softsign'?" in result.stderr
