"""Extreme but valid values give finite, correct numbers (or a clear refusal), never a numpy
warning or a silent NaN. Every test here runs with warnings as errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from backprop_cli.activations import ACTIVATIONS
from backprop_cli.cli import app
from backprop_cli.costs import COSTS
from backprop_cli.engine import backprop
from backprop_cli.errors import NumericalError
from backprop_cli.io.config import load_network
from backprop_cli.network import PROBABILITY_ACTIVATIONS, Examples, Layer, Network
from backprop_cli.reports.analyze import analyze
from backprop_cli.reports.check import check_gradients
from backprop_cli.reports.diagnose import diagnose
from backprop_cli.reports.train import evaluate
from backprop_cli.train import Trainer, TrainOptions

pytestmark = pytest.mark.filterwarnings("error")

PAIRS = [(a, c) for a in ACTIVATIONS for c in COSTS
         if not COSTS[c].probability_targets or a in PROBABILITY_ACTIVATIONS]


def softplus(z: float) -> float:
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


def expected_cost(activation: str, cost: str, z: float, y: float) -> float:
    """C0 of one output neuron (two for softmax: z(L) = (z, −z), targets (y, 1 − y)), written
    with the stable forms of ln σ: ln σ(z) = −softplus(−z)."""
    if activation == "softmax":
        ln_a0, ln_a1 = -softplus(-2 * z), -softplus(2 * z)
        a0, a1 = math.exp(ln_a0), math.exp(ln_a1)
        if cost == "squared_error":
            return (a0 - y) ** 2 + (a1 - (1 - y)) ** 2
        if cost == "categorical_cross_entropy":
            return -(y * ln_a0 + (1 - y) * ln_a1)
        # ln(1 − a0) = ln a1 and ln(1 − a1) = ln a0: both sums of the cost are equal
        return -2 * (y * ln_a0 + (1 - y) * ln_a1)
    if cost == "cross_entropy":
        return softplus(z) - y * z
    if cost == "categorical_cross_entropy":
        return y * softplus(-z)
    a = {"sigmoid": sigmoid(z), "tanh": math.tanh(z), "relu": max(z, 0.0),
         "leaky_relu": z if z > 0 else 0.01 * z, "linear": z, "softplus": softplus(z)}[activation]
    return (a - y) ** 2


def expected_delta(activation: str, cost: str, z: float, y: float) -> float | None:
    """δ(L) = ∂C0/∂z(L) of the single output neuron, where it has a simple closed form."""
    if activation == "softmax":
        return None
    a = sigmoid(z) if activation == "sigmoid" else None
    if cost == "cross_entropy":
        assert a is not None
        return a - y
    if cost == "categorical_cross_entropy":
        assert a is not None
        return y * (a - 1)
    value = {"sigmoid": sigmoid(z), "tanh": math.tanh(z), "relu": max(z, 0.0),
             "leaky_relu": z if z > 0 else 0.01 * z, "linear": z, "softplus": softplus(z)}
    slope = {"sigmoid": sigmoid(z) * (1 - sigmoid(z)), "tanh": 1 - math.tanh(z) ** 2,
             "relu": float(z > 0), "leaky_relu": 1.0 if z > 0 else 0.01, "linear": 1.0,
             "softplus": sigmoid(z)}
    return 2 * (value[activation] - y) * slope[activation]


def one_layer(activation: str, cost: str, w: float, x: float, y: float) -> Network:
    """One input, z(1) = w·x: one output neuron, or two (w, −w) for softmax."""
    n = 2 if activation == "softmax" else 1
    weights = np.array([[w], [-w]][:n])
    targets = np.array([[y, 1 - y][:n]])
    return Network(1, (Layer(activation, weights, np.zeros(n)),), cost=cost,
                   examples=Examples(np.array([[x]]), targets))


# z = ±1e4 from weights ±1e4 (x = 1), inputs ±1e6 (w = ±1e-2), targets exactly 0 or 1.
EXTREMES = [(1e4, 1.0), (-1e4, 1.0), (1e-2, 1e6), (-1e-2, 1e6), (1e-2, -1e6)]


@pytest.mark.parametrize(("activation", "cost"), PAIRS)
@pytest.mark.parametrize("y", [0.0, 1.0])
def test_saturated_single_layer_is_finite_and_exact(activation: str, cost: str,
                                                     y: float) -> None:
    for w, x in EXTREMES:
        net = one_layer(activation, cost, w, x, y)
        assert net.examples is not None
        xs, ys = net.examples.inputs, net.examples.targets
        z = w * x
        trace = backprop(net, xs, ys)
        assert math.isclose(trace.cost, expected_cost(activation, cost, z, y),
                            rel_tol=1e-12, abs_tol=1e-12), (w, x)
        delta = expected_delta(activation, cost, z, y)
        dC_dz = trace.layers[0].dC_dz
        assert np.isfinite(dC_dz).all()
        if delta is not None:
            assert math.isclose(dC_dz[0, 0], delta, rel_tol=1e-12, abs_tol=1e-300), (w, x)
            # ∂C0/∂w = δ · a(0) = δ · x
            assert math.isclose(trace.grad_w[0][0, 0], delta * x, rel_tol=1e-12,
                                abs_tol=1e-300)
        for t in trace.layers:
            assert all(np.isfinite(v).all() for v in (t.z, t.a, t.dC_da, t.da_dz, t.dC_dw))
        # the same numbers through every consumer, still without a warning
        report = analyze(net)
        assert report.trace.cost == trace.cost
        assert np.isfinite(diagnose(net, xs, ys).cost)
        assert evaluate(net, xs, ys).cost == pytest.approx(trace.cost, rel=1e-12, abs=1e-12)
        assert check_gradients(net, xs, ys).params


@pytest.mark.parametrize("hidden", [a for a in ACTIVATIONS if a != "softmax"])
@pytest.mark.parametrize(("output", "cost"), [("sigmoid", "cross_entropy"),
                                              ("softmax", "categorical_cross_entropy"),
                                              ("linear", "squared_error")])
def test_inputs_1e6_weights_1e4_train_and_evaluate(hidden: str, output: str,
                                                    cost: str) -> None:
    """Hidden z ≈ ±1e10; training a few epochs keeps every weight finite and the cost
    finite (or stops as diverged with the last finite weights, never NaN weights)."""
    n = 2 if output == "softmax" else 1
    w1 = np.array([[1e4, -1e4], [-1e4, 1e4], [1e4, 1e4]])
    w2 = np.full((n, 3), 1e-4)
    x = np.array([[1e6, -1e6], [-1e6, 0.5], [0.0, 1e6]])
    y = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])[:, :n]
    net = Network(2, (Layer(hidden, w1, np.zeros(3)), Layer(output, w2, np.zeros(n))),
                  cost=cost, examples=Examples(x, y))
    assert np.isfinite(backprop(net, x, y).cost)
    trainer = Trainer(net, x, y, TrainOptions(epochs=3, batch_size=2, lr=1e-3))
    records = list(trainer.run())
    trained = trainer.network()
    assert all(np.isfinite(layer.weights).all() for layer in trained.layers)
    if trainer.status == "completed":
        assert all(math.isfinite(r.train_cost) for r in records)
        assert math.isfinite(evaluate(trained, x, y).cost)
    else:
        assert trainer.status == "diverged"


def test_overflowing_forward_pass_is_refused_with_the_layer() -> None:
    layers = tuple(Layer("linear", np.array([[1e4]]), np.zeros(1)) for _ in range(90))
    net = Network(1, layers, examples=Examples(np.ones((1, 1)), np.zeros((1, 1))))
    with pytest.raises(NumericalError, match=r"the forward pass: z\(78\)0 overflows float64"):
        backprop(net, net.examples.inputs, net.examples.targets)  # type: ignore[union-attr]


def test_overflowing_cost_is_refused() -> None:
    net = Network(1, (Layer("linear", np.array([[1e200]]), np.zeros(1)),),
                  examples=Examples(np.ones((1, 1)), np.zeros((1, 1))))
    with pytest.raises(NumericalError, match="the cost C0 overflows float64 for example 0"):
        analyze(net)


LINEAR = ("input_size: 1\nlayers:\n  - size: 1\n    activation: linear\n"
          "    weights: [[1.0]]\n    biases: [0.0]\n")


def _train(tmp_path: Path, rows: str, *extra: str) -> tuple[int, str, Path]:
    net, data, out = tmp_path / "net.yaml", tmp_path / "d.csv", tmp_path / "out.yaml"
    net.write_text(LINEAR)
    data.write_text("x,y\n" + rows)
    result = CliRunner().invoke(app, ["train", str(net), str(data), "--out", str(out), "-q",
                                      "--normalize", "none", "--no-shuffle", *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.stderr, out


def test_float32_training_detects_overflow_and_keeps_the_last_finite_weights(
        tmp_path: Path) -> None:
    """x = 1e20: C0 = (1e20 − y)² overflows float32 (max 3.4e38) but not float64. With the
    starting weights already: refused before training (exit 2, the row named, nothing
    written), as analyze refuses a network whose numbers overflow."""
    code, err, out = _train(tmp_path, "1e20,1\n2,0\n", "--dtype", "float32", "--epochs", "3")
    assert code == 2
    assert ":2: the network's starting weights: the cost C0 overflows float32 for this row" \
        in err
    assert not out.exists()
    (tmp_path / "f64").mkdir()
    code, _, out64 = _train(tmp_path / "f64", "1e20,1\n2,0\n", "--epochs", "1", "--lr",
                            "1e-45")
    assert code == 0 and np.isfinite(load_network(out64).layers[0].weights).all()


def test_a_last_step_that_overflows_the_weights_is_not_written(tmp_path: Path) -> None:
    """One batch, one epoch: the cost is finite, the step makes w = −inf in float32."""
    code, err, out = _train(tmp_path, "1,1\n2,0\n", "--dtype", "float32", "--epochs", "1",
                            "--lr", "1e38", "--batch-size", "2")
    assert code == 1 and "training diverged" in err
    assert load_network(out).layers[0].weights.tolist() == [[1.0]]


def test_float32_inputs_out_of_range_are_refused(tmp_path: Path) -> None:
    code, err, out = _train(tmp_path, "1e39,1\n2,0\n", "--dtype", "float32")
    assert code == 2 and "do not fit in float32 (largest 3.4e+38)" in err
    assert not out.exists()
