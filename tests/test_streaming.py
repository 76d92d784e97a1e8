"""The block writers of ndjson/csv against the row-by-row writers, the streamed JSON document
against json.dumps of the whole one, and the fast reading of long one-line number lists in
network files (issue 5)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from typing import Any
from unittest.mock import patch

import numpy as np
import pytest
from conftest import CONFIGS, networks
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_cli.errors import ConfigError
from backprop_cli.io.config import (
    _parse_yaml,
    dump_network,
    load_network,
    loads_network,
)
from backprop_cli.io.number_lists import cut_number_lists
from backprop_cli.network import Network, Param
from backprop_cli.present import Options
from backprop_cli.present.json import (
    _DocumentWriter,
    dumps,
    render_csv,
    render_json,
    render_ndjson,
    round_floats,
)
from backprop_cli.reports.analyze import AnalyzeReport, analyze, as_plain
from backprop_cli.reports.dataset import analyze_data
from backprop_cli.reports.rows import ROW_FIELDS


def ndjson_by_row(report: AnalyzeReport, precision: int | None) -> str:
    """The writer before the block writer: json.dumps of each row's dict."""
    return "".join(dumps(r.as_dict(), precision, indent=None) + "\n" for r in report.rows())


def csv_by_row(report: AnalyzeReport, precision: int | None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ROW_FIELDS)
    for r in report.rows():
        values = r.as_dict()
        if precision is not None:
            values = round_floats(values, precision)
        writer.writerow(["" if values[f] is None else values[f] for f in ROW_FIELDS])
    return out.getvalue()


def check_same(report: AnalyzeReport, precision: int | None = None) -> None:
    for render, by_row in ((render_ndjson, ndjson_by_row), (render_csv, csv_by_row)):
        out = io.StringIO()
        render(report, out, Options(precision=precision))
        assert out.getvalue() == by_row(report, precision)


def with_examples() -> list[Network]:
    nets = [load_network(p) for p in sorted(CONFIGS.glob("*.yaml"))]
    return [n for n in nets if n.examples is not None]


@pytest.mark.parametrize("precision", [None, 1, 3, 17])
@pytest.mark.parametrize("selection", [{}, {"top": 4}, {"layer": 1}, {"example": 0},
                                       {"layer": 2, "top": 1}])
def test_block_writers_write_the_same_bytes_as_row_by_row(
        selection: dict[str, Any], precision: int | None) -> None:
    nets = with_examples()
    assert {n.layers[-1].activation for n in nets} >= {"softmax", "sigmoid"}
    for net in nets:
        if selection.get("layer", 1) > net.depth:
            continue
        check_same(analyze(net, **selection), precision)


def test_block_writers_on_the_mean_over_data_rows_and_chosen_params() -> None:
    net = load_network(CONFIGS / "two-layer.yaml")
    assert net.examples is not None
    x, y = net.examples.inputs, net.examples.targets
    report = analyze_data(net, [(x, y), (x[::-1], y[::-1])], {"file": "f.csv"})
    check_same(report)
    check_same(report, precision=2)
    out = io.StringIO()
    render_csv(report, out, Options())
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {r["example"] for r in rows} == {"mean"}
    assert rows[0]["gradient"] == rows[0]["mean_gradient"]
    chosen = (Param(2, "b", 0, None), Param(1, "w", 1, 0), Param(1, "w", 0, 1))
    check_same(replace(analyze(net), chosen=chosen))


@settings(max_examples=30, deadline=None)
@given(networks())
def test_row_blocks_are_the_rows_in_order(net: Network) -> None:
    report = analyze(net)
    rows = list(report.rows())
    for size in (1, 3, 1 << 16):
        blocks = list(report.row_blocks(size))
        assert max(len(b) for b in blocks) <= size
        assert [r for b in blocks for r in b.rows()] == rows
    check_same(report)


def test_softmax_rows_have_no_da_dz_and_biases_no_k() -> None:
    net = load_network(CONFIGS / "softmax.yaml")
    out = io.StringIO()
    render_ndjson(analyze(net), out, Options())
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    last = [r for r in rows if r["layer"] == net.depth]
    assert last and all(r["da_dz"] is None for r in last)
    biases = [r for r in rows if r["kind"] == "b"]
    assert biases and all(r["k"] is None and r["dz_dw"] == 1.0 for r in biases)


