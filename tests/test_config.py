"""Network files: every kind of bad input gets one message (file, line, field path, what is
wrong, what is expected) on stderr and exit code 2; good numbers load as numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from backprop_cli.activations import ACTIVATIONS
from backprop_cli.cli import app
from backprop_cli.costs import COSTS
from backprop_cli.errors import ConfigError
from backprop_cli.io.config import load_network, loads_network

# Line numbers below refer to this text.
BASE = """\
input_size: 2
cost: squared_error
layers:
  - size: 3
    activation: tanh
    weights: [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]
    biases: [0.0, 0.0, 0.0]
  - size: 1
    activation: sigmoid
    weights: [[1.0, 1.0, 1.0]]
    biases: [0.0]
examples:
  - input: [1.0, 2.0]
    target: [1.0]
"""


def edit(old: str, new: str, text: str = BASE) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


W0 = "weights: [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]"

CASES: list[tuple[str, str, list[str]]] = [
    # (id, file text, substrings the one message must contain)
    ("invalid-yaml", "input_size: 2\nlayers: [1, 2\n", ["invalid YAML", "net.yaml:"]),
    ("invalid-yaml-colon", edit("    activation: tanh", "    activation: tanh: x"),
     ["net.yaml:5:", "invalid YAML"]),
    ("duplicate-key", edit("cost: squared_error", "cost: squared_error\ninput_size: 3"),
     ["net.yaml:3:", "duplicate key 'input_size'", "line 1"]),
    ("duplicate-layer-key", edit("    biases: [0.0]\n", "    biases: [0.0]\n    size: 1\n"),
     ["net.yaml:12:", "layers[1].size", "duplicate key 'size'"]),
    ("input-size-text", edit("input_size: 2", "input_size: two"),
     ["net.yaml:1:", "input_size", "whole number", "'two'"]),
    ("input-size-bool", edit("input_size: 2", "input_size: true"),
     ["net.yaml:1:", "input_size", "whole number", "boolean"]),
    ("input-size-zero", edit("input_size: 2", "input_size: 0"),
     ["net.yaml:1:", "input_size", "≥ 1"]),
    ("layers-not-a-list", "input_size: 2\nlayers: 3\n",
     ["net.yaml:2:", "layers", "list"]),
    ("layers-empty", edit("layers:\n" + BASE.split("layers:\n")[1].split("examples:")[0],
                          "layers: []\n"),
     ["net.yaml:3:", "layers", "one or more layers", "empty"]),
    ("layer-not-a-mapping", edit("  - size: 1\n    activation: sigmoid",
                                 "  - 7\n  - size: 1\n    activation: sigmoid"),
     ["net.yaml:8:", "layers[1]", "mapping"]),
    ("size-text", edit("  - size: 3", "  - size: three"),
     ["net.yaml:4:", "layers[0].size", "whole number"]),
    ("weights-text", edit(W0, "weights: heavy"),
     ["net.yaml:6:", "layers[0].weights", "3 rows × 2 columns", "'heavy'"]),
    ("too-few-rows", edit(W0, "weights: [[0.1, 0.2], [0.3, 0.4]]"),
     ["net.yaml:6:", "layers[0].weights", "expected 3 rows", "3 neurons", "got 2"]),
    ("too-many-columns", edit(W0, "weights: [[0.1, 0.2], [0.3, 0.4, 0.9], [0.5, 0.6]]"),
     ["net.yaml:6:", "layers[0].weights[1]", "expected 2 columns", "got 3"]),
    ("row-not-a-list", edit(W0, "weights: [[0.1, 0.2], 0.3, [0.5, 0.6]]"),
     ["net.yaml:6:", "layers[0].weights[1]", "row of 2 numbers"]),
    ("block-style-rows",
     edit(W0, "weights:\n      - [0.1, 0.2]\n      - [0.3]\n      - [0.5, 0.6]"),
     ["net.yaml:8:", "layers[0].weights[1]", "expected 2 columns", "got 1"]),
    ("second-layer-columns", edit("weights: [[1.0, 1.0, 1.0]]", "weights: [[1.0, 1.0]]"),
     ["net.yaml:10:", "layers[1].weights[0]", "expected 3 columns", "got 2"]),
    ("biases-short", edit("biases: [0.0, 0.0, 0.0]", "biases: [0.0, 0.0]"),
     ["net.yaml:7:", "layers[0].biases", "expected 3 values", "got 2"]),
    ("biases-scalar", edit("biases: [0.0, 0.0, 0.0]", "biases: 0.0"),
     ["net.yaml:7:", "layers[0].biases", "list of 3 numbers"]),
    ("unknown-activation", edit("activation: tanh", "activation: sigmod"),
     ["net.yaml:5:", "layers[0].activation", "'sigmod'", *ACTIVATIONS]),
    ("activation-not-text", edit("activation: tanh", "activation: 3"),
     ["net.yaml:5:", "layers[0].activation", *ACTIVATIONS]),
    ("unknown-cost", edit("cost: squared_error", "cost: mse"),
     ["net.yaml:2:", "cost", "'mse'", *COSTS]),
    ("softmax-hidden", edit("activation: tanh", "activation: softmax"),
     ["net.yaml:5:", "layers[0].activation", "softmax", "output layer", "layer 2"]),
    ("nan-weight", edit("[0.3, 0.4]", "[0.3, .nan]"),
     ["net.yaml:6:", "layers[0].weights[1][1]", "finite"]),
    ("inf-weight", edit("[0.3, 0.4]", "[-.inf, 0.4]"),
     ["net.yaml:6:", "layers[0].weights[1][0]", "finite"]),
    ("overflowing-weight", edit("[0.3, 0.4]", "[0.3, 1e999]"),
     ["net.yaml:6:", "layers[0].weights[1][1]", "finite"]),
    ("nan-bias", edit("biases: [0.0]", "biases: [.NaN]"),
     ["net.yaml:11:", "layers[1].biases[0]", "finite"]),
    ("inf-input", edit("input: [1.0, 2.0]", "input: [1.0, .inf]"),
     ["net.yaml:13:", "examples[0].input[1]", "finite"]),
    ("bool-weight", edit("[0.3, 0.4]", "[0.3, true]"),
     ["net.yaml:6:", "layers[0].weights[1][1]", "number", "boolean"]),
    ("bool-bias-yes", edit("biases: [0.0]", "biases: [yes]"),
     ["net.yaml:11:", "layers[1].biases[0]", "number", "boolean"]),
    ("quoted-number", edit("biases: [0.0]", 'biases: ["0.5"]'),
     ["net.yaml:11:", "layers[1].biases[0]", "expected a number", "text '0.5'"]),
    ("null-weight", edit("[0.3, 0.4]", "[0.3, null]"),
     ["net.yaml:6:", "layers[0].weights[1][1]", "number", "null"]),
    ("examples-empty", edit("  - input: [1.0, 2.0]\n    target: [1.0]\n", "").replace(
        "examples:\n", "examples: []\n"),
     ["net.yaml:12:", "examples", "one or more examples", "empty"]),
    ("target-length", edit("target: [1.0]", "target: [1.0, 0.0]"),
     ["net.yaml:14:", "examples[0].target", "expected 1 value (", "has 1 neuron)", "got 2"]),
    ("input-length", edit("input: [1.0, 2.0]", "input: [1.0]"),
     ["net.yaml:13:", "examples[0].input", "expected 2 values", "got 1"]),
    ("example-missing-target", edit("    target: [1.0]\n", ""),
     ["net.yaml:13:", "examples[0]", "missing", "'target'"]),
    ("ce-target-above-1", edit("target: [1.0]", "target: [1.5]").replace(
        "squared_error", "cross_entropy"),
     ["net.yaml:14:", "examples[0].target[0]", "between 0 and 1", "1.5"]),
    ("ce-target-negative", edit("target: [1.0]", "target: [-0.25]").replace(
        "squared_error", "categorical_cross_entropy"),
     ["net.yaml:14:", "examples[0].target[0]", "between 0 and 1", "-0.25"]),
    ("ce-needs-probability-output", edit("activation: sigmoid", "activation: relu").replace(
        "squared_error", "cross_entropy"),
     ["net.yaml:2:", "cost", "sigmoid", "softmax"]),
    ("unknown-layer-key", edit("activation: tanh", "activaton: tanh"),
     ["net.yaml:5:", "layers[0].activaton", "unknown key", "did you mean 'activation'?"]),
    ("unknown-top-key", edit("examples:", "exampels:"),
     ["net.yaml:12:", "exampels", "unknown key", "did you mean 'examples'?"]),
    ("unknown-example-key", edit("target: [1.0]", "targt: [1.0]"),
     ["net.yaml:14:", "examples[0].targt", "did you mean 'target'?"]),
    ("missing-input-size", BASE.replace("input_size: 2\n", ""),
     ["input_size", "missing"]),
    ("missing-weights", edit("    weights: [[1.0, 1.0, 1.0]]\n", ""),
     ["net.yaml:8:", "layers[1]", "missing 'weights'", "init"]),
    ("tab-indented", BASE.replace("    activation: tanh", "\tactivation: tanh"),
     ["net.yaml:5:", "invalid YAML", "tab"]),
    ("empty-file", "", ["net.yaml", "empty"]),
    ("only-comments", "# nothing here\n", ["net.yaml", "empty"]),
    ("top-level-list", "- input_size: 2\n- layers: []\n",
     ["net.yaml:1:", "expected a network (a mapping)", "list"]),
    ("top-level-scalar", "hello\n", ["net.yaml:1:", "expected a network (a mapping)"]),
    ("init-method", edit("examples:", "init: {method: glorot}\nexamples:"),
     ["net.yaml:12:", "init.method", "'glorot'", "xavier"]),
]


def analyze(path: Path | str) -> Result:
    return CliRunner().invoke(app, ["analyze", str(path)], env={"COLUMNS": "200"})


def assert_one_error(result: Result, needles: list[str]) -> None:
    assert result.exit_code == 2, result.stdout
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("backprop: error: ")
    assert result.stderr.count("\n") == 1, result.stderr  # one message, one line
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)


def test_the_base_file_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(BASE)
    net = load_network(path)
    assert net.sizes == [2, 3, 1]
    assert net.layers[0].weights.tolist() == [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]
    assert analyze(path).exit_code == 0


@pytest.mark.parametrize(("text", "needles"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(tmp_path: Path, text: str, needles: list[str]) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(text)
    assert_one_error(analyze(path), needles)


def test_missing_file(tmp_path: Path) -> None:
    assert_one_error(analyze(tmp_path / "nope.yaml"), ["nope.yaml", "no such file"])


def test_directory(tmp_path: Path) -> None:
    assert_one_error(analyze(tmp_path), [str(tmp_path), "directory"])


def test_binary_and_non_utf8_files(tmp_path: Path) -> None:
    binary = tmp_path / "net.yaml"
    binary.write_bytes(b"input_size: 1\x00\x01")
    assert_one_error(analyze(binary), ["net.yaml", "binary"])
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"name: caf\xe9\ninput_size: 1\n")
    assert_one_error(analyze(latin), ["latin.yaml:1:", "UTF-8"])


def test_the_message_names_the_file_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    (tmp_path / "nets").mkdir()
    (tmp_path / "nets" / "bad.yaml").write_text(edit("biases: [0.0]", "biases: [0.0, 1.0]"))
    monkeypatch.chdir(tmp_path)
    result = analyze("nets/bad.yaml")
    assert_one_error(result, ["nets/bad.yaml:11: layers[1].biases: expected 1 value (one per "
                              "neuron: layer 2 has 1 neuron), got 2"])


def test_shape_message_in_the_issues_words(tmp_path: Path) -> None:
    # `net.yaml:7: layers[1].weights: expected 3 rows (layer 2 has 3 neurons), got 2`
    text = edit("  - size: 1\n    activation: sigmoid\n    weights: [[1.0, 1.0, 1.0]]\n"
                "    biases: [0.0]",
                "  - size: 3\n    activation: sigmoid\n    weights: [[1.0, 1.0, 1.0],"
                " [1.0, 1.0, 1.0]]\n    biases: [0.0, 0.0, 0.0]")
    path = tmp_path / "net.yaml"
    path.write_text(text.replace("target: [1.0]", "target: [1.0, 0.0, 0.0]"))
    result = analyze(path)
    assert_one_error(result, [])
    assert result.stderr == (f"backprop: error: {path}:10: layers[1].weights: expected 3 rows "
                             "(layer 2 has 3 neurons), got 2\n")


@pytest.mark.parametrize(
    ("written", "value"),
    [("1e-05", 1e-05), ("1.0e5", 1.0e5), ("1E3", 1000.0), ("-2.5e-3", -0.0025), ("+3", 3.0),
     (".5", 0.5), ("7", 7.0), ("0.1", 0.1), ("-0", 0.0)],
)
def test_plain_numbers_load_as_floats(written: str, value: float) -> None:
    net = loads_network(edit("biases: [0.0]", f"biases: [{written}]"), "net.yaml")
    assert net.layers[1].biases.dtype == np.float64
    assert net.layers[1].biases[0] == value
    net = loads_network(edit("[0.3, 0.4]", f"[0.3, {written}]"), "net.yaml")
    assert net.layers[0].weights[1, 1] == value


@pytest.mark.parametrize("written", ['"0.5"', "'1e-05'", '"1"'])
def test_quoted_numbers_are_text(written: str) -> None:
    with pytest.raises(ConfigError) as info:
        loads_network(edit("input: [1.0, 2.0]", f"input: [1.0, {written}]"), "net.yaml")
    assert info.value.path == "examples[0].input[1]"
    assert info.value.line == 13
    assert "expected a number, got text" in str(info.value)


def test_defaults_sigmoid_and_squared_error() -> None:
    net = loads_network(BASE.replace("cost: squared_error\n", "").replace(
        "    activation: tanh\n", ""), "net.yaml")
    assert net.cost == "squared_error"
    assert [la.activation for la in net.layers] == ["sigmoid", "sigmoid"]


def test_init_fills_missing_parameters_reproducibly() -> None:
    text = """\
input_size: 4
init: {method: xavier, seed: 3}
layers:
  - size: 5
  - size: 2
    biases: [0.5, -0.5]
examples:
  - input: [1, 2, 3, 4]
    target: [0, 1]
"""
    a, b = loads_network(text), loads_network(text)
    assert a.sizes == [4, 5, 2]
    np.testing.assert_array_equal(a.layers[0].weights, b.layers[0].weights)
    limit = np.sqrt(6 / (4 + 5))
    assert np.all(np.abs(a.layers[0].weights) <= limit)
    assert np.ptp(a.layers[0].weights) > 0
    assert a.layers[1].biases.tolist() == [0.5, -0.5]
    other = loads_network(text.replace("seed: 3", "seed: 4"))
    assert not np.array_equal(a.layers[0].weights, other.layers[0].weights)


def test_plural() -> None:
    from backprop_cli.errors import plural

    assert [plural(n, "row") for n in (0, 1, 2)] == ["0 rows", "1 row", "2 rows"]
    assert plural(1, "class", "classes") == "1 class" and plural(3, "class", "classes") == (
        "3 classes")
