"""Weights whose forward pass overflows although the cost stays finite (ReLU, saturation).

A step with a huge η gives w(1) = −1e308: z(1) = w(1)·x + b(1) is −inf for x = 100, the ReLU
makes it 0 and the sigmoid output's cross-entropy stays finite, so no batch's cost shows it.
`train` must not call that "completed"; `evaluate` must refuse it as `analyze` does.
"""

from __future__ import annotations

import itertools
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import invoke

import backprop_cli.train as train_module
from backprop_cli.activations import ACTIVATIONS
from backprop_cli.cli.training import ending_error
from backprop_cli.engine import costs
from backprop_cli.errors import OVERFLOW_ADVICE, NumericalError
from backprop_cli.io.config import load_network
from backprop_cli.network import Layer, Network
from backprop_cli.train import Trainer, TrainOptions

# 1-1-1: relu, then sigmoid with cross_entropy (fused: C0 = ln(1 + e^z) − y z, finite for
# z → −∞). For x = 100, y = 0: z(1) = z(2) = 100, a(2) = σ(100) = 1, δ(2) = a − y = 1, so
# ∂C/∂w(1) = ∂C/∂w(2) = 100 and ∂C/∂b(1) = ∂C/∂b(2) = 1; with η = 1e306 one step gives
# w(1) = w(2) = 1 − 1e308 and b = −1e306: z(1) = −1e310 → −inf, a(1) = 0, C0 = 0.
NET = """\
input_size: 1
cost: cross_entropy
layers:
  - size: 1
    activation: relu
    weights: [[{w}]]
    biases: [0.0]
  - size: 1
    activation: sigmoid
    weights: [[1.0]]
    biases: [0.0]
"""
Z1 = "the forward pass: z(1)0 overflows"


def files(tmp_path: Path, rows: str, w: float = 1.0) -> tuple[Path, Path]:
    net, data = tmp_path / "net.yaml", tmp_path / "d.csv"
    net.write_text(NET.format(w=w))
    data.write_text("x,y\n" + rows)
    return net, data


def network(w: float = 1.0) -> Network:
    return Network(1, (Layer("relu", np.array([[w]]), np.zeros(1)),
                       Layer("sigmoid", np.array([[1.0]]), np.zeros(1))),
                   cost="cross_entropy")


@pytest.mark.parametrize(("dtype", "lr"), [("float64", 1e306), ("float32", 1e36)])
def test_a_step_whose_forward_pass_overflows_is_divergence(dtype: str, lr: float) -> None:
    x, y = np.array([[100.0]]), np.array([[0.0]])
    # The weights after one step (w = 1 − 100η, b = −η) are finite, their z(1) is not.
    w, b = np.array([[1 - 100 * lr]]), np.array([-lr])
    stepped = Network(1, (Layer("relu", w, b), Layer("sigmoid", w, b)), cost="cross_entropy")
    with pytest.raises(NumericalError, match=r"z\(1\)0 overflows"):
        costs(stepped, x, y, dtype)
    trainer = Trainer(network(), x, y, TrainOptions(epochs=3, batch_size=1, lr=lr,
                                                    shuffle=False, dtype=dtype))
    records = list(trainer.run())
    assert [r.train_cost for r in records] == [pytest.approx(100.0)]  # ln(1 + e^100)
    assert trainer.status == "diverged" and trainer.stopped_at == (1, 1)
    assert trainer.epochs_run == 0
    # The weights kept are the starting ones, not w(1) = 1 − 1e308 (finite, but z(1) = −inf).
    kept = trainer.network()
    assert kept.layers[0].weights.tolist() == [[1.0]]
    assert kept.layers[1].biases.tolist() == [0.0]
    assert trainer.forward_overflow is not None and not trainer.forward_overflow_held
    assert str(trainer.forward_overflow) == f"{Z1} {dtype} for example 0"
    summary = trainer.summary(0.0)
    assert summary.status == "diverged"
    assert summary.train_cost == pytest.approx(100.0)  # the starting weights' cost
    error = ending_error(trainer, summary, "out.yaml", 2)
    assert error is not None and error.exit_code == 1
    assert str(error) == (
        f"training diverged in epoch 1: the cost of its batches stayed finite, but the "
        f"weights it ended with overflow: {Z1} {dtype} for example 0; try a smaller --lr "
        f"(now {lr:g}). Wrote the starting weights, the last whose forward pass is finite, "
        "to out.yaml")


