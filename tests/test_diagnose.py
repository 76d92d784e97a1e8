"""backprop diagnose: gradient norms per layer, saturation, dead ReLUs, findings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import CONFIGS
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.network import Examples, Layer, Network
from backprop_cli.reports.diagnose import diagnose


def diagnose_json(config: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["diagnose", str(CONFIGS / config), "-f", "json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def codes(net: Network) -> dict[str, list[int | None]]:
    assert net.examples is not None
    found: dict[str, list[int | None]] = {}
    for f in diagnose(net, net.examples.inputs, net.examples.targets).findings:
        found.setdefault(f.code, []).append(f.layer)
    return found


def test_norms_match_analyze_on_two_layer() -> None:
    doc = diagnose_json("two-layer.yaml")
    result = CliRunner().invoke(app, ["analyze", str(CONFIGS / "two-layer.yaml"), "-f", "json"])
    gradient = json.loads(result.stdout)["gradient"]["layers"]
    norms = [float(np.linalg.norm(g["dC_dw"])) for g in gradient]
    assert [d["grad_norm"] for d in doc["layers"]] == pytest.approx(norms, rel=1e-12)
    assert doc["layers"][0]["grad_ratio"] == pytest.approx(norms[0] / norms[1], rel=1e-12)
    assert doc["layers"][1]["grad_ratio"] == 1.0
    assert doc["layers"][0]["grad_norm"] == pytest.approx(0.0419050, rel=1e-5)
    w1 = np.array([0.5, -0.3, 0.2, 0.8, -0.6, 0.1])
    assert doc["layers"][0]["weights"] == pytest.approx(
        {"mean": 0.7 / 6, "std": float(np.std(w1)), "min": -0.6, "max": 0.8}, rel=1e-12)
    assert doc["layers"][1]["dead"] is None  # not a ReLU layer
    assert [f["code"] for f in doc["findings"]] == ["healthy"]


@pytest.mark.parametrize("config", ["chain.yaml", "softmax.yaml", "mnist-784-16-16-10.yaml"])
def test_shipped_configs_are_healthy(config: str) -> None:
    doc = diagnose_json(config)
    assert [f["code"] for f in doc["findings"]] == ["healthy"]
    assert all(d["saturated"] == 0.0 for d in doc["layers"])


def _net(names: list[str], weights: list[list[list[float]]], biases: list[list[float]],
         inputs: list[list[float]], targets: list[list[float]]) -> Network:
    layers = tuple(Layer(n, np.array(w, dtype=float), np.array(b, dtype=float))
                   for n, w, b in zip(names, weights, biases, strict=True))
    return Network(len(inputs[0]), layers, examples=Examples(np.array(inputs, dtype=float),
                                                              np.array(targets, dtype=float)))


def test_dead_relu() -> None:
    # neuron 1 of layer 1 has z = −1 − x ≤ 0 for both (non-negative) inputs: dead
    net = _net(["relu", "linear"], [[[1.0], [-1.0]], [[1.0, 1.0]]], [[0.0, -1.0], [0.0]],
               [[0.5], [2.0]], [[1.0], [0.0]])
    found = codes(net)
    assert found == {"dead_relu": [1]}
    assert net.examples is not None
    d = diagnose(net, net.examples.inputs, net.examples.targets)
    assert d.layers[0].dead == (1,)
    assert d.layers[0].saturated == pytest.approx(0.5)  # σ' = 0 on the dead neuron
    assert "1 of 2 ReLU neurons in layer 1 are dead" in d.findings[0].message


def test_saturation_and_large_weights() -> None:
    # z(1) = ±20 x: σ'(z) ≈ 2e-9, far below 1% of 0.25
    net = _net(["sigmoid", "sigmoid"], [[[20.0], [-20.0]], [[0.5, 0.5]]], [[0.0, 0.0], [0.0]],
               [[1.0], [-1.0]], [[1.0], [0.0]])
    found = codes(net)
    assert found["saturated"] == [1]
    assert found["large_weights"] == [1]
    assert found["vanishing_gradient"] == [1]
    assert net.examples is not None
    d = diagnose(net, net.examples.inputs, net.examples.targets)
    assert d.layers[0].saturated == 1.0 and d.layers[1].saturated == 0.0
    assert d.layers[0].grad_ratio is not None and d.layers[0].grad_ratio < 1e-6


@pytest.mark.parametrize(("activation", "cost", "reported"), [
    ("sigmoid", "squared_error", True),  # δ = 2(a − y)·σ'(z): the step vanishes
    ("sigmoid", "cross_entropy", False),  # δ = a − y: σ' cancels
    ("softmax", "categorical_cross_entropy", False),
])
def test_a_saturated_output_layer_is_reported_unless_the_cost_cancels_sigma_prime(
        activation: str, cost: str, reported: bool) -> None:
    # z(2) = ±30: the outputs are saturated, and wrong, on both examples
    inputs = np.array([[1.0], [-1.0]])
    targets = np.array([[0.0, 1.0], [1.0, 0.0]])
    layers = (Layer("tanh", np.array([[1.0]]), np.array([0.0])),
              Layer(activation, np.array([[30.0], [-30.0]]) / np.tanh(1.0), np.zeros(2)))
    net = Network(1, layers, cost, examples=Examples(inputs, targets))
    d = diagnose(net, inputs, targets)
    assert d.layers[1].saturated == 1.0  # shown either way
    assert ("saturated" in {f.code for f in d.findings}) is reported
    # Wrong answers: with σ' in δ the gradient has vanished; with a − y it is of order 1.
    assert (d.layers[1].grad_norm < 1e-10) is reported
    assert (d.layers[1].grad_norm > 0.1) is not reported
    # Not a warning, but the table's 100% is explained rather than contradicted.
    notes = [f for f in d.findings if f.code == "saturated_output"]
    assert len(notes) == (0 if reported else 1)
    if not reported:
        assert notes[0].severity == "ok" and notes[0].layer == 2
        assert notes[0].message.startswith("100% of layer 2's outputs are saturated on the 2 "
                                           "examples, which is no finding")
        assert [f.code for f in d.findings] == ["large_weights", "saturated_output"]


def test_symmetric_weights_and_exploding_gradient() -> None:
    net = _net(["linear", "linear"], [[[1.0], [1.0]], [[300.0, 300.0]]], [[0.0, 0.0], [0.0]],
               [[0.001]], [[0.0]])
    found = codes(net)
    assert found["symmetric_weights"] == [1]  # layer 2 has one neuron: no symmetry to break
    assert found["exploding_gradient"] == [1]


def test_table_and_help() -> None:
    result = CliRunner().invoke(app, ["diagnose", str(CONFIGS / "two-layer.yaml"), "--ascii"])
    assert result.exit_code == 0
    assert "Diagnosis of two-layer (2-3-2) on 2 examples: C = 0.496" in result.stdout
    assert "ok: no vanishing or exploding gradient" in result.stdout
    assert "suggestion:" in result.stdout


def test_no_examples_exits_2(tmp_path: Any) -> None:
    path = tmp_path / "net.yaml"
    path.write_text("input_size: 1\nlayers:\n  - {size: 1, weights: [[1.0]], biases: [0.0]}\n")
    result = CliRunner().invoke(app, ["diagnose", str(path)])
    assert result.exit_code == 2 and result.stdout == ""
    assert "no 'examples:'" in result.stderr


def test_all_zero_inputs_are_reported_not_as_vanishing() -> None:
    net = _net(["sigmoid", "sigmoid"], [[[0.5, -0.5]], [[2.0]]], [[0.1], [0.0]],
               [[0.0, 0.0]], [[1.0]])
    assert codes(net) == {"zero_inputs": [1]}


def test_weights_near_the_float_limit_give_finite_statistics(tmp_path: Any) -> None:
    """Squares of 1e300 overflow; the statistics and norms are scaled so they do not."""
    net_file = tmp_path / "huge.yaml"
    net_file.write_text(
        "input_size: 2\nlayers:\n"
        "  - {size: 2, activation: tanh, weights: [[1.0e+300, -0.5], [-1.0e+300, 0.3]],"
        " biases: [0, 0]}\n"
        "  - {size: 1, activation: sigmoid, weights: [[0.5, -0.5]], biases: [0]}\n"
        "examples:\n  - {input: [1, 0], target: [1]}\n"
    )
    result = CliRunner().invoke(app, ["diagnose", str(net_file), "-f", "json"])
    assert result.exit_code == 0, result.stderr
    layer1 = json.loads(result.stdout)["layers"][0]
    w = np.array([1e300, -0.5, -1e300, 0.3])
    assert layer1["weights"]["mean"] == pytest.approx(np.mean(w / 1e300) * 1e300)
    assert layer1["weights"]["std"] == pytest.approx(1e300 * np.std(w / 1e300))


def test_healthy_with_a_saturated_output_says_so() -> None:
    # softmax + categorical cross-entropy, outputs saturated and right: healthy, and the ok
    # line does not claim "no saturation" next to a table showing 100%
    inputs = np.array([[1.0], [-1.0]])
    targets = np.array([[1.0, 0.0], [0.0, 1.0]])
    layers = (Layer("tanh", np.array([[1.0]]), np.array([0.0])),
              Layer("softmax", np.array([[4.0], [-4.0]]), np.zeros(2)))
    net = Network(1, layers, "categorical_cross_entropy", examples=Examples(inputs, targets))
    d = diagnose(net, inputs, targets)
    assert [f.code for f in d.findings] == ["healthy", "saturated_output"]
    assert d.findings[0].message.endswith("(the saturated output below is no finding).")


def test_strict_exits_1_on_a_warning_with_the_same_output(tmp_path: Path) -> None:
    # z(1) = ±20 x: saturated, vanishing and large weights (as in the test above)
    net = tmp_path / "sat.yaml"
    net.write_text("input_size: 1\nlayers:\n"
                   "  - {size: 2, weights: [[20.0], [-20.0]], biases: [0, 0]}\n"
                   "  - {size: 1, weights: [[0.5, 0.5]], biases: [0]}\n"
                   "examples: [{input: [1.0], target: [1.0]}, {input: [-1.0], target: [0.0]}]\n",
                   encoding="utf-8")
    runner = CliRunner()
    plain = runner.invoke(app, ["diagnose", str(net), "-f", "json"])
    strict = runner.invoke(app, ["diagnose", str(net), "-f", "json", "--strict"])
    assert (plain.exit_code, strict.exit_code) == (0, 1)
    assert strict.stdout == plain.stdout
    assert strict.stderr == ("backprop: error: diagnose --strict: 3 warnings (vanishing_gradient, "
                             "saturated, large_weights)\n")
    healthy = runner.invoke(app, ["diagnose", str(CONFIGS / "chain.yaml"), "--strict"])
    assert healthy.exit_code == 0, healthy.stderr
