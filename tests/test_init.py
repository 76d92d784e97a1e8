"""backprop init: a complete network file with drawn weights that round-trips."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import CONFIGS
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from backprop_cli import scaffold
from backprop_cli.cli import app
from backprop_cli.io import config
from backprop_cli.io.config import dump_bytes_bound, dump_network, load_network, loads_network
from backprop_cli.scaffold import new_network, written_by

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


def _no_draw(*_: object) -> None:
    raise AssertionError("drew weights before refusing")


@pytest.mark.parametrize("sizes", ["784,4096,4096,10", "100000,100000"])
def test_too_many_parameters_are_refused_before_drawing(
        sizes: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scaffold, "draw_parameters", _no_draw)
    out = tmp_path / "k.yaml"
    code, _, err = run("init", "--sizes", sizes, "-o", str(out))
    assert code == 2 and not out.exists()
    assert "at most 1,000 layers and 10,000,000 parameters are allowed" in err


def test_a_file_over_the_limit_is_refused_before_drawing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scaffold, "draw_parameters", _no_draw)
    monkeypatch.setattr(config, "MAX_FILE_BYTES", 32 * 2**20)
    out = tmp_path / "k.yaml"
    code, _, err = run("init", "--sizes", "64,1300,1300,10", "-o", str(out))
    assert code == 2 and not out.exists()
    assert " ".join(err.split()).endswith(
        "--sizes 64,1300,1300,10: the file could take 44 MiB, and network files are limited "
        "to 32 MiB (10,000,000 parameters written out in any common style); choose smaller "
        "layers or a shorter --name")


def test_every_network_init_allows_fits_in_a_network_file() -> None:
    """The shapes with the most bytes a parameter (rows of one weight), and the widest row."""
    most = config.MAX_PARAMETERS
    for sizes in ([1, (most - 1) // 3, 1], [most - 1, 1], [1, most // 2 - 1],
                  [784, 4096, 1600, 10]):
        assert sum(n * (m + 1) for m, n in itertools.pairwise(sizes)) <= most
        assert dump_bytes_bound(sizes, "x" * 1000, True) <= config.MAX_FILE_BYTES


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=2, max_size=4),
       st.sampled_from(["xavier", "normal", "zeros"]), st.sampled_from([None, 1e-300, 1e300]),
       st.text(max_size=5), st.booleans())
def test_the_bound_is_more_than_the_file(sizes: list[int], method: str, scale: float | None,
                                         name: str, example: bool) -> None:
    net = new_network(sizes, method=method, scale=scale, name=name or None,
                      example_input=example)
    text = written_by(net, activation="sigmoid", method=method, scale=scale,
                      name=name or None, seed=0, example_input=example) + dump_network(net)
    assert len(text.encode()) <= dump_bytes_bound(sizes, name or None, example)