def test_train_exits_1_and_names_the_row(tmp_path: Path) -> None:
    net, data = files(tmp_path, "100,0\n")
    out = tmp_path / "out.yaml"
    result = invoke("train", net, data, "--out", out, "--lr", "1e306", "--epochs", "3",
                    "--batch-size", "1", "--normalize", "none", "--no-shuffle", "-q",
                    "-f", "json")
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "diverged" and summary["epochs_run"] == 0
    assert summary["stopped_at"] == {"epoch": 1, "batches": 1}
    assert result.stderr == (
        "backprop: error: training diverged in epoch 1: the cost of its batches stayed "
        f"finite, but the weights it ended with overflow: {data}:2: {Z1} float64 for this "
        f"row; try a smaller --lr (now 1e+306). Wrote the starting weights, the last whose "
        f"forward pass is finite, to {out}\n")
    trained = load_network(out)
    assert trained.layers[0].weights.tolist() == [[1.0]]
    assert trained.training.to_dict()["status"] == "diverged"
    # and the file written is one every later command takes
    for command in (["diagnose", out, "--data", data], ["evaluate", out, data],
                    ["analyze", out, "--data", data]):
        assert invoke(*command).exit_code == 0, command


def test_a_later_epoch_keeps_the_weights_of_the_one_before() -> None:
    """Momentum goes on after the ReLU dies: epoch 1's step gives w(1) = w(2) = 1 − 100η =
    −1e306, b = −1e304 (z(1) = −1.0001e308, finite; C0 = 0); epoch 2's step, v ← μv with no
    gradient, gives w(1) = −1.9e306 and z(1) = −1.9e308 = −inf."""
    x, y = np.array([[100.0]]), np.array([[0.0]])
    trainer = Trainer(network(), x, y, TrainOptions(epochs=5, batch_size=1, lr=1e304,
                                                    optimizer="momentum", shuffle=False))
    records = list(trainer.run())
    assert [r.train_cost for r in records] == [pytest.approx(100.0), 0.0]
    assert trainer.status == "diverged" and trainer.stopped_at == (2, 1)
    assert trainer.epochs_run == 1
    kept = trainer.network()
    assert kept.layers[0].weights[0, 0] == pytest.approx(-1e306, rel=1e-12)
    assert kept.layers[0].biases[0] == pytest.approx(-1e304, rel=1e-12)
    assert str(trainer.forward_overflow) == f"{Z1} float64 for example 0"
    error = ending_error(trainer, trainer.summary(0.0), "out.yaml", 2)
    assert str(error).startswith("training diverged in epoch 2: ")
    assert str(error).endswith("Wrote the weights of epoch 1, the last whose forward pass is "
                               "finite, to out.yaml")


def test_an_overflow_on_a_validation_row_names_its_line(tmp_path: Path) -> None:
    """Trained on x = 1 (σ(1) = 0.731: w(1) = b(1) = 1 − 0.731e308, z(1) = −1.46e308, finite);
    the held-out x = 100 gives z(1) = −7.3e309 = −inf, with a finite validation cost."""
    net, data = files(tmp_path, "1,0\n100,0\n")
    out = tmp_path / "out.yaml"
    result = invoke("train", net, data, "--out", out, "--lr", "1e308", "--epochs", "2",
                    "--batch-size", "1", "--normalize", "none", "--no-shuffle",
                    "--val-split", "0.5", "-q")
    assert result.exit_code == 1, result.output
    assert f"overflow: {data}:3: {Z1} float64 for this row; try a smaller --lr" \
        in result.stderr
    assert load_network(out).layers[0].weights.tolist() == [[1.0]]


