"""backprop init: a complete network file with drawn weights that round-trips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import CONFIGS
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.io.config import load_network, loads_network
from backprop_cli.scaffold import new_network

MNIST = ["--sizes", "784,16,16,10", "--activation", "sigmoid", "--init", "xavier", "--seed", "0"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_draws_what_an_init_block_draws() -> None:
    # configs/mnist-784-16-16-10.yaml fills its weights from init: {method: xavier, seed: 0}
    code, out, _ = run("init", *MNIST)
    assert code == 0
    written = loads_network(out)
    shipped = load_network(CONFIGS / "mnist-784-16-16-10.yaml")
    assert written.sizes == [784, 16, 16, 10] and written.examples is not None
    for mine, theirs in zip(written.layers, shipped.layers, strict=True):
        np.testing.assert_array_equal(mine.weights, theirs.weights)
        np.testing.assert_array_equal(mine.biases, theirs.biases)
    assert out.startswith("# Written by: backprop init --sizes 784,16,16,10 --activation sigmoid")


def test_round_trip_is_exact_and_analyze_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    code, out, err = run(
        "init", "--sizes", "3,4,3", "--activation", "tanh", "--output-activation", "softmax",
        "--cost", "categorical_cross_entropy", "--init", "he", "--seed", "7",
        "--example-input", "--name", "demo", "-o", str(path))
    assert code == 0 and out == "", err
    net = load_network(path)
    expected = new_network([3, 4, 3], activation="tanh", output_activation="softmax",
                           cost="categorical_cross_entropy", method="he", seed=7,
                           example_input=True)
    assert net.name == "demo" and net.cost == "categorical_cross_entropy"
    assert [layer.activation for layer in net.layers] == ["tanh", "softmax"]
    for mine, theirs in zip(net.layers, expected.layers, strict=True):
        np.testing.assert_array_equal(mine.weights, theirs.weights)  # bit for bit
    assert net.examples is not None
    np.testing.assert_array_equal(net.examples.inputs, [[0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(net.examples.targets, [[1.0, 0.0, 0.0]])
    code, out, err = run("analyze", str(path), "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["network"]["layers"][0]["weights"] == net.layers[0].weights.tolist()
    # zero input: z(1) = b(1) = 0, a(1) = tanh 0 = 0, z(2) = 0, a(2) uniform: C0 = ln 3
    assert doc["cost"] == pytest.approx(np.log(3), rel=1e-12)
    assert run("check", str(path))[0] == 0


def test_output_file_replaced_atomically(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text("old")
    code, _, err = run("init", "--sizes", "1,1", "-o", str(path))
    assert code == 2 and "exists; add --force to overwrite it" in err
    assert path.read_text() == "old"
    assert run("init", "--sizes", "1,1", "-o", str(path), "--force")[0] == 0
    assert load_network(path).sizes == [1, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.yaml"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sizes", "784"], "--sizes '784': expected two or more whole numbers ≥ 1"),
        (["--sizes", "2,0,1"], "expected two or more whole numbers ≥ 1"),
        (["--sizes", "2,a"], "separated by commas"),
        (["--sizes", "2,2", "--activation", "softmax"], "--activation 'softmax': expected one of"),
        (["--sizes", "2,2", "--init", "glorot"], "--init 'glorot': expected one of: xavier, he"),
        (["--sizes", "2,2", "--seed", "-1"], "--seed -1: expected a whole number ≥ 0"),
        (["--sizes", "2,2", "--cost", "cross_entropy", "--output-activation", "relu"],
         "use sigmoid or softmax on layer 1, not relu"),
        (["--sizes", "2,2", "--scale", "0"], "--scale 0.0: expected a number > 0"),
    ],
)
def test_bad_options_exit_2(args: list[str], message: str) -> None:
    code, out, err = run("init", *args)
    assert code == 2 and out == ""
    assert message in err


@pytest.mark.parametrize("name", ["it's", "a b", "x\ninput_size: 5", "$(rm -rf ~)"])
def test_written_by_quotes_the_name_for_the_shell(tmp_path: Path, name: str) -> None:
    import shlex

    out = tmp_path / "net.yaml"
    code, _, err = run("init", "--sizes", "2,1", "--name", name, "-o", str(out))
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    command = "\n".join(line.removeprefix("# Written by: ").removeprefix("# ")
                        for line in text.splitlines() if line.startswith("#"))
    argv = shlex.split(command)
    assert argv[argv.index("--name") + 1] == name
    assert load_network(out).name == name and load_network(out).input_size == 2


def test_default_file_round_trips_through_analyze(tmp_path: Path) -> None:
    # The template example is on by default, so analyze runs on init's file as it is.
    path = tmp_path / "net.yaml"
    code, _, err = run("init", "--sizes", "2,3,1", "-o", str(path))
    assert code == 0, err
    net = load_network(path)
    assert net.examples is not None
    np.testing.assert_array_equal(net.examples.inputs, [[0.0, 0.0]])
    np.testing.assert_array_equal(net.examples.targets, [[1.0]])
    result = CliRunner().invoke(app, ["analyze", str(path), "-f", "json"])
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)["examples"]) == 1
    code, out, _ = run("init", "--sizes", "2,3,1", "--no-example-input")
    assert code == 0 and "examples:" not in out and out.startswith(
        "# Written by: backprop init --sizes 2,3,1 ") and "--no-example-input" in out
    assert loads_network(out).examples is None
