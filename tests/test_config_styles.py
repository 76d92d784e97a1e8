"""Network files in every common style (issue 16.2): the tool's own, yaml.safe_dump's block
sequences and wrapped flow lists, JSON on one line and indented. Their long number lists are
read by number_lists; the network, and the message of a bad file (file:line), must be what the
careful reading (YAML node by node) gives."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import networks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backprop_cli.errors import ConfigError
from backprop_cli.io import config
from backprop_cli.io.config import (
    _parse_yaml,
    dump_network,
    loads_network,
    network_from_document,
    parse_yaml,
)
from backprop_cli.io.number_lists import cut_number_lists
from backprop_cli.network import Layer, Network, OptimizerState, Preprocessing, TrainingInfo
from backprop_cli.scaffold import new_network

FILE = "n.yaml"
Writer = Callable[[Network, dict[str, Any]], str]
STYLES: dict[str, Writer] = {
    "own": lambda net, data: dump_network(net),
    "own-crlf": lambda net, data: dump_network(net).replace("\n", "\r\n"),
    "block": lambda net, data: yaml.safe_dump(data),
    "flow": lambda net, data: yaml.safe_dump(data, default_flow_style=None),
    "json": lambda net, data: json.dumps(data),
    "json-indent": lambda net, data: json.dumps(data, indent=2),
    "block-crlf": lambda net, data: yaml.safe_dump(data).replace("\n", "\r\n"),
    "json-indent-crlf": lambda net, data: json.dumps(data, indent=2).replace("\n", "\r\n"),
}


def careful(text: str) -> Network:
    return network_from_document(parse_yaml(text, FILE, careful=True))


def outcome(load: Callable[[str], Network], text: str) -> str:
    """The network as the tool writes it (every float exactly), or the one error message."""
    try:
        return dump_network(load(text))
    except ConfigError as exc:
        return f"error: {exc}"


def fast(text: str) -> Network:
    return loads_network(text, FILE)


def exact(data: Any) -> Any:
    """A document's data with every float as its bits (float.hex) and the float64 arrays of a
    fast reading as lists, to compare with the careful reading's."""
    if isinstance(data, dict):
        return {key: exact(value) for key, value in data.items()}
    if isinstance(data, list | np.ndarray):
        return [exact(value) for value in (data.tolist() if isinstance(data, np.ndarray)
                                           else data)]
    return data.hex() if isinstance(data, float) else data


def plain(net: Network) -> dict[str, Any]:
    """The network as the plain values another tool would dump."""
    data: dict[str, Any] = parse_yaml(dump_network(net), FILE, careful=True).data
    return data


def with_blocks(net: Network, scale: float) -> Network:
    """``net`` with its weights times ``scale`` (other float forms: 1e-07, 3e+21 …), a
    preprocessing block and a training block with momentum's arrays shaped like the layers."""
    layers = tuple(replace(layer, weights=layer.weights * scale) for layer in net.layers)
    n = net.input_size
    pre = Preprocessing(tuple(f"x{i}" for i in range(n)), tuple(f"y{i}" for i in range(
        layers[-1].size)), "standard", np.linspace(-1, 1, n) / 3, np.linspace(1, 2, n) / 7)
    state = OptimizerState("momentum", "float64", 3, 12, None, {
        "velocity": tuple((layer.weights / 9, layer.biases * 0.1) for layer in layers)})
    training = TrainingInfo(data="d.csv", rows=20, val_split=0.25,
                            options={"seed": 1, "shuffle": True}, status="completed",
                            train_cost=0.125, state=state)
    return replace(net, layers=layers, training=training, preprocessing=pre)


def longest_list(net: Network) -> int:
    return max(net.input_size, *(max(layer.weights.shape) for layer in net.layers))


@settings(max_examples=35, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(max_layers=3, max_size=12, max_examples=2),
       st.sampled_from([1.0, 1e-7, 3e21]), st.sampled_from(list(STYLES)))
def test_every_style_loads_to_the_careful_reading_s_network(
        net: Network, scale: float, style: str) -> None:
    net = with_blocks(net, scale)
    text = STYLES[style](net, plain(net))
    got = fast(text)
    assert dump_network(got) == dump_network(careful(text)) == dump_network(net)
    for mine, theirs in zip(got.layers, net.layers, strict=True):
        assert mine.weights.tobytes() == theirs.weights.tobytes()
        assert mine.biases.tobytes() == theirs.biases.tobytes()
    if longest_list(net) >= 9:  # long enough to be cut in every style: the fast reading ran
        assert parse_yaml(text, FILE).fast


def small_network() -> Network:
    """10-9-3: every weight row and the example's input are long enough to be cut."""
    net = new_network([10, 9, 3], activation="tanh", output_activation="softmax",
                      cost="categorical_cross_entropy", name="small")
    assert net.examples is not None
    weights = net.layers[0].weights.copy()
    weights[4, 6] = 123.456  # the sentinel the faults replace
    layers = (Layer("tanh", weights, net.layers[0].biases + 0.5), net.layers[1])
    inputs = np.linspace(0, 1, 10)[None, :]
    return replace(net, layers=layers).with_examples(replace(net.examples, inputs=inputs))