def test_starting_weights_that_overflow_are_refused_before_training(
        tmp_path: Path) -> None:
    net, data = files(tmp_path, "100,0\n", w=-1e308)
    out = tmp_path / "out.yaml"
    result = invoke("train", net, data, "--out", out, "--lr", "0.1", "--normalize", "none",
                    "-q")
    # refused before training, as analyze refuses it: exit 2, nothing written
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"backprop: error: {data}:2: the network's starting weights: {Z1} float64 for this "
        f"row: {OVERFLOW_ADVICE}\n")
    assert not out.exists()


def test_evaluate_refuses_a_forward_pass_that_overflows(tmp_path: Path) -> None:
    net, data = files(tmp_path, "1,0\n100,0\n", w=-1e308)
    expected = f"backprop: error: {data}:3: {Z1} float64 for this row: {OVERFLOW_ADVICE}\n"
    for command in ("evaluate", "predict"):
        result = invoke(command, net, data)
        assert result.exit_code == 2, (command, result.output)
        assert result.stderr == expected, command
    # the first row alone (z(1) = −1e308) is evaluated: C0 = ln(1 + e^0.0) − 0 = ln 2
    data.write_text("x,y\n1,0\n")
    result = invoke("evaluate", net, data, "-f", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["cost"] == pytest.approx(np.log(2))


def test_the_check_needs_no_forward_pass_when_the_bound_holds(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Ordinary weights: the bound on |z| from the weights and max|x| proves every row
    finite, so the rows are never looked at again (the check costs O(parameters))."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a forward pass over the rows")

    monkeypatch.setattr(train_module, "engine_costs", refuse)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 3))
    y = (x[:, :1] > 0).astype(float)
    net = Network(3, (Layer("relu", rng.standard_normal((4, 3)), np.zeros(4)),
                      Layer("sigmoid", rng.standard_normal((1, 4)), np.zeros(1))),
                  cost="cross_entropy")
    trainer = Trainer(net, x, y, TrainOptions(epochs=5, batch_size=8, lr=0.5))
    records = list(trainer.run())
    assert trainer.status == "completed" and len(records) == 5
    assert records[-1].train_cost < records[0].train_cost


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_bound_is_never_below_the_forward_pass(dtype: str) -> None:
    """Whenever the bound says every row is finite, the forward pass and the cost are (for
    every activation and cost, with weights up to the edge of the dtype's range)."""
    rng = np.random.default_rng(7)
    hidden = [a for a in ACTIVATIONS if a != "softmax"]
    outputs = [("linear", "squared_error"), ("sigmoid", "cross_entropy"),
               ("softmax", "categorical_cross_entropy"), ("relu", "squared_error"),
               ("softmax", "cross_entropy"), ("sigmoid", "categorical_cross_entropy")]
    top = np.log10(np.finfo(dtype).max)
    bounded = overflowing = 0
    for case in range(300):
        sizes = rng.integers(1, 6, size=rng.integers(2, 5))
        output, cost = outputs[case % len(outputs)]
        scale = 10.0 ** min(rng.uniform(0, top / (len(sizes) - 1) * 1.1), top - 1)
        layers = tuple(
            Layer(output if i == len(sizes) - 2 else hidden[rng.integers(len(hidden))],
                  rng.standard_normal((int(n), int(k))) * scale,
                  rng.standard_normal(int(n)) * scale)
            for i, (k, n) in enumerate(itertools.pairwise(sizes)))
        net = Network(int(sizes[0]), layers, cost=cost)
        x = rng.standard_normal((6, int(sizes[0]))) * 10.0 ** rng.uniform(0, 3)
        y = rng.uniform(0, 1, (6, int(sizes[-1])))
        with np.errstate(over="ignore"):
            if not all(np.isfinite(np.asarray(p, dtype)).all() for layer in layers
                       for p in (layer.weights, layer.biases)):
                continue
        trainer = Trainer(net, x, y, TrainOptions(dtype=dtype))
        try:
            costs(net, x, y, dtype)
            finite = True
        except NumericalError:
            finite = False
        found = trainer._forward_overflow()
        assert (found is None) == finite, case
        if trainer._bounded():
            bounded += 1
            assert finite, case
        overflowing += not finite
    assert bounded > 60 and overflowing > 40  # both sides were tried


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_every_activation_grows_at_most_like_z_plus_1(name: str) -> None:
    """What Trainer._bounded takes for granted: |σ(z)| ≤ |z| + 1 for every z (softmax: for
    every row), up to the edge of float64 and float32."""
    for dtype in (np.float64, np.float32):
        top = int(np.log10(np.finfo(dtype).max))
        z = np.concatenate([-np.logspace(-3, top, 200), [0.0], np.logspace(-3, top, 200)])
        z = z.astype(dtype)[None, :]
        with np.errstate(over="ignore"):
            a = ACTIVATIONS[name].fn(z)
        assert (np.abs(a) <= np.abs(z.astype(np.float64)) + 1).all(), (name, dtype)
        for pair in np.stack([z[0, :-1], z[0, 1:]], axis=1)[::37]:
            a = ACTIVATIONS[name].fn(pair[None, :])
            assert (np.abs(a) <= np.abs(pair.astype(np.float64)) + 1).all(), (name, pair)


