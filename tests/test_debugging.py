"""Debugging a network that learns badly: what `diagnose`, `analyze --data`, `check --data`
and `train` say about saturated outputs, dead units and a learning rate that is too high."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from backprop_cli.cli import app
from backprop_cli.io.config import load_network
from backprop_cli.io.schema import output_schema
from backprop_cli.network import Array, Layer, Network
from backprop_cli.present import Options
from backprop_cli.present.train import render_summary
from backprop_cli.reports.dataset import analyze_data, diagnose_data
from backprop_cli.reports.diagnose import Finding, diagnose
from backprop_cli.reports.train import TrainReport, TrainSummary

TINY = np.finfo(np.float64).tiny


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def write_saturated(tmp_path: Path, rows: int) -> tuple[Path, Path]:
    """1-2 softmax with z = ±1000 and every target the class of a(1)1 = e^−2000 = 0: each row's
    ∂C0/∂a(1)1 = −1/tiny ≈ −4.5e307, so a sum over more than 3 rows overflows."""
    net = tmp_path / "net.yaml"
    net.write_text("input_size: 1\ncost: categorical_cross_entropy\nlayers:\n"
                   "  - size: 2\n    activation: softmax\n    weights: [[1000.0], [-1000.0]]\n"
                   "    biases: [0.0, 0.0]\n")
    data = tmp_path / "d.csv"
    data.write_text("x,y0,y1\n" + "1.0,0,1\n" * rows)
    return net, data


def test_the_mean_of_a_saturated_output_factor_does_not_overflow(tmp_path: Path) -> None:
    # The mean of finite values is finite: −2^1022 on every row has the mean −2^1022, where a
    # running sum overflowed to −∞ (and numpy warned on stderr).
    net_file, data = write_saturated(tmp_path, 10)
    warnings.simplefilter("error")  # a numpy warning fails the command (pytest restores it)
    for args in (["analyze", net_file, "--data", data, "--target", "y0,y1", "-f", "json",
                  "--chunk-rows", "4"],
                 ["diagnose", net_file, "--data", data, "--target", "y0,y1", "-f", "json"],
                 ["check", net_file, "--data", data, "--target", "y0,y1", "-f", "json"]):
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        assert result.stderr == "", args[0]
    doc = json.loads(invoke("analyze", net_file, "--data", data, "--target", "y0,y1", "-f",
                            "json", "--chunk-rows", "4").stdout)
    layer = doc["examples"][0]["layers"][0]
    assert layer["dC_da"] == pytest.approx([0.0, -1 / TINY], rel=1e-15)
    assert -1 / TINY == -(2.0 ** 1022)
    assert layer["dC_dz"] == [1.0, -1.0]
    net = load_network(net_file)
    x, y = np.ones((10, 1)), np.tile([0.0, 1.0], (10, 1))
    means = analyze_data(net, [(x[:6], y[:6]), (x[6:], y[6:])], {"file": "d.csv"})
    diagnose_data(net, [(x, y)], {"file": "d.csv"})
    assert means.trace.layers[0].dC_da[0].tolist() == pytest.approx([0.0, -(2.0 ** 1022)],
                                                                    rel=1e-15)


def test_divergence_on_a_finite_step_keeps_the_weights_of_the_epoch_start(
        tmp_path: Path) -> None:
    # Batch 1's step gives w = b = −2e200 (finite); batch 2's cost (w·x + b)² overflows. The
    # weights written are those at the start of the epoch (as the README says), not the finite
    # but useless −2e200, whose cost the summary could not even show.
    net = tmp_path / "net.yaml"
    net.write_text("input_size: 1\nlayers:\n  - size: 1\n    activation: linear\n"
                   "    weights: [[1.0]]\n    biases: [0.0]\n")
    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,0\n1,0\n1,0\n")
    out = tmp_path / "out.yaml"
    result = invoke("train", net, data, "--out", out, "--lr", "1e200", "--batch-size", "1",
                    "--normalize", "none", "--no-shuffle", "-f", "json", "-q")
    assert result.exit_code == 1, result.output
    assert "in epoch 1 (batch 2)" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] == "diverged" and summary["epochs_run"] == 0
    assert summary["train_cost"] == 1.0  # (1·1 + 0 − 0)² on every row
    trained = load_network(out)
    assert trained.layers[0].weights.tolist() == [[1.0]]
    assert trained.layers[0].biases.tolist() == [0.0]


def test_an_interrupted_summary_names_the_epoch_it_stopped_in() -> None:
    # Stopped after batch 80 of epoch 208: 207 epochs are complete, not 208.
    summary = TrainSummary(status="interrupted", epochs_run=208, epochs=2000, best_epoch=None,
                           stopped_at=(208, 80), train_rows=3000, val_rows=0, train_cost=0.5,
                           train_accuracy=0.9, val_cost=None, val_accuracy=None, seconds=1.0)
    out = io.StringIO()
    render_summary(TrainReport(summary, "squared_error", "t.yaml"), out, Options(ascii=True))
    first = out.getvalue().splitlines()[0]
    assert first.startswith("training interrupted in epoch 208 of 2000 (after batch 80) in "
                            "1.00 s;"), first


def _diagnose(names: list[str], weights: list[Array], biases: list[Array], x: Array,
              y: Array) -> dict[str, list[Finding]]:
    layers = tuple(Layer(n, w, b) for n, w, b in zip(names, weights, biases, strict=True))
    net = Network(x.shape[1], layers, cost="squared_error")
    found: dict[str, list[Finding]] = {}
    for f in diagnose(net, x, y).findings:
        found.setdefault(f.code, []).append(f)
    return found


def test_zero_inputs_behind_dead_relus_point_at_the_dead_layer() -> None:
    # Layer 1's biases of −10 kill every ReLU on inputs in [0, 1): a(1) = 0, so layer 2's
    # inputs are 0 because of layer 1, not because of a template's all-zero input.
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (20, 3))
    found = _diagnose(["relu", "linear"], [rng.normal(size=(4, 3)), rng.normal(size=(1, 4))],
                      [np.full(4, -10.0), np.zeros(1)], x, x[:, :1])
    assert [f.layer for f in found["dead_relu"]] == [1]
    (zero,) = found["zero_inputs"]
    assert zero.layer == 2
    assert "template" not in zero.suggestion
    assert zero.suggestion.startswith("layer 1 outputs 0 on every example: see its findings")
    # On the input layer a template's all-zero input is still the likely cause.
    found = _diagnose(["sigmoid", "sigmoid"], [np.array([[0.5, -0.5]]), np.array([[2.0]])],
                      [np.array([0.1]), np.zeros(1)], np.zeros((1, 2)), np.ones((1, 1)))
    assert "template" in found["zero_inputs"][0].suggestion


def test_relu_weights_are_measured_against_he_init() -> None:
    # He init for 4 → 512 (std √(2/4) ≈ 0.71) is the right start for ReLUs, though 11 × wider
    # than Xavier's √(2/516); twenty times He's spread is too wide, and the advice is he init.
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 4))
    he = [rng.normal(size=(512, 4)) * np.sqrt(2 / 4), rng.normal(size=(1, 512)) * np.sqrt(2 / 512)]
    biases = [np.full(512, 0.01), np.zeros(1)]
    assert "large_weights" not in _diagnose(["relu", "linear"], he, biases, x, x[:, :1])
    wide = [he[0] * 20, he[1]]
    (large,) = _diagnose(["relu", "linear"], wide, biases, x, x[:, :1])["large_weights"]
    assert large.layer == 1
    assert "wider than He init for 4 → 512" in large.message
    assert "sigmoid" not in large.message and "{method: he}" in large.suggestion
    # Sigmoid/tanh layers are still measured against Xavier.
    (large,) = _diagnose(["tanh", "linear"], wide, biases, x, x[:, :1])["large_weights"]
    assert "wider than Xavier init for 4 → 512" in large.message


def test_the_output_schema_declares_every_data_key_analyze_writes(tmp_path: Path) -> None:
    net_file, data = write_saturated(tmp_path, 3)
    doc = json.loads(invoke("analyze", net_file, "--data", data, "--target", "y0,y1", "-f",
                            "json").stdout)
    declared = output_schema()["properties"]["data"]["properties"]
    assert set(doc["data"]) <= set(declared), set(doc["data"]) - set(declared)
    assert doc["data"]["chunk_rows"] == 8192 and doc["data"]["chunks"] == 1


def test_the_mean_cost_does_not_overflow_where_its_sum_would(tmp_path: Path) -> None:
    # C0 = (1.1e77 · 1.1e77)² = 1.4641e308 on each row fits float64; the sum of 3 does not,
    # their mean C does (as for the factors above), on the examples and over --data chunks.
    net_file = tmp_path / "net.yaml"
    net_file.write_text("input_size: 1\ncost: squared_error\nlayers:\n  - size: 1\n"
                        "    activation: linear\n    weights: [[1.1e77]]\n    biases: [0.0]\n"
                        "examples:\n" + "  - {input: [1.1e77], target: [0]}\n" * 3)
    data = tmp_path / "d.csv"
    data.write_text("x,y\n" + "1.1e77,0\n" * 3)
    c = (1.1e77 * 1.1e77) ** 2
    warnings.simplefilter("error")  # a numpy warning fails the command (pytest restores it)
    for args in ([], ["--data", data], ["--data", data, "--chunk-rows", "2"]):
        result = invoke("analyze", net_file, *args, "-f", "json")
        assert result.exit_code == 0 and result.stderr == "", (args, result.output)
        costs = [e["cost"] for e in json.loads(result.stdout)["examples"]]
        assert costs == pytest.approx([c] * (1 if args else 3), rel=1e-12), args
    result = invoke("diagnose", net_file, "--data", data, "--chunk-rows", "2", "-f", "json")
    assert result.exit_code == 0 and result.stderr == "", result.output
    assert json.loads(result.stdout)["cost"] == pytest.approx(c, rel=1e-12)
    result = invoke("diagnose", net_file, "-f", "json")
    assert json.loads(result.stdout)["cost"] == pytest.approx(c, rel=1e-12)