def drop_sentinel(text: str) -> str:
    """The sentinel's entry taken out of its row (flow, JSON or block)."""
    out = re.sub(r",[ \r\n]*123\.456|\r?\n[ ]*- 123\.456(?=\r?\n)", "", text, count=1)
    assert out != text
    return out


FAULTS: dict[str, Callable[[str], str]] = {
    "text": lambda t: t.replace("123.456", "heavy"),
    "quoted-number": lambda t: t.replace("123.456", '"0.5"'),
    "boolean": lambda t: t.replace("123.456", "true"),
    "null": lambda t: t.replace("123.456", "null"),
    "nan": lambda t: t.replace("123.456", ".nan"),
    "json-nan": lambda t: t.replace("123.456", "NaN"),
    "inf": lambda t: t.replace("123.456", "-.inf"),
    "overflow": lambda t: t.replace("123.456", "1e999"),
    "hexadecimal": lambda t: t.replace("123.456", "0x1F"),
    "short-row": drop_sentinel,
    "unknown-key": lambda t: t.replace("activation", "activaton", 1),
    "tab": lambda t: t.replace("123.456", "\t123.456"),
    "comment": lambda t: t.replace("123.456", "123.456 # x"),
    "whole-number": lambda t: t.replace("123.456", "7"),  # valid: 7.0
    "octal-looking": lambda t: t.replace("123.456", "017"),  # valid: 17.0
    "exponent": lambda t: t.replace("123.456", "1E+5"),  # valid: 100000.0
}
VALID = ("whole-number", "octal-looking", "exponent")
EITHER = ("tab", "comment")  # valid YAML in some styles


@pytest.fixture(scope="module")
def small() -> tuple[Network, dict[str, Any]]:
    net = small_network()
    return net, plain(net)


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("style", list(STYLES))
def test_a_bad_file_gets_the_careful_reading_s_message(
        small: tuple[Network, dict[str, Any]], style: str, fault: str) -> None:
    text = STYLES[style](*small)
    assert len(cut_number_lists(text)[1]) >= 4  # the fast reading has lists to read
    bad = FAULTS[fault](text)
    got = outcome(fast, bad)
    assert got == outcome(careful, bad)
    if fault in EITHER:
        return
    if fault in VALID:
        assert not got.startswith("error:"), got
        return
    assert got.startswith(f"error: {FILE}:"), got
    if "123.456" not in text or fault in ("short-row", "unknown-key", "tab"):
        return
    # a wrong value is reported on its own line, with its field path
    line = text[:text.index("123.456")].count("\n") + 1
    assert got.startswith(f"error: {FILE}:{line}: layers[0].weights[4][6]: "), got


def test_a_duplicate_key_and_a_second_document_get_the_careful_reading_s_message(
        small: tuple[Network, dict[str, Any]]) -> None:
    for style in ("own", "block", "json-indent"):
        text = STYLES[style](*small)
        for bad in (re.sub(r'(?m)^(\s*"?)cost("?:.*)$', r"\1cost\2\n\1cost\2", text, count=1),
                    text + "---\ninput_size: 1\n"):
            got = outcome(fast, bad)
            assert got == outcome(careful, bad) and got.startswith(f"error: {FILE}:"), got


ROW = ", ".join(f"{0.25 * k - 1}" for k in range(9))  # nine decimals, 46 characters
NET = """\
name: {name}
input_size: 9
layers:
- size: 1
  activation: sigmoid
  weights:
  - {row}
  biases: [0.5]
"""


@pytest.mark.parametrize(("name", "row", "is_fast"), [
    ("plain", f"[{ROW}]", True),
    ("wrapped", "[" + ROW.replace(", 0.0,", ",\n    0.0,") + "]", True),
    ("anchored", f"&w [{ROW}]", False),  # the node starts at the anchor: YAML reads it
    ("a list as text", f"'[{ROW}]'", False),
    ("in a block scalar", f"|\n    [{ROW}]", False),
    ("a list in the name too", f"[{ROW}]", False),  # one list not a list: YAML reads all
    ("plus and point forms", "[+1.5, -.5, 1., .25, 1e5, +1.5, -.5, 1., 1E-5]", True),
    ("a whole number", f"[{ROW}, 3]".replace("-1.0, ", ""), False),
    ("09 (text to YAML 1.1)", f"[{ROW}, 09]".replace("-1.0, ", ""), False),
    ("a missing comma", f"[{ROW.replace(', 0.5', ' 0.5')}]", False),
    ("a trailing comma", f"[{ROW},]", False),
])
def test_where_a_list_is_read_fast_the_document_is_the_careful_one(
        name: str, row: str, is_fast: bool) -> None:
    title = f"'[{ROW}]'" if name == "a list in the name too" else "x"
    text = NET.format(name=title, row=row)
    doc = parse_yaml(text, FILE)
    assert doc.fast == is_fast
    assert exact(doc.data) == exact(parse_yaml(text, FILE, careful=True).data)
    assert outcome(fast, text) == outcome(careful, text)