# 1-1 linear with squared error: C0 = (w·x − y)², finite on every row below, while the sum of
# the rows' C0 overflows the dtype (their mean, C, does not).
LINEAR = ("input_size: 1\ncost: squared_error\nlayers:\n  - size: 1\n    activation: linear\n"
          "    weights: [[{w}]]\n    biases: [0.0]\n")


def test_evaluate_gives_the_mean_cost_where_the_sum_overflows(tmp_path: Path) -> None:
    net, data = tmp_path / "net.yaml", tmp_path / "d.csv"
    net.write_text(LINEAR.format(w=1e154))
    data.write_text("x,y\n" + "1.2,0\n" * 3)  # C0 = (1.2e154)² = 1.44e308 on each row
    result = invoke("evaluate", net, data, "-f", "json")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # no numpy warning
    assert json.loads(result.stdout)["cost"] == pytest.approx(1.44e308, rel=1e-12)


def test_a_validation_cost_whose_sum_overflows_float32_is_its_mean() -> None:
    # w = 1e18 (float32 999999984e9), x = 3: C0 = 9e36 on each of 100 validation rows, whose
    # float32 sum (9e38) overflows; training on x = 1e-30 hardly moves w.
    net = Network(1, (Layer("linear", np.array([[1e18]]), np.zeros(1)),),
                  cost="squared_error")
    trainer = Trainer(net, np.full((4, 1), 1e-30), np.zeros((4, 1)),
                      TrainOptions(epochs=2, batch_size=4, lr=1e-30, dtype="float32"),
                      val=(np.full((100, 1), 3.0), np.zeros((100, 1)), None))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        records = list(trainer.run())
        summary = trainer.summary(0.0)
    w = float(np.float32(1e18))
    assert trainer.status == "completed"
    assert [r.val_cost for r in records] == [pytest.approx((3 * w) ** 2, rel=1e-5)] * 2
    assert summary.val_cost == pytest.approx((3 * w) ** 2, rel=1e-5)


def test_a_validation_cost_that_is_not_finite_is_named_as_such(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard after the forward check: every batch of the epoch ran, so the message names
    the validation cost after that epoch, not a batch after the last one."""
    x, y = np.array([[1.0], [2.0]]), np.array([[0.0], [1.0]])
    measure = Trainer.measure

    def infinite_on_validation(self: Trainer, x: np.ndarray, y: np.ndarray,
                               labels: object) -> tuple[float, None]:
        assert self.val is not None
        if x is self.val[0] and self.status == "running":
            return math.inf, None
        return measure(self, x, y, None)

    monkeypatch.setattr(Trainer, "measure", infinite_on_validation)
    trainer = Trainer(network(), x, y, TrainOptions(epochs=3, batch_size=1, lr=0.1),
                      val=(x, y, None))
    list(trainer.run())
    assert trainer.status == "diverged" and trainer.stopped_at == (1, 2)
    error = ending_error(trainer, trainer.summary(0.0), "out.yaml", 2)
    assert str(error) == (
        "training diverged: the validation cost became infinite or NaN after epoch 1; try a "
        "smaller --lr (now 0.1). Wrote the weights of epoch 1, the last finite ones, to "
        "out.yaml")