@pytest.mark.parametrize("name", ["softmax.yaml", "chain.yaml", "mnist-784-16-16-10.yaml"])
def test_json_document_is_written_as_json_dumps_writes_it(name: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The streamed document is byte for byte json.dumps(to_dict(), indent=2), whatever the
    block size (a block ending inside a row, at a row's end, one float), with --precision,
    and with -0.0, 1e-05, 1e16 and 5e-324 in its arrays."""
    net = load_network(CONFIGS / name)
    layer = net.layers[0]
    weights = layer.weights.copy()
    weights.flat[:5] = [-0.0, 1e-05, 1e16, 5e-324, 0.5]
    net = replace(net, layers=(replace(layer, weights=weights), *net.layers[1:]))
    report = analyze(net, paths=name == "softmax.yaml", top=3 if name == "chain.yaml" else None)
    doc = report.to_dict()
    assert str(doc["network"]["layers"][0]["weights"][0][0]) == "-0.0"
    for block in (1 << 15, 1, 3, 7):
        monkeypatch.setattr("backprop_cli.present.json.BLOCK_FLOATS", block)
        for precision in (None, 3):
            out = io.StringIO()
            render_json(report, out, Options(precision=precision))
            assert out.getvalue() == dumps(doc, precision) + "\n"


@settings(max_examples=40, deadline=None)
@given(net=networks(max_size=6), block=st.sampled_from([1, 2, 5, 7, 1 << 15]),
       precision=st.sampled_from([None, 2, 17]), top=st.sampled_from([None, 3]),
       paths=st.booleans())
def test_json_document_of_generated_networks_is_json_dumps(
        net: Network, block: int, precision: int | None, top: int | None, paths: bool) -> None:
    """Byte for byte json.dumps(to_dict(), indent=2) on generated networks (their weights and
    inputs include 0.0, -0.0, whole numbers and other short decimals that floatrepr leaves to
    repr), with blocks that end inside a row, at a row's end, or hold every number."""
    report = analyze(net, top=top, paths=paths)
    expected = dumps(report.to_dict(), precision) + "\n"
    with patch("backprop_cli.present.json.BLOCK_FLOATS", block):
        out = io.StringIO()
        render_json(report, out, Options(precision=precision))
    assert out.getvalue() == expected


def test_json_document_writes_non_finite_numbers_as_null() -> None:
    values = np.array([[np.nan, 1.5], [np.inf, -np.inf]])

    def doc() -> dict[str, Any]:
        return {"a": values, "b": values[1], "c": [values[:, :0], np.float64(np.nan), 2.0],
                "d": iter([{"e": values[0]}]), "empty": {}, "none": iter([])}

    for precision in (None, 2):
        out = io.StringIO()
        _DocumentWriter(out, precision).value(doc(), 0)
        assert out.getvalue() == dumps(as_plain(doc()), precision)
    assert json.loads(out.getvalue())["a"] == [[None, 1.5], [None, None]]


def test_json_document_of_chosen_params_and_data_rows() -> None:
    net = load_network(CONFIGS / "xor.yaml")
    rows = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 0]], dtype=float)
    over = analyze_data(net, [(rows[:, :2], rows[:, 2:])], {"file": "xor.csv"}, top=2)
    chosen = replace(analyze(net), chosen=(Param(1, "w", 0, 1), Param(2, "b", 0, None)))
    for report in (over, chosen):
        out = io.StringIO()
        render_json(report, out, Options())
        assert out.getvalue() == dumps(report.to_dict()) + "\n"
    assert json.loads(out.getvalue())["params"][1]["kind"] == "b"


def test_long_number_lines_are_read_without_yaml_and_give_the_same_document() -> None:
    rng = np.random.default_rng(0)
    net = load_network(CONFIGS / "two-layer.yaml")
    weights = rng.standard_normal((net.layers[0].size, 60)) * np.array([1e-7, 1e6, 1.0])[:, None]
    weights[0, :3] = [1e-05, -0.0, 0.0]
    big = replace(net, input_size=60, examples=None,
                  layers=(replace(net.layers[0], weights=weights), *net.layers[1:]))
    text = dump_network(big)
    lines = text.splitlines()
    fast, flows = cut_number_lists(text)
    at = [i for i, line in enumerate(lines) if line.startswith("      - [")]
    assert sorted(flows) == [(i, 8) for i in at[:3]]
    assert flows[at[0], 8].values.tolist() == weights[0].tolist()
    assert fast.splitlines()[at[0]].rstrip() == "      - []"
    assert len(fast.splitlines()) == len(lines)
    slow = _parse_yaml(text, "n.yaml", {})[0]
    assert slow.data["layers"][0]["weights"] == weights.tolist()
    read = loads_network(text, "n.yaml")
    assert read.layers[0].weights.tolist() == weights.tolist()
    assert str(read.layers[0].weights[0, 1]) == "-0.0"
    # a long list that is text inside a block scalar is left to YAML
    body = [line for line in lines if not line.startswith("name:")]
    inside = "\n".join(["name: |", "  - [" + ", ".join(["1.5"] * 60) + "]", *body]) + "\n"
    assert cut_number_lists(inside)[1].keys() == {
        (1, 4), *((i + 2 - len(lines) + len(body), 8) for i in at[:3])}
    assert loads_network(inside, "n.yaml").name == "- [" + ", ".join(["1.5"] * 60) + "]\n"
    # errors keep their line: a list of the wrong length, read by the fast path
    short = lines.copy()
    short[at[0]] = short[at[0]].rsplit(",", 1)[0] + "]"
    with pytest.raises(ConfigError) as err:
        loads_network("\n".join(short) + "\n", "n.yaml")
    assert str(err.value) == (f"n.yaml:{at[0] + 1}: layers[0].weights[0]: expected 60 columns "
                              "(layer 0 has 60 neurons), got 59")