RUN = "\n".join(f"    - {0.25 * k - 1}" for k in range(9))


@pytest.mark.parametrize(("name", "tail", "is_fast"), [
    ("a run", "", True),
    ("a run, then a line that continues its last entry", "\n      3.5", False),
    ("a run, then a blank line and a continuation", "\n\n      3.5", False),
    ("a run, then a comment", "\n      # the end", True),
    ("a run, then one more entry", "\n    - [1.0]", True),
])
def test_a_run_of_block_entries_is_read_as_yaml_reads_it(
        name: str, tail: str, is_fast: bool) -> None:
    text = f"input_size: 9\nname: x\nlayers:\n- size: 1\n  weights:\n  -\n{RUN}{tail}\n" \
           "  biases: [0.5]\n"
    doc = parse_yaml(text, FILE)
    assert doc.fast == is_fast
    assert exact(doc.data) == exact(parse_yaml(text, FILE, careful=True).data)
    assert outcome(fast, text) == outcome(careful, text)


def test_the_numbers_of_a_list_read_fast_count_against_the_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # 1 + 101 (a) + 1 + 9 × 101 (b) = 1,012 values: over a limit of 1,000 at the ninth alias
    monkeypatch.setattr(config, "MAX_NODES", 1000)
    run = "\n".join(f"  - {k}.5" for k in range(100))
    text = f"a: &a\n{run}\nb: [{', '.join(['*a'] * 9)}]\n"
    with pytest.raises(ConfigError) as careful_error:
        parse_yaml(text, FILE, careful=True)
    assert "more than 1,000 values" in str(careful_error.value)
    cut, lists = cut_number_lists(text)
    assert len(lists) == 1
    with pytest.raises(ConfigError) as fast_error:
        _parse_yaml(cut, FILE, lists)
    assert str(fast_error.value) == str(careful_error.value)
    parse_yaml(text.replace("*a]", "[]]"), FILE)  # eight aliases: 911 values


EDITS = " \n\t-[],.:0123456789eE#|>\"'&*!{}"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(list(STYLES)), st.data())
def test_an_edited_file_gets_the_careful_reading_s_network_or_message(
        small: tuple[Network, dict[str, Any]], style: str, data: st.DataObject) -> None:
    text = STYLES[style](*small)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 2))
        text = text[:at] + data.draw(st.text(EDITS, max_size=2)) + text[at + cut:]
    assert outcome(fast, text) == outcome(careful, text)


def test_the_fast_reading_keeps_the_rows_as_arrays_and_other_lists_as_lists() -> None:
    """Weight rows, biases and examples are float64 arrays; a list elsewhere (here an alias of
    an example's input) is a list of floats, as the careful reading gives."""
    row = ", ".join(f"{0.125 * k - 0.5}" for k in range(9))
    run = "\n".join(f"  - {0.25 * k - 1}" for k in range(9))
    text = (f"input_size: 9\nname: x\nlayers:\n- size: 1\n  weights:\n  - [{row}]\n"
            f"  biases: [0.5]\nexamples:\n- input: &x\n{run}\n  target: [1.0]\n"
            "training: {data: d.csv, history: [{loss: *x}]}\n")
    doc = parse_yaml(text, FILE)
    assert doc.fast
    assert isinstance(doc.data["layers"][0]["weights"][0], np.ndarray)
    assert isinstance(doc.data["examples"][0]["input"], np.ndarray)
    assert type(doc.data["training"]["history"][0]["loss"]) is list
    assert exact(doc.data) == exact(parse_yaml(text, FILE, careful=True).data)
    assert outcome(fast, text) == outcome(careful, text)


@pytest.mark.parametrize("style", ["own", "json", "block", "flow"])
def test_lists_on_one_line_with_others_keep_their_place(style: str) -> None:
    """JSON on one line: each list's `[]` takes the place of its numbers (no padding), and the
    lists after it are found where YAML finds them."""
    net = new_network([40, 30, 20, 3], seed=4)
    text = STYLES[style](net, plain(net))
    cut, lists = cut_number_lists(text)
    assert len(lists) >= 50 and len(cut) < len(text) / 4
    doc = parse_yaml(text, FILE)
    assert doc.fast
    got = loads_network(text, FILE)
    for mine, theirs in zip(got.layers, net.layers, strict=True):
        assert mine.weights.tobytes() == theirs.weights.tobytes()


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [1e-05, -5e-07, 1e16, 1e-4, 9.999999999999999e-05, 5e-324, -0.0, 3e21]), min_size=1,
    max_size=30))
def test_a_row_is_written_as_format_float_writes_each_number(values: list[float]) -> None:
    row = np.array(values)
    assert config._flow(row) == "[" + ", ".join(map(config.format_float, values)) + "]"
    single = row[np.abs(row) < 1e38].astype(np.float32)
    assert config._flow(single) == "[" + ", ".join(
        map(config.format_float, single.tolist())) + "]"
