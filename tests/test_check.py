"""backprop check: analytic gradients against central finite differences."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import CONFIGS
from typer.testing import CliRunner

from backprop_cli.activations import ACTIVATIONS
from backprop_cli.cli import app
from backprop_cli.io.config import load_network, loads_network
from backprop_cli.reports.check import GRADIENT_FLOOR, all_params, check_gradients

SHIPPED = sorted(CONFIGS.glob("*.yaml"))
FULL_CHECK_LIMIT = 2000  # parameters; larger networks are sampled


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_check_passes_on_every_shipped_config(path: Path) -> None:
    net = load_network(path)
    if net.examples is None:
        pytest.skip(f"{path.name} has no examples (its data is a CSV)")
    args = ["check", str(path), "--format", "json"]
    sample = net.parameter_count > FULL_CHECK_LIMIT
    if sample:
        args += ["--sample", "300", "--seed", "1"]
    code, out, err = run(*args)
    doc = json.loads(out)
    assert code == 0, err
    assert doc["passed"] is True and doc["failed"] == 0
    assert doc["checked"] == (300 if sample else net.parameter_count)
    for layer in doc["layers"]:
        assert layer["max_rel_error"] <= 1e-6
        assert layer["failed"] == 0


def test_wrong_derivative_fails_with_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    sigmoid = ACTIVATIONS["sigmoid"]
    wrong = dataclasses.replace(sigmoid, derivative=lambda z, a: 1.1 * a * (1 - a))
    monkeypatch.setitem(ACTIVATIONS, "sigmoid", wrong)
    code, out, err = run("check", str(CONFIGS / "two-layer.yaml"), "--format", "json")
    assert code == 1
    doc = json.loads(out)
    assert doc["passed"] is False
    # Layer 2's δ is 1.1 × too large: the relative error is 0.1/1.1 for every one of its
    # parameters; layer 1's δ is 1.1² × too large: 0.21/1.21.
    layer1, layer2 = doc["layers"]
    assert layer2["failed"] == layer2["checked"] == 8
    assert layer2["max_rel_error"] == pytest.approx(0.1 / 1.1, rel=1e-6)
    assert layer1["max_rel_error"] == pytest.approx(0.21 / 1.21, rel=1e-6)
    assert "gradient check failed: 17 of 17 parameters" in err


def test_wrong_derivative_table_says_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    tanh = ACTIVATIONS["tanh"]
    monkeypatch.setitem(ACTIVATIONS, "tanh",
                        dataclasses.replace(tanh, derivative=lambda z, a: 1 - 0.9 * a * a))
    code, out, _ = run("check", str(CONFIGS / "softmax.yaml"))
    assert code == 1
    assert "FAILED" in out
    # only the tanh layer (layer 1) is wrong; the softmax layer's gradient stays right
    net = load_network(CONFIGS / "softmax.yaml")
    assert net.examples is not None
    report = check_gradients(net, net.examples.inputs, net.examples.targets)
    assert report.layers[0].failed > 0 and report.layers[1].failed == 0


def test_numbers_and_formula_on_the_chain() -> None:
    net = load_network(CONFIGS / "chain.yaml")
    assert net.examples is not None
    report = check_gradients(net, net.examples.inputs, net.examples.targets, eps=1e-5)
    assert report.passed and len(report.params) == 6
    c0 = 0.2128918  # C0 of the one example (see analyze)
    for c in report.params:
        assert c.analytic.shape == (2,)  # example 0 and the full cost
        np.testing.assert_allclose(c.numeric, c.analytic, rtol=1e-8)
        floor = GRADIENT_FLOOR * max(1.0, c0)
        expected = c.abs_err / np.maximum(np.maximum(abs(c.analytic), abs(c.numeric)), floor)
        np.testing.assert_allclose(c.rel_err, expected)
    # ∂C/∂w(3)00 = 2(a − y) · σ'(z) · a(2)0, from analyze's numbers
    w3 = next(c for c in report.params if c.param.layer == 3 and c.param.kind == "w")
    a3, a2 = 0.5385972974206049, 0.36979797300719053
    assert w3.analytic[1] == pytest.approx(2 * (a3 - 1) * a3 * (1 - a3) * a2, rel=1e-12)
    assert w3.numeric[1] == pytest.approx(-0.08480451208617167, rel=1e-8)


def test_tiny_gradients_are_compared_against_the_floor() -> None:
    # Input 0 makes ∂C/∂w(1)00 exactly 0; its numeric difference is rounding noise.
    net = loads_network(
        "input_size: 1\nlayers:\n  - {size: 1, weights: [[0.5]], biases: [0.2]}\n"
        "examples:\n  - {input: [0.0], target: [1.0]}\n")
    assert net.examples is not None
    report = check_gradients(net, net.examples.inputs, net.examples.targets)
    w = report.params[0]
    assert w.analytic[0] == 0.0
    assert w.rel_err[0] <= 1e-6
    assert report.passed


def test_sample_is_seeded() -> None:
    net = load_network(CONFIGS / "mnist-784-16-16-10.yaml")
    assert net.examples is not None
    x, y = net.examples.inputs, net.examples.targets
    a = check_gradients(net, x, y, sample=20, seed=3)
    b = check_gradients(net, x, y, sample=20, seed=3)
    c = check_gradients(net, x, y, sample=20, seed=4)
    assert [p.param for p in a.params] == [p.param for p in b.params]
    assert [p.param for p in a.params] != [p.param for p in c.params]
    assert len(a.params) == 20 and sum(lc.checked for lc in a.layers) == 20
    assert set(p.param for p in a.params) <= set(all_params(net))


def test_all_lists_every_parameter() -> None:
    code, out, _ = run("check", str(CONFIGS / "two-layer.yaml"), "--all", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    names = [(p["layer"], p["kind"], p["j"], p["k"]) for p in doc["parameters"]]
    assert len(names) == 17 and names[0] == (1, "w", 0, 0) and names[-1] == (2, "b", 1, None)
    assert len(doc["parameters"][0]["analytic"]) == 2  # one per example
    code, out, _ = run("check", str(CONFIGS / "two-layer.yaml"), "--all", "--limit", "0")
    assert code == 0 and len(re.findall(r"\bok\b", out)) == 17 and "PASSED" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--eps", "0"], "--eps 0.0: expected a step > 0"),
        (["--tolerance", "-1"], "--tolerance -1.0: expected a number > 0"),
        (["--sample", "0"], "--sample 0: expected a whole number ≥ 1"),
        (["--eps", "nan"], "--eps nan: expected a step > 0 that is finite"),
        (["--eps", "inf"], "--eps inf: expected a step > 0 that is finite"),
        (["--tolerance", "nan"], "--tolerance nan: expected a number > 0 that is finite"),
        (["--eps", "1e-20"], "--eps 1e-20: θ ± ε rounds back to θ for w1.0.0 = 0.8"),
        (["--eps", "1e-20", "-f", "json"], "use --eps 1e-16 at the very least"),
    ],
)
def test_bad_options_exit_2(args: list[str], message: str) -> None:
    code, out, err = run("check", str(CONFIGS / "chain.yaml"), *args)
    assert code == 2 and out == ""
    assert message in err


def test_network_without_examples_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text("input_size: 1\nlayers:\n  - {size: 1, weights: [[1.0]], biases: [0.0]}\n")
    code, out, err = run("check", str(path))
    assert code == 2 and out == ""
    assert "no 'examples:'" in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["check", "nudge", "diagnose", "init", "schema"])
def test_toolkit_commands_have_help_with_an_example(command: str) -> None:
    code, out, _ = run(command, "--help")
    assert code == 0
    assert "Example:" in out and f"backprop {command}" in out


def test_a_nan_difference_fails_and_stays_json() -> None:
    net = load_network(CONFIGS / "chain.yaml")
    assert net.examples is not None
    report = check_gradients(net, net.examples.inputs, net.examples.targets)
    assert report.passed
    first = report.params[0]
    rel = first.rel_err.copy()
    rel[0] = np.nan
    broken = dataclasses.replace(report, params=(dataclasses.replace(first, rel_err=rel),
                                                 *report.params[1:]))
    assert not broken.passed and broken.failed == [broken.params[0]]
    assert broken.params[0].worst == 0
    doc = json.loads(json.dumps(broken.to_dict(), allow_nan=False))
    assert doc["passed"] is False and doc["failed"] == 1
