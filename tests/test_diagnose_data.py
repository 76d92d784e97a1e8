"""`backprop diagnose NET.yaml --data DATA.csv`: the diagnosis accumulated over chunks equals
the one computed over all rows in memory."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import CONFIGS, networks
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from backprop_cli.cli import app
from backprop_cli.io.config import dump_network, load_network
from backprop_cli.network import Array, Layer, Network
from backprop_cli.reports.dataset import diagnose_data
from backprop_cli.reports.diagnose import Diagnosis, diagnose


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, ["diagnose", *args], env={"COLUMNS": "200"})


def chunked(x: Array, y: Array, size: int) -> list[tuple[Array, Array]]:
    return [(x[i:i + size], y[i:i + size]) for i in range(0, len(x), size)]


def assert_same(got: Diagnosis, want: Diagnosis) -> None:
    assert got.example_count == want.example_count
    assert got.cost == pytest.approx(want.cost, rel=1e-12, abs=1e-12)
    # A gradient norm below 1e-9 can be a sum that cancels: its digits are round-off, and the
    # order of summation (per chunk or all rows at once) decides them; ratios of such norms
    # are noise (hypothesis found 0 against 1.1e-10), so they are compared only above it.
    ratios = all(lm.grad_norm > 1e-9 for lm in want.layers)
    for g, w in zip(got.layers, want.layers, strict=True):
        assert g.dead == w.dead
        assert g.zero_inputs == w.zero_inputs
        assert g.saturated == pytest.approx(w.saturated, rel=1e-12)
        assert g.grad_norm == pytest.approx(w.grad_norm, rel=1e-12, abs=1e-12)
        if w.grad_ratio is None:
            assert g.grad_ratio is None
        elif ratios:
            assert g.grad_ratio == pytest.approx(w.grad_ratio, rel=1e-9, abs=1e-12)
        assert g.weights == w.weights
        for name in ("mean", "std", "min", "max"):
            assert getattr(g.activations, name) == pytest.approx(
                getattr(w.activations, name), rel=1e-12, abs=1e-12), name
    assert [(f.code, f.layer) for f in got.findings] == [(f.code, f.layer)
                                                         for f in want.findings]


@settings(max_examples=60, deadline=None)
@given(networks(max_examples=9), st.integers(1, 4))
def test_chunked_diagnosis_equals_the_all_rows_one(net: Network, chunk: int) -> None:
    assert net.examples is not None
    x, y = net.examples.inputs, net.examples.targets
    got = diagnose_data(net, chunked(x, y, chunk), {"file": "d.csv"})
    want = diagnose(net, x, y)
    # Below ~1e-150 the products δ·a underflow, and the order of summation (per chunk or all
    # rows at once) decides which terms are 0: the norms' ratio is then noise, not a finding.
    assume(all(lm.grad_norm == 0 or lm.grad_norm > 1e-100 for lm in want.layers))
    assert_same(got, want)
    assert got.data == {"file": "d.csv", "rows": len(x), "chunks": -(-len(x) // chunk)}


@settings(max_examples=30, deadline=None)
@given(networks("relu", max_examples=9, max_input=4.0), st.integers(1, 3))
def test_relu_networks(net: Network, chunk: int) -> None:
    assert net.examples is not None
    x, y = net.examples.inputs, net.examples.targets
    assert_same(diagnose_data(net, chunked(x, y, chunk), {"file": "d.csv"}), diagnose(net, x, y))


def relu_net() -> Network:
    """1 → 3 ReLUs → 1: neuron 0 fires for x > 0, neuron 1 only for x > 5, neuron 2 never."""
    return Network(1, (
        Layer("relu", np.array([[1.0], [1.0], [-1.0]]), np.array([0.0, -5.0, -100.0])),
        Layer("linear", np.array([[1.0, 1.0, 1.0]]), np.array([0.0])),
    ), "squared_error", name="relu")


def test_a_unit_alive_only_in_the_short_last_chunk_is_not_dead() -> None:
    x = np.array([[1.0], [2.0], [-1.0], [3.0], [0.5], [6.0]])  # only the last row has x > 5
    y = np.zeros((6, 1))
    got = diagnose_data(relu_net(), chunked(x, y, 5), {"file": "d.csv"})
    assert got.layers[0].dead == (2,)
    without_last = diagnose_data(relu_net(), chunked(x[:5], y[:5], 2), {"file": "d.csv"})
    assert without_last.layers[0].dead == (1, 2)
    assert [f.code for f in without_last.findings] == ["dead_relu"]


def write_relu(tmp_path: Path, xs: list[float]) -> tuple[Path, Path]:
    net_file = tmp_path / "relu.yaml"
    net_file.write_text(dump_network(relu_net()), encoding="utf-8")
    data = tmp_path / "relu.csv"
    data.write_text("x,y\n" + "".join(f"{v!r},0\n" for v in xs), encoding="utf-8")
    return net_file, data


def test_cli_json_and_table(tmp_path: Path) -> None:
    xs = [1.0, 2.0, -1.0, 3.0, 0.5, 4.0, 2.5]
    net_file, data = write_relu(tmp_path, xs)
    result = invoke(str(net_file), "--data", str(data), "--chunk-rows", "3", "-f", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    x = np.array(xs)[:, None]
    want = diagnose(relu_net(), x, np.zeros_like(x)).to_dict()
    assert doc["examples"] == 7 and doc["layers"][0]["dead"] == [1, 2]
    assert doc["data"] == {"file": str(data), "features": ["x"], "targets": ["y"],
                           "normalize": "none", "chunk_rows": 3, "rows": 7, "chunks": 3}
    assert doc["cost"] == pytest.approx(want["cost"], rel=1e-12)
    for got, expected in zip(doc["layers"], want["layers"], strict=True):
        assert got["dead"] == expected["dead"]
        for key in ("grad_norm", "grad_ratio", "saturated"):
            assert got[key] == pytest.approx(expected[key], rel=1e-12)
        assert got["activations"] == pytest.approx(expected["activations"], rel=1e-12)
    assert [f["code"] for f in doc["findings"]] == ["dead_relu"]
    table = invoke(str(net_file), "--data", str(data), "--ascii")
    assert table.exit_code == 0 and table.stderr == ""
    assert f"on 7 rows of {data}" in table.stdout
    assert "2 of 3 ReLU neurons in layer 1 are dead (z <= 0 on all 7 rows;" in table.stdout


@pytest.mark.parametrize(("config", "classes"), [("digits", 10), ("xor", 0)])
def test_shipped_data_sets(config: str, classes: int) -> None:
    """--data uses the CSV's rows, not the examples; digits' labels become one-hot rows of 10."""
    net = load_network(CONFIGS / f"{config}.yaml")
    rows = np.loadtxt(CONFIGS / f"{config}.csv", delimiter=",", skiprows=1)
    x, labels = rows[:, :-1], rows[:, -1:]
    y = np.eye(classes)[labels[:, 0].astype(int)] if classes else labels
    want = diagnose(net, x, y)
    result = invoke(str(CONFIGS / f"{config}.yaml"), "--data", str(CONFIGS / f"{config}.csv"),
                    "--chunk-rows", "400", "-f", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["examples"] == doc["data"]["rows"] == len(rows)
    assert doc["cost"] == pytest.approx(want.cost, rel=1e-12)
    assert [d["saturated"] for d in doc["layers"]] == pytest.approx(
        [d.saturated for d in want.layers], rel=1e-12)
    assert [d["activations"]["std"] for d in doc["layers"]] == pytest.approx(
        [d.activations.std for d in want.layers], rel=1e-12)


def test_errors_exit_2(tmp_path: Path) -> None:
    net_file, data = write_relu(tmp_path, [1.0, 2.0, 3.0, 4.0])
    lines = data.read_text().splitlines()
    lines[4] = "4.0,"  # line 5: an empty target cell
    data.write_text("\n".join(lines) + "\n")
    result = invoke(str(net_file), "--data", str(data), "--chunk-rows", "2")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (f"backprop: error: {data}:5:2: target column 'y': expected a number, "
                             "got an empty cell (missing value)\n")
    unknown = invoke(str(net_file), "--data", str(data), "--features", "q")
    assert unknown.exit_code == 2 and "unknown column 'q' in --features" in unknown.stderr
